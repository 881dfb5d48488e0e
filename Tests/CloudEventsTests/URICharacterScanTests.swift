import Testing

@testable import CloudEvents

/// The URI-reference rule's character scan (eight bytes at a time, then byte by byte at a
/// `%` or a byte that is not allowed) against the rule written out one byte at a time:
/// RFC 3986 unreserved, gen-delims and sub-delims, and `%` followed by two hex digits.
@Suite("URI character scan")
struct URICharacterScanTests {
    static let allowed = Set(
        Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=".utf8))

    /// The reference: no scheme here (relative references), so only the characters decide.
    static func referenceAccepts(_ bytes: [UInt8]) -> Bool {
        var index = 0
        while index < bytes.count {
            if allowed.contains(bytes[index]) {
                index += 1
            } else if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count,
                Hex.value(of: bytes[index + 1]) != nil, Hex.value(of: bytes[index + 2]) != nil
            {
                index += 3
            } else {
                return false
            }
        }
        return true
    }

    static func scanAccepts(_ bytes: [UInt8]) -> Bool {
        // A leading "/" keeps the text a relative reference: only characters are checked.
        (try? AttributeRules.checkURIReference("/" + String(decoding: bytes, as: UTF8.self))) != nil
    }

    /// Every byte value at every offset of texts long enough to span several words, so that
    /// each is seen in the eight-byte check at each lane and in the byte loop after it.
    @Test func everyByteAtEveryOffset() {
        let base = Array("sensors/buildings/north/floor-3/room-3.14?x=1".utf8)
        for offset in 0..<base.count {
            for byte in UInt8.min...UInt8.max {
                var bytes = base
                bytes[offset] = byte
                // Bytes from 0x80 on are not UTF-8 alone: compare what the String holds.
                let text = Array(String(decoding: bytes, as: UTF8.self).utf8)
                guard Self.scanAccepts(text) == Self.referenceAccepts(text) else {
                    Issue.record("byte \(byte) at \(offset)")
                    return
                }
            }
        }
    }

    /// Percent-escapes, well formed and not, at every offset.
    @Test(arguments: ["%41", "%4", "%", "%G1", "%1G", "%%41", "%41%42", "%zz"])
    func percentEscapesAtEveryOffset(escape: String) {
        let base = "abcdefghijklmnopqrstuvwxyz"
        for offset in 0...base.count {
            let index = base.index(base.startIndex, offsetBy: offset)
            let text = Array((base[..<index] + escape + base[index...]).utf8)
            #expect(Self.scanAccepts(text) == Self.referenceAccepts(text), "\(escape) at \(offset)")
        }
    }
}
