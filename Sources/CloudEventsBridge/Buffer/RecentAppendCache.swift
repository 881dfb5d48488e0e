/// The durable buffer's latest appends, kept in memory so that the dispatcher's next
/// ``SQLiteEventBuffer/pending(after:limit:)`` reads them from here instead of reading back
/// and decoding the rows just written.
///
/// The cache holds every held event with a sequence number above ``floor``, in sequence
/// order (its one invariant): a read after `floor` or later is answered here; an older one
/// (after a restart, or after the cache dropped events to stay within its bounds) goes to the
/// table. Events at or below a read's starting point are dropped: the reader has them.
struct RecentAppendCache: Sendable {
    /// Events above this sequence number are all here (those held).
    private(set) var floor: Int64
    private var events: [BufferedEvent] = []
    private var removed: [Bool] = []
    private var head = 0
    private var bytes = 0
    private let maximumCount: Int
    private let maximumBytes: Int

    /// An empty cache: everything up to `floor` is read from the table.
    init(floor: Int64, maximumCount: Int, maximumBytes: Int) {
        self.floor = floor
        self.maximumCount = maximumCount
        self.maximumBytes = maximumBytes
    }

    /// Adds an event with a sequence number above every other; drops the oldest ones (raising
    /// ``floor``) beyond the bounds.
    mutating func append(_ event: BufferedEvent) {
        events.append(event)
        removed.append(false)
        bytes += event.size
        while head < events.count, events.count - head > maximumCount || bytes > maximumBytes {
            dropFirst()
        }
        compact()
    }

    /// Up to `limit` held events above `sequence`, or `nil` when some may be missing here
    /// (`sequence` is below ``floor``).
    mutating func events(after sequence: Int64, limit: Int) -> [BufferedEvent]? {
        guard sequence >= floor else { return nil }
        while head < events.count, events[head].sequence <= sequence { dropFirst() }
        floor = sequence
        compact()
        var result: [BufferedEvent] = []
        var position = head
        while position < events.count, result.count < limit {
            if !removed[position] { result.append(events[position]) }
            position += 1
        }
        return result
    }

    /// Forgets a removed event, so that no read returns it again.
    mutating func remove(_ sequence: Int64) {
        if let position = position(of: sequence) { removed[position] = true }
    }

    /// Records a failed attempt on a cached event, as the table does.
    mutating func recordAttempt(_ sequence: Int64, attempts: Int, lastStatus: Int?, lastError: String) {
        guard let position = position(of: sequence) else { return }
        events[position].attempts = attempts
        events[position].lastStatus = lastStatus
        events[position].lastError = lastError
    }

    private mutating func dropFirst() {
        floor = events[head].sequence
        bytes -= events[head].size
        head += 1
    }

    /// Drops the dead front once it is half the arrays: amortized O(1) per event.
    private mutating func compact() {
        guard head > 64, head * 2 > events.count else { return }
        events.removeFirst(head)
        removed.removeFirst(head)
        head = 0
    }

    private func position(of sequence: Int64) -> Int? {
        var low = head
        var high = events.count
        while low < high {
            let middle = (low + high) / 2
            if events[middle].sequence < sequence { low = middle + 1 } else { high = middle }
        }
        return low < events.count && events[low].sequence == sequence ? low : nil
    }
}
