/// What both buffers keep beside their events, under their lock: the running totals that
/// ``EventBuffer/statistics`` and the bound read on every append, the callback waiting for
/// room, and whether the buffer is closed. A value type, so the rules are one piece of code
/// whichever store holds the events.
struct BufferAccounting: Sendable {
    /// The bound, ``BufferConfiguration/maximumBytes``.
    let maximumBytes: Int
    /// Events held.
    private(set) var count: Int
    /// Bytes held.
    private(set) var bytes: Int
    /// The first held event in sequence order, whose receipt time is the oldest (receipt
    /// times follow sequence order unless the wall clock stepped back).
    var oldest: (sequence: Int64, receivedAt: Int64)?
    /// Whether anything was written since the last sync (the durable buffer's timer skips a
    /// sync with nothing to sync).
    var isDirty = false
    /// Set by `close()`: every later operation fails.
    private(set) var isClosed = false
    private var roomCallback: (@Sendable () -> Void)?

    /// The totals of a buffer that holds `count` events of `bytes` bytes.
    init(maximumBytes: Int, count: Int = 0, bytes: Int = 0, oldest: (sequence: Int64, receivedAt: Int64)? = nil) {
        self.maximumBytes = maximumBytes
        self.count = count
        self.bytes = bytes
        self.oldest = oldest
    }

    var statistics: BufferStatistics {
        BufferStatistics(count: count, bytes: bytes, oldestReceivedAt: oldest?.receivedAt)
    }

    /// Room again means down to three quarters of the bound, so that a paused source resumes
    /// for a stretch of events rather than one at a time.
    var hasRoom: Bool { bytes <= maximumBytes - maximumBytes / 4 }

    /// Whether an event of `size` bytes may be stored. An event bigger than the whole bound
    /// is stored when the buffer is empty: refused, it could never be taken, and its source
    /// would stay paused for ever.
    func admits(size: Int, ignoringBound: Bool) -> Bool {
        ignoringBound || count == 0 || size <= maximumBytes - bytes
    }

    /// Counts a stored event.
    mutating func didAppend(sequence: Int64, receivedAt: Int64, size: Int) {
        count += 1
        bytes += size
        isDirty = true
        if oldest == nil { oldest = (sequence, receivedAt) }
    }

    /// Counts a removed event.
    ///
    /// - Returns: whether it was the oldest, in which case the caller sets ``oldest`` to the
    ///   next held event.
    mutating func didRemove(sequence: Int64, size: Int) -> Bool {
        count -= 1
        bytes -= size
        isDirty = true
        guard count > 0 else {
            oldest = nil
            return false
        }
        return oldest?.sequence == sequence
    }

    /// Stores `callback` until there is room, or returns it to be called now (outside the
    /// lock) when there is room already. A closed buffer drops it: room will not come.
    mutating func wait(for callback: @escaping @Sendable () -> Void) -> (@Sendable () -> Void)? {
        guard !isClosed else { return nil }
        if hasRoom { return callback }
        roomCallback = callback
        return nil
    }

    /// The waiting callback, taken, when there is room now; to be called outside the lock.
    mutating func takeCallbackIfRoom() -> (@Sendable () -> Void)? {
        guard hasRoom, let callback = roomCallback else { return nil }
        roomCallback = nil
        return callback
    }

    /// Marks the buffer closed and drops a waiting callback (there will be no more room).
    ///
    /// - Returns: whether it was open.
    mutating func close() -> Bool {
        defer {
            isClosed = true
            roomCallback = nil
        }
        return !isClosed
    }
}
