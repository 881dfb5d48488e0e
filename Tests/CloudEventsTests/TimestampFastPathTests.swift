import Testing

@testable import CloudEvents

/// ``Timestamp/init(commonForm:)``, the fixed-position parser of the form encoders write,
/// against the general RFC 3339 parser: whenever the fast path returns a value it is the
/// general parser's value (written back the same way), and it returns none for text the
/// general parser refuses.
@Suite("Timestamp parsing fast path")
struct TimestampFastPathTests {
    static func general(_ text: [UInt8]) -> Timestamp? {
        text.withUnsafeBytes { bytes in try? Timestamp(parsingRFC3339: bytes, text: nil) }
    }

    static func fast(_ text: [UInt8]) -> Timestamp? {
        text.withUnsafeBytes { Timestamp(commonForm: $0) }
    }

    static func expectAgreement(_ text: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        guard let fast = fast(text) else { return true }  // the general parser decides
        let general = general(text)
        guard fast == general, fast.description == general?.description,
            fast.description == String(decoding: text, as: UTF8.self)
        else {
            Issue.record(
                "\(String(decoding: text, as: UTF8.self)): \(fast) vs \(String(describing: general))",
                sourceLocation: sourceLocation)
            return false
        }
        return true
    }

    static let samples = [
        "2026-11-22T10:15:30.123456789Z", "2026-11-22T10:15:30Z", "2026-11-22T10:15:30.1Z", "2026-11-22T10:15:30.12Z",
        "2026-11-22T10:15:30.000Z", "2026-11-22T10:15:30.120000000Z", "2016-12-31T23:59:60Z", "2024-02-29T00:00:00Z",
        "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z"
    ]

    @Test(arguments: samples)
    func theCommonFormTakesTheFastPath(text: String) throws {
        let fast = try #require(Self.fast(Array(text.utf8)))
        #expect(fast == Self.general(Array(text.utf8)))
        #expect(fast.description == text)
        #expect(try Timestamp(rfc3339: text) == fast)
    }

    @Test(arguments: [
        "2026-11-22t10:15:30Z", "2026-11-22T10:15:30z", "2026-11-22T10:15:30+00:00", "2026-11-22T10:15:30.1234567890Z",
        "2026-11-22T10:15:30.Z", "2023-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z",
        "2026-04-31T00:00:00Z", "2026-11-22T24:00:00Z", "2026-11-22T23:60:00Z", "2026-11-22T23:59:61Z",
        "2026-11-22 10:15:30Z", "2026-11-22T10:15:3Z", "2026-1-22T10:15:30Z"
    ])
    func otherTextIsLeftToTheGeneralParser(text: String) {
        #expect(Self.fast(Array(text.utf8)) == nil)
        // And the public parser still answers as the general one does.
        let general = Self.general(Array(text.utf8))
        #expect((try? Timestamp(rfc3339: text)) == general)
    }

    /// Every byte value at every position of the samples: the fast path agrees or declines.
    @Test func everyByteAtEveryPosition() {
        for sample in Self.samples {
            let original = Array(sample.utf8)
            for position in original.indices {
                for byte in UInt8.min...UInt8.max {
                    var text = original
                    text[position] = byte
                    guard Self.expectAgreement(text) else { return }
                }
            }
        }
    }

    /// Every day of a few years (leap and not), at a few times.
    @Test func everyDate() {
        for year in [1900, 2000, 2023, 2024] {
            for month in 1...12 {
                for day in 1...31 {
                    for time in ["00:00:00Z", "23:59:60.5Z"] {
                        let text = "\(year)-\(month < 10 ? "0" : "")\(month)-\(day < 10 ? "0" : "")\(day)T\(time)"
                        let bytes = Array(text.utf8)
                        #expect((Self.fast(bytes) != nil) == (Self.general(bytes) != nil), "\(text)")
                        guard Self.expectAgreement(bytes) else { return }
                    }
                }
            }
        }
    }
}
