import CloudEvents
import Testing

/// The word-at-a-time fast paths of ``PercentEncoding`` against byte-at-a-time reference
/// implementations of the spec's rules, at every byte value and at every position within
/// and across the 8-byte words the scans test at once.
@Suite("Header value percent-encoding fast paths")
struct PercentEncodingFastPathTests {
    /// The spec's encoder, one byte at a time: `%XX` for space, `"`, `%` and everything
    /// outside U+0021–U+007E.
    static func referenceEncode(_ value: String) -> String {
        var output = ""
        for byte in value.utf8 {
            if byte <= 0x20 || byte >= 0x7F || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "%") {
                output += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            } else {
                output.unicodeScalars.append(Unicode.Scalar(byte))
            }
        }
        return output
    }

    static func isPrintableASCII(_ value: String) -> Bool {
        value.utf8.allSatisfy { $0 >= 0x20 && $0 <= 0x7E }
    }

    /// Every scalar U+0000–U+00A0 (the boundaries of the allowed range and of the String
    /// type's control characters), a few beyond, placed at each offset of strings long
    /// enough to cross two word boundaries.
    static var probes: [String] {
        let scalars = (0x00...0xA0).map { Unicode.Scalar($0)! } + ["€", "😀", "\u{FFFD}"]
        var probes: [String] = []
        for scalar in scalars {
            for length in [1, 7, 8, 9, 17] {
                for position in Set([0, length / 2, length - 1]) {
                    var text = String(repeating: "a", count: length)
                    let index = text.index(text.startIndex, offsetBy: position)
                    text.replaceSubrange(index...index, with: String(scalar))
                    probes.append(text)
                }
            }
        }
        return probes
    }

    @Test func encodingMatchesTheReferenceForEveryProbe() {
        for probe in Self.probes {
            let (text, isPrintableASCII) = PercentEncoding.encodeHeaderValueReportingASCII(probe)
            #expect(text == Self.referenceEncode(probe), "\(probe.debugDescription)")
            #expect(PercentEncoding.encodeHeaderValue(probe) == text)
            #expect(isPrintableASCII == Self.isPrintableASCII(probe), "\(probe.debugDescription)")
        }
    }

    @Test func encodingReturnsAValueWithNothingToEncodeAsItIs() {
        let allowed = String(decoding: (0x21...0x7E).filter { $0 != 0x22 && $0 != 0x25 }, as: UTF8.self)
        #expect(PercentEncoding.encodeHeaderValueReportingASCII(allowed) == (allowed, true))
        #expect(PercentEncoding.encodeHeaderValueReportingASCII("") == ("", true))
        // The edges of the range: `!` and `~` stay; space and DEL do not.
        #expect(PercentEncoding.encodeHeaderValue("!~") == "!~")
        #expect(PercentEncoding.encodeHeaderValue(" \u{7F}") == "%20%7F")
    }

    @Test func decodingRoundTripsEveryProbe() throws {
        for probe in Self.probes {
            let encoded = Self.referenceEncode(probe)
            #expect(try PercentEncoding.decodeHeaderValue(encoded) == probe, "\(encoded)")
        }
    }

    /// A value that is not quoted and has no `%` comes back as it is (one decoding pass
    /// changes nothing), and is reported as printable ASCII exactly when it is; but an
    /// unencoded U+FFFD, the mark of bytes that were not UTF-8, is refused at its offset
    /// wherever it sits relative to the scan's words.
    @Test func unescapedValuesDecodeToThemselves() throws {
        for probe in Self.probes where !probe.hasPrefix("\"") && !probe.contains("%") {
            if let offset = probe.utf8.firstIndex(of: 0xEF).map({ probe.utf8.distance(from: probe.utf8.startIndex, to: $0) }) {
                #expect(throws: PercentEncoding.DecodingError.replacementCharacter(offset: offset), "\(probe.debugDescription)") {
                    try PercentEncoding.decodeHeaderValueReportingASCII(probe)
                }
                continue
            }
            let (text, isPrintableASCII) = try PercentEncoding.decodeHeaderValueReportingASCII(probe)
            #expect(text == probe, "\(probe.debugDescription)")
            #expect(isPrintableASCII == Self.isPrintableASCII(probe), "\(probe.debugDescription)")
        }
    }

    /// Escaped or quoted values go through the strict decoder and are never reported as
    /// printable ASCII, even when they decode to it (the caller then checks characters).
    @Test(arguments: ["a%20b", "%41", "\"quoted\"", "abcdefgh%41", "abcdefghijklmno%25"])
    func escapedValuesAreNotReportedAsCheckedASCII(value: String) throws {
        let (text, isPrintableASCII) = try PercentEncoding.decodeHeaderValueReportingASCII(value)
        #expect(text == (try PercentEncoding.decodeHeaderValue(value)))
        #expect(!isPrintableASCII)
    }

    /// Broken escapes are found wherever they sit relative to the scan's words.
    @Test func malformedEscapesAreRejectedAtEveryPosition() {
        for length in [0, 1, 7, 8, 9, 16] {
            let prefix = String(repeating: "a", count: length)
            for bad in ["%", "%4", "%G1", "%C0%A0", "%ED%A0%80", "%E2%82"] {
                #expect(throws: PercentEncoding.DecodingError.self) {
                    try PercentEncoding.decodeHeaderValue(prefix + bad)
                }
            }
        }
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        String(repeating: "0", count: max(0, length - count)) + self
    }
}
