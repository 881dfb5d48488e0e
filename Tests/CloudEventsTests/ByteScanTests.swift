import Testing

@testable import CloudEvents

/// The word-at-a-time scans against the byte they look for, tested one byte at a time:
/// every byte value at every position of short inputs, from several start offsets, so
/// that each is seen in every lane of a whole word, in the overlapping last word and in
/// the byte loop. Two special bytes are also placed together, for the lowest-mark rule
/// (a false mark only ever sits above a true one).
@Suite("Word-at-a-time byte scans")
struct ByteScanTests {
    typealias Scan = @Sendable (UnsafeRawBufferPointer, Int, Int) -> Int

    static let scans: [(name: String, scan: Scan, isSpecial: @Sendable (UInt8) -> Bool)] = [
        ("firstNonPrintableASCII", ByteScan.firstNonPrintableASCII, { $0 < 0x20 || $0 >= 0x7F }),
        (
            "firstHeaderEncodingSpecial", ByteScan.firstHeaderEncodingSpecial,
            { $0 <= 0x20 || $0 >= 0x7F || $0 == 0x22 || $0 == 0x25 }
        ),
        ("firstPercentOrNonPrintableASCII", ByteScan.firstPercentOrNonPrintableASCII, { $0 < 0x20 || $0 >= 0x7F || $0 == 0x25 }),
        ("firstJSONStringSpecial", ByteScan.firstJSONStringSpecial, { $0 < 0x20 || $0 >= 0x7F || $0 == 0x22 || $0 == 0x5C }),
        ("firstJSONEscape", ByteScan.firstJSONEscape, { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C })
    ]

    static func reference(_ bytes: [UInt8], from start: Int, _ isSpecial: (UInt8) -> Bool) -> Int {
        bytes[start...].firstIndex(where: isSpecial) ?? bytes.count
    }

    @Test(arguments: 0..<scans.count)
    func everyByteAtEveryPosition(scanIndex: Int) {
        let (name, scan, isSpecial) = Self.scans[scanIndex]
        for length in 0...20 {
            for start in [0, 1, 3, 8] where start <= length {
                for position in 0..<max(length, 1) where position < length {
                    for byte in UInt8.min...UInt8.max {
                        var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                        bytes[position] = byte
                        let found = bytes.withUnsafeBytes { scan($0, start, length) }
                        guard found == Self.reference(bytes, from: start, isSpecial) else {
                            Issue.record("\(name): byte \(byte) at \(position) of \(length) from \(start): \(found)")
                            return
                        }
                        // A second special byte (0x00 and 0xFF are special to every scan)
                        // right after: the first must still be the one found.
                        if position + 1 < length {
                            for second: UInt8 in [0x00, 0xFF] {
                                bytes[position + 1] = second
                                let found = bytes.withUnsafeBytes { scan($0, start, length) }
                                guard found == Self.reference(bytes, from: start, isSpecial) else {
                                    Issue.record("\(name): \(byte), \(second) at \(position) of \(length): \(found)")
                                    return
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The eight-byte URI check is the one-byte check of each of the eight.
    @Test func uriCharactersEightAtATime() {
        for position in 0..<8 {
            for byte in UInt8.min...UInt8.max {
                var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 10)
                bytes[1 + position] = byte
                let all = bytes.withUnsafeBytes { ByteScan.areURICharacters($0, eightAt: 1) }
                #expect(all == ByteScan.isURICharacter(byte), "byte \(byte) at \(position)")
            }
        }
    }
}
