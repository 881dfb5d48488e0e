import NIOCore

extension ByteBuffer {
    /// Appends `value` in decimal ASCII without building a `String` (the hot path of every
    /// `PUB`).
    mutating func writeNATSDecimal(_ value: Int) {
        writeNATSDecimal(UInt64(clamping: value))
    }

    /// Appends `value` in decimal ASCII.
    mutating func writeNATSDecimal(_ value: UInt64) {
        let count = natsDecimalDigitCount(value)
        writeWithUnsafeMutableBytes(minimumWritableBytes: count) { pointer in
            var remaining = value
            var index = count
            while index > 0 {
                index -= 1
                pointer[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remaining % 10)
                remaining /= 10
            }
            return count
        }
    }
}

/// The number of decimal digits of `value` (1 for 0).
func natsDecimalDigitCount(_ value: UInt64) -> Int {
    var count = 1
    var remaining = value
    while remaining >= 10 {
        remaining /= 10
        count += 1
    }
    return count
}

/// The number of decimal digits of a non-negative `value` (negatives count as 0).
func natsDecimalDigitCount(_ value: Int) -> Int {
    natsDecimalDigitCount(UInt64(clamping: value))
}
