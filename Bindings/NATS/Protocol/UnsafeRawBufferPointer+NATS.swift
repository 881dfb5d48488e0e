#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension UnsafeRawBufferPointer {
    /// The index of the first `byte` in `range` (`memchr`, vectorised), or `nil`.
    func natsIndex(of byte: UInt8, in range: Range<Int>) -> Int? {
        guard let base = baseAddress, !range.isEmpty, range.lowerBound >= 0, range.upperBound <= count else {
            return nil
        }
        guard let found = memchr(base + range.lowerBound, Int32(byte), range.count) else { return nil }
        return base.distance(to: UnsafeRawPointer(found))
    }

    /// The bytes in `range` as a `String`: ASCII (the usual header name or subject) decoded
    /// directly, anything else validated as UTF-8; `nil` when it is not UTF-8.
    func natsValidatedString(_ range: Range<Int>) -> String? {
        let bytes = UnsafeRawBufferPointer(rebasing: self[range])
        if !bytes.contains(where: { $0 >= 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
        // Rare: the generic validating initialiser is slow, so it stays off the ASCII path.
        let decoded = String(decoding: bytes, as: UTF8.self)
        // Decoding repairs invalid sequences with U+FFFD, which changes the bytes.
        return decoded.utf8.elementsEqual(bytes) ? decoded : nil
    }
}
