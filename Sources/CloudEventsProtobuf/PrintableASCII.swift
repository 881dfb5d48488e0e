/// The check the decoder makes on every string it reads: printable ASCII (0x20-0x7E) is
/// valid UTF-8 and cannot break the CloudEvents String type's character rules, so a string
/// that passes needs no other check.
enum PrintableASCII {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// Whether every byte of `bytes` is in 0x20-0x7E: eight bytes at a time (the last,
    /// partial word as an overlapping load), so a typical attribute takes a few steps.
    @inline(__always)
    static func contains(only bytes: UnsafeRawBufferPointer) -> Bool {
        let count = bytes.count
        guard count >= 8, let base = bytes.baseAddress else {
            for byte in bytes where byte &- 0x20 > 0x5E { return false }
            return true
        }
        var marks: UInt64 = 0
        var offset = 0
        while offset + 8 < count {
            marks |= nonPrintableMarks(base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            offset += 8
        }
        marks |= nonPrintableMarks(base.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self))
        return marks == 0
    }

    /// Nonzero when a byte of `word` is below 0x20 or above 0x7E. A byte below 0x20 borrows
    /// in `word - 0x20…20` and leaves its high bit set where the byte's was clear; a byte
    /// of 0x7F or above has its high bit set in `word` or in `word + 0x01…01`. (Borrows
    /// and carries only spread from a byte that is itself marked, so "none" is exact.)
    @inline(__always)
    private static func nonPrintableMarks(_ word: UInt64) -> UInt64 {
        let below20 = (word &- ones &* 0x20) & ~word
        let above7E = word | (word &+ ones)
        return (below20 | above7E) & highBits
    }
}
