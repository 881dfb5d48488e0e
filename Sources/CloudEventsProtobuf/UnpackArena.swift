internal import CCloudEventsProtobuf

/// The memory protobuf-c unpacks into: a ``BumpAllocator`` behind a `ProtobufCAllocator`.
///
/// Why not the default allocator and `__free_unpacked`:
/// - One region instead of a `malloc` per string and struct: a typical event fits the
///   stack block, and everything is released in one place when the scope ends, on every
///   path, errors included. protobuf-c's `free` calls (on a failed unpack it frees the
///   partial message itself) are no-ops.
/// - String lengths. protobuf-c hands out a proto3 `string` as a NUL-terminated `char *`
///   and forgets its length, so a string with an embedded U+0000 would silently lose its
///   tail. It allocates exactly `length + 1` bytes for each string it unpacks (protobuf-c
///   1.x `parse_required_member`), and this arena records every allocation's size in a
///   header, so ``byteCount(ofString:)`` recovers the exact length.
struct UnpackArena {
    /// Each allocation is preceded by its requested size.
    fileprivate static let headerSize = 8

    private let allocator: UnsafeMutablePointer<BumpAllocator>

    /// Runs `body` with an allocator for protobuf-c's `__unpack` functions and the arena
    /// behind it; everything unpacked with it is released when `body` returns or throws.
    static func withUnpackArena<R, E: Error>(
        _ body: (UnsafeMutablePointer<ProtobufCAllocator>, UnpackArena) throws(E) -> R
    ) throws(E) -> R {
        try BumpAllocator.withBumpAllocator { allocator throws(E) in
            try withUnsafeMutablePointer(to: &allocator) { allocatorPointer throws(E) in
                var cAllocator = ProtobufCAllocator(
                    alloc: unpackArenaAllocate, free: unpackArenaFree, allocator_data: UnsafeMutableRawPointer(allocatorPointer))
                return try withUnsafeMutablePointer(to: &cAllocator) { cAllocatorPointer throws(E) in
                    try body(cAllocatorPointer, UnpackArena(allocator: allocatorPointer))
                }
            }
        }
    }

    /// The length in bytes of a string protobuf-c unpacked into this arena (embedded
    /// U+0000 included); for any other pointer (protobuf-c's static empty string, the
    /// default of unset string fields), the C string length.
    func byteCount(ofString string: UnsafePointer<CChar>) -> Int {
        if allocator.pointee.contains(string) {
            let size = UnsafeRawPointer(string).load(fromByteOffset: -Self.headerSize, as: Int.self)
            if size > 0 && string[size - 1] == 0 { return size - 1 }
        }
        var count = 0
        while string[count] != 0 { count += 1 }
        return count
    }
}

/// `ProtobufCAllocator.alloc` over the ``BumpAllocator`` of an ``UnpackArena``
/// (`allocatorData`): `size` bytes aligned to 8 (enough for every protobuf-c struct), after
/// a header that records `size`.
private func unpackArenaAllocate(_ allocatorData: UnsafeMutableRawPointer?, _ size: Int) -> UnsafeMutableRawPointer? {
    guard let allocator = allocatorData?.assumingMemoryBound(to: BumpAllocator.self), size >= 0, size <= Int.max / 8 else {
        return nil
    }
    let header = allocator.pointee.allocate(byteCount: UnpackArena.headerSize + size, alignment: 8)
    header.storeBytes(of: size, as: Int.self)
    return header + UnpackArena.headerSize
}

/// `ProtobufCAllocator.free`: nothing to do, the arena releases everything at once.
private func unpackArenaFree(_ allocatorData: UnsafeMutableRawPointer?, _ pointer: UnsafeMutableRawPointer?) {}
