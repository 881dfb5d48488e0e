/// A bump allocator: a first block on the stack (see ``withBumpAllocator(_:)``), then heap
/// blocks chained as needed, all released together when the scope ends. Nothing is freed
/// one by one.
///
/// The encoder builds the protobuf-c structs it packs in one (``ProtobufEncoder``); the
/// decoder lets protobuf-c unpack into one (``UnpackArena``). Either way an event costs no
/// `malloc` unless it is large, and no path can leak.
struct BumpAllocator {
    /// The size of the stack block: enough for a typical event with a few extensions.
    static var firstBlockSize: Int { MemoryLayout<FirstBlock>.size }
    /// Each heap block starts with the previous heap block's address and its own capacity.
    private static let blockHeaderSize = 16

    private let firstBlock: UnsafeMutableRawPointer
    private let firstBlockCapacity: Int
    private var block: UnsafeMutableRawPointer
    private var blockCapacity: Int
    private var used = 0
    /// The newest heap block; each links to the one before.
    private var heapBlocks: UnsafeMutableRawPointer?

    private init(_ buffer: UnsafeMutableRawBufferPointer) {
        firstBlock = buffer.baseAddress!
        firstBlockCapacity = buffer.count
        block = firstBlock
        blockCapacity = buffer.count
    }

    /// Runs `body` with an allocator whose first block is on the stack; every heap block it
    /// adds is released when `body` returns or throws.
    ///
    /// The block is a local fixed-size array rather than `withUnsafeTemporaryAllocation`,
    /// which on Linux uses the heap for anything over 1 KiB (it cannot tell how much stack
    /// is left), a `malloc` and `free` per call.
    static func withBumpAllocator<R, E: Error>(_ body: (inout BumpAllocator) throws(E) -> R) throws(E) -> R {
        var firstBlock = FirstBlock(repeating: .zero)
        return try withUnsafeMutableBytes(of: &firstBlock) { buffer throws(E) in
            var allocator = BumpAllocator(buffer)
            defer { allocator.releaseHeapBlocks() }
            return try body(&allocator)
        }
    }

    /// The stack block: 2 KiB, 16-byte aligned.
    private typealias FirstBlock = InlineArray<128, SIMD2<UInt64>>

    /// `byteCount` uninitialised bytes aligned to `alignment` (a power of two, at most 16).
    @inline(__always)
    mutating func allocate(byteCount: Int, alignment: Int) -> UnsafeMutableRawPointer {
        let start = (used + alignment - 1) & ~(alignment - 1)
        if byteCount <= blockCapacity - start {
            used = start + byteCount
            return block + start
        }
        return allocateInNewBlock(byteCount: byteCount, alignment: alignment)
    }

    @inline(never)
    private mutating func allocateInNewBlock(byteCount: Int, alignment: Int) -> UnsafeMutableRawPointer {
        precondition(byteCount >= 0 && byteCount <= Int.max / 4, "BumpAllocator: invalid size \(byteCount)")
        let capacity = max(Self.blockHeaderSize + byteCount + alignment, 2 * blockCapacity, 4096)
        let newBlock = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        newBlock.storeBytes(of: heapBlocks, as: UnsafeMutableRawPointer?.self)
        newBlock.storeBytes(of: capacity, toByteOffset: 8, as: Int.self)
        heapBlocks = newBlock
        block = newBlock
        blockCapacity = capacity
        let start = (Self.blockHeaderSize + alignment - 1) & ~(alignment - 1)
        used = start + byteCount
        return block + start
    }

    /// Whether `pointer` lies in memory this allocator handed out.
    func contains(_ pointer: UnsafeRawPointer) -> Bool {
        if pointer >= firstBlock && pointer < firstBlock + firstBlockCapacity { return true }
        var next = heapBlocks
        while let heapBlock = next {
            let capacity = heapBlock.load(fromByteOffset: 8, as: Int.self)
            if pointer >= heapBlock + Self.blockHeaderSize && pointer < heapBlock + capacity { return true }
            next = heapBlock.load(as: UnsafeMutableRawPointer?.self)
        }
        return false
    }

    private mutating func releaseHeapBlocks() {
        while let heapBlock = heapBlocks {
            heapBlocks = heapBlock.load(as: UnsafeMutableRawPointer?.self)
            heapBlock.deallocate()
        }
    }
}
