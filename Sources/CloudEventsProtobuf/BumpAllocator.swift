/// A bump allocator: two blocks on the stack (see ``withBumpAllocator(_:)``), then heap
/// blocks chained as needed, all released together when the scope ends. Nothing is freed
/// one by one.
///
/// The encoder builds the protobuf-c structs it packs in one (``ProtobufEncoder``); the
/// decoder lets protobuf-c unpack into one (``UnpackArena``). Either way an event costs no
/// `malloc` unless it is large, and no path can leak.
struct BumpAllocator {
    /// The size of each of the two stack blocks: together enough for a typical event with
    /// a few extensions.
    static let stackBlockSize = 1024
    /// Each heap block starts with the previous heap block's address and its own capacity.
    private static let blockHeaderSize = 16

    private let firstBlock: UnsafeMutableRawPointer
    /// The second stack block, until it is in use.
    private var secondBlock: UnsafeMutableRawPointer?
    private let secondBlockStart: UnsafeMutableRawPointer
    private var block: UnsafeMutableRawPointer
    private var blockCapacity: Int
    private var used = 0
    /// The newest heap block; each links to the one before.
    private var heapBlocks: UnsafeMutableRawPointer?

    private init(_ first: UnsafeMutableRawBufferPointer, _ second: UnsafeMutableRawBufferPointer) {
        firstBlock = first.baseAddress!
        secondBlock = second.baseAddress!
        secondBlockStart = second.baseAddress!
        block = firstBlock
        blockCapacity = Self.stackBlockSize
    }

    /// Runs `body` with an allocator whose first two blocks are on the stack; every heap
    /// block it adds is released when `body` returns or throws.
    ///
    /// Two blocks of 1 KiB from `withUnsafeTemporaryAllocation`, which on Linux puts up to
    /// 1 KiB on the stack and anything larger on the heap (it cannot tell how much stack is
    /// left): uninitialised stack memory, where one fixed-size local array would have to
    /// be zeroed on every call.
    static func withBumpAllocator<R, E: Error>(_ body: (inout BumpAllocator) throws(E) -> R) throws(E) -> R {
        // The byte counts are literals (`stackBlockSize`) so that the stack allocations have a constant size.
        try withUnsafeTemporaryAllocation(byteCount: 1024, alignment: 16) { first throws(E) in
            try withUnsafeTemporaryAllocation(byteCount: 1024, alignment: 16) { second throws(E) in
                var allocator = BumpAllocator(first, second)
                defer { allocator.releaseHeapBlocks() }
                return try body(&allocator)
            }
        }
    }

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
        if let second = secondBlock, byteCount <= Self.stackBlockSize {
            secondBlock = nil
            block = second
            blockCapacity = Self.stackBlockSize
            used = byteCount
            return second
        }
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
        if pointer >= firstBlock && pointer < firstBlock + Self.stackBlockSize { return true }
        if secondBlock == nil && pointer >= secondBlockStart && pointer < secondBlockStart + Self.stackBlockSize { return true }
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
