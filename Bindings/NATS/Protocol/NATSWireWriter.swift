import NIOCore

/// Writes protocol bytes straight into a buffer's reserved memory: the caller counts the
/// bytes first, reserves them once, and every piece is a `memcpy` or a digit store. One
/// `ByteBuffer` call per command instead of one per piece keeps publishing cheap.
struct NATSWireWriter: ~Copyable {
    private let base: UnsafeMutableRawBufferPointer
    private(set) var offset = 0

    /// Appends exactly `count` bytes that `body` writes (it must write exactly `count`).
    static func append(to buffer: inout ByteBuffer, count: Int, _ body: (inout NATSWireWriter) -> Void) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { pointer in
            var writer = NATSWireWriter(base: pointer)
            body(&writer)
            assert(writer.offset == count, "counted \(count) bytes, wrote \(writer.offset)")
            return writer.offset
        }
    }

    private init(base: UnsafeMutableRawBufferPointer) {
        self.base = base
    }

    mutating func write(_ byte: UInt8) {
        base[offset] = byte
        offset += 1
    }

    mutating func write(_ string: StaticString) {
        write(UnsafeRawBufferPointer(start: string.utf8Start, count: string.utf8CodeUnitCount))
    }

    mutating func write(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, let destination = base.baseAddress, !bytes.isEmpty else { return }
        (destination + offset).copyMemory(from: source, byteCount: bytes.count)
        offset += bytes.count
    }

    mutating func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { write($0) }
    }

    mutating func write(_ string: String) {
        // Native strings are contiguous UTF-8 (no copy); others are written code unit by code unit.
        let written: Void? = string.utf8.withContiguousStorageIfAvailable { write(UnsafeRawBufferPointer($0)) }
        if written == nil {
            for byte in string.utf8 { write(byte) }
        }
    }

    mutating func writeDecimal(_ value: Int) {
        writeDecimal(UInt64(clamping: value))
    }

    mutating func writeDecimal(_ value: UInt64) {
        let count = natsDecimalDigitCount(value)
        var remaining = value
        var index = offset + count
        while index > offset {
            index -= 1
            base[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remaining % 10)
            remaining /= 10
        }
        offset += count
    }
}
