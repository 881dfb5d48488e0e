import CloudEvents

/// An ``EventBuffer`` in memory: the same sequence numbers, bound and room callback as
/// ``SQLiteEventBuffer``, with nothing on disk, so events held when the bridge stops or
/// crashes are lost. ``sync()`` does nothing.
///
/// An event counts against the bound for the bytes the durable buffer would store for it
/// (its key and its ``StoredMessageCodec`` encoding), so a route switched between the two
/// pauses its source at the same depth.
public final class MemoryEventBuffer: EventBuffer {
    private let state: Locked<State>

    /// An empty buffer holding at most `maximumBytes`.
    ///
    /// - Parameter maximumBytes: the bound, ``BufferConfiguration/maximumBytes``.
    public init(maximumBytes: Int) {
        state = Locked(State(accounting: BufferAccounting(maximumBytes: maximumBytes)))
    }

    /// Stores `event` and returns its sequence number, or `.full` without storing it.
    ///
    /// - Parameters:
    ///   - event: the event to store.
    ///   - ignoringBound: store it even when the buffer is full.
    /// - Throws: ``BufferError`` when the buffer is closed.
    public func append(_ event: NewBufferedEvent, ignoringBound: Bool) throws(BufferError) -> BufferAppendResult {
        let size = event.key.utf8.count + StoredMessageCodec.encodedSize(of: event.message)
        return try state.withLock { (state) throws(BufferError) -> BufferAppendResult in
            try state.checkOpen()
            guard state.accounting.admits(size: size, ignoringBound: ignoringBound) else { return .full }
            return .appended(state.append(event, size: size))
        }
    }

    /// Up to `limit` held events with a sequence number above `sequence`, in sequence order.
    ///
    /// - Parameters:
    ///   - sequence: the last sequence number already read (0 for the start).
    ///   - limit: the most events returned.
    /// - Throws: ``BufferError`` when the buffer is closed.
    public func pending(after sequence: Int64, limit: Int) throws(BufferError) -> [BufferedEvent] {
        try state.withLock { (state) throws(BufferError) -> [BufferedEvent] in
            try state.checkOpen()
            return state.pending(after: sequence, limit: limit)
        }
    }

    /// Forgets an event; an unknown sequence number is ignored (removed already).
    ///
    /// - Parameter sequence: the event's sequence number.
    /// - Throws: ``BufferError`` when the buffer is closed.
    public func remove(_ sequence: Int64) throws(BufferError) {
        let callback = try state.withLock { (state) throws(BufferError) -> (@Sendable () -> Void)? in
            try state.checkOpen()
            state.remove(sequence)
            return state.accounting.takeCallbackIfRoom()
        }
        callback?()
    }

    /// Records a failed attempt on a held event; an unknown sequence number is ignored.
    ///
    /// - Parameters:
    ///   - sequence: the event's sequence number.
    ///   - attempts: attempts made so far.
    ///   - lastStatus: the sink's answer, if it answered.
    ///   - lastError: the failure, for a person to read.
    /// - Throws: ``BufferError`` when the buffer is closed.
    public func recordAttempt(_ sequence: Int64, attempts: Int, lastStatus: Int?, lastError: String) throws(BufferError) {
        try state.withLock { (state) throws(BufferError) in
            try state.checkOpen()
            guard let index = state.index(of: sequence) else { return }
            state.slots[index]?.attempts = attempts
            state.slots[index]?.lastStatus = lastStatus
            state.slots[index]?.lastError = lastError
        }
    }

    /// Events held, bytes held, and the receipt time of the oldest.
    public var statistics: BufferStatistics { state.withLock { $0.accounting.statistics } }

    /// Calls `callback` once there is room (bytes down to three quarters of the bound), or
    /// at once if there is room now; a closed buffer never calls it.
    ///
    /// - Parameter callback: called on the thread that made room, outside the buffer's lock.
    public func whenRoom(_ callback: @escaping @Sendable () -> Void) {
        state.withLock { $0.accounting.wait(for: callback) }?()
    }

    /// Does nothing: there is no disk.
    ///
    /// - Throws: ``BufferError`` when the buffer is closed.
    public func sync() throws(BufferError) {
        try state.withLock { (state) throws(BufferError) in try state.checkOpen() }
    }

    /// Drops every held event; later calls fail.
    public func close() {
        state.withLock { state in
            _ = state.accounting.close()
            state.slots = []
        }
    }
}

extension MemoryEventBuffer {
    /// The events in sequence order, with a hole (`nil`) for each removed one: sequence
    /// numbers are consecutive, so `slots[i]` holds sequence `firstSlotSequence + i`, and
    /// finding an event takes a subtraction. Holes before `head` are dropped in batches.
    struct State {
        var accounting: BufferAccounting
        var slots: [BufferedEvent?] = []
        /// The first slot that may hold an event.
        var head = 0
        var firstSlotSequence: Int64 = 1
        var nextSequence: Int64 = 1

        func checkOpen() throws(BufferError) {
            if accounting.isClosed { throw BufferError("the in-memory buffer is closed") }
        }

        func index(of sequence: Int64) -> Int? {
            guard sequence >= firstSlotSequence, sequence < nextSequence else { return nil }
            let index = Int(sequence - firstSlotSequence)
            return index >= head ? index : nil
        }

        mutating func append(_ event: NewBufferedEvent, size: Int) -> Int64 {
            let sequence = nextSequence
            nextSequence += 1
            slots.append(
                BufferedEvent(
                    sequence: sequence, key: event.key, message: event.message, receivedAt: event.receivedAt,
                    deadLetterReason: event.deadLetterReason, size: size))
            accounting.didAppend(sequence: sequence, receivedAt: event.receivedAt, size: size)
            return sequence
        }

        func pending(after sequence: Int64, limit: Int) -> [BufferedEvent] {
            var events: [BufferedEvent] = []
            var index = head
            if sequence >= firstSlotSequence {
                // Clamped: a sequence far beyond the last one must not overflow `Int`.
                index = Swift.max(head, Int(Swift.min(sequence - firstSlotSequence + 1, Int64(slots.count))))
            }
            while index < slots.count, events.count < limit {
                if let event = slots[index] { events.append(event) }
                index += 1
            }
            return events
        }

        mutating func remove(_ sequence: Int64) {
            guard let index = index(of: sequence), let event = slots[index] else { return }
            slots[index] = nil
            let wasOldest = accounting.didRemove(sequence: sequence, size: event.size)
            while head < slots.count, slots[head] == nil { head += 1 }
            if head == slots.count {
                slots.removeAll(keepingCapacity: true)
                head = 0
                firstSlotSequence = nextSequence
            } else if head >= 1024, head >= slots.count / 2 {
                // Dropping the leading holes costs a move of what follows: done once at least
                // half the array is holes, it is amortised over the removes that made them.
                slots.removeFirst(head)
                firstSlotSequence += Int64(head)
                head = 0
            }
            if wasOldest, let next = slots[head] { accounting.oldest = (next.sequence, next.receivedAt) }
        }
    }
}
