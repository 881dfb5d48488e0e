/// Writes bytes through a raw pointer into space reserved beforehand: the JSON encoder
/// computes an upper bound of its output, reserves it once, then writes with no per-byte
/// capacity or uniqueness checks (which dominated `Array.append` in profiles).
struct UnsafeByteWriter {
    private(set) var pointer: UnsafeMutablePointer<UInt8>

    init(_ pointer: UnsafeMutablePointer<UInt8>) {
        self.pointer = pointer
    }

    @inline(__always)
    mutating func write(_ byte: UInt8) {
        pointer.initialize(to: byte)
        pointer += 1
    }

    @inline(__always)
    mutating func write(_ literal: StaticString) {
        pointer.update(from: literal.utf8Start, count: literal.utf8CodeUnitCount)
        pointer += literal.utf8CodeUnitCount
    }

    @inline(__always)
    mutating func write(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let base = bytes.baseAddress else { return }
        pointer.update(from: base, count: bytes.count)
        pointer += bytes.count
    }

    /// Two decimal digits of `value` (0...99).
    @inline(__always)
    mutating func writeTwoDigits(_ value: Int) {
        write(UInt8(truncatingIfNeeded: 0x30 + value / 10))
        write(UInt8(truncatingIfNeeded: 0x30 + value % 10))
    }

    /// The decimal digits of `value` (at most 11 bytes).
    mutating func writeInteger(_ value: Int32) {
        if value < 0 { write(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var divisor: UInt32 = 1
        while magnitude / divisor >= 10 { divisor &*= 10 }
        repeat {
            write(UInt8(truncatingIfNeeded: 0x30 &+ magnitude / divisor))
            magnitude %= divisor
            divisor /= 10
        } while divisor > 0
    }

    /// Runs `body` with a writer over `maximumCount` bytes appended to `array`, then trims
    /// the array to what was written. `body` must not write more than `maximumCount`.
    ///
    /// Inlined, so that `body` is too: a closure passed to a call copies what it captures
    /// into its context, and the encoders' closures capture the whole event (callgrind:
    /// ~500 instructions an encode for the copy and its release).
    @inline(__always)
    static func append(
        to array: inout [UInt8], maximumCount: Int, _ body: (inout UnsafeByteWriter) -> Void
    ) {
        if array.isEmpty {
            // A new array: write into uninitialised capacity, no zero-filling or trimming.
            array = [UInt8](unsafeUninitializedCapacity: maximumCount) { buffer, count in
                var writer = UnsafeByteWriter(buffer.baseAddress!)
                body(&writer)
                count = writer.pointer - buffer.baseAddress!
                precondition(count <= maximumCount, "encoder wrote past its reserved size")
            }
            return
        }
        let start = array.count
        array.append(contentsOf: repeatElement(0, count: maximumCount))
        let written = array.withUnsafeMutableBufferPointer { buffer -> Int in
            let base = buffer.baseAddress! + start
            var writer = UnsafeByteWriter(base)
            body(&writer)
            precondition(writer.pointer - base <= maximumCount, "encoder wrote past its reserved size")
            return writer.pointer - base
        }
        array.removeLast(maximumCount - written)
    }
}
