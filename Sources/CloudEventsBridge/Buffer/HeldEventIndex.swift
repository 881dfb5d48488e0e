/// What the durable buffer knows in memory about every event it holds: sequence number,
/// receipt time and size, in sequence order. With it, ``SQLiteEventBuffer/remove(_:)``
/// updates the totals and the oldest event without a query, and a read from the table skips
/// the rows whose delete is still queued. About 32 bytes per held event (a few percent of
/// the events' own bytes, which the bound limits).
struct HeldEventIndex: Sendable {
    struct Entry: Sendable {
        var sequence: Int64
        var receivedAt: Int64
        var size: Int
        var isRemoved = false
    }

    /// Held and removed entries in sequence order; removed ones before `head` are gone, the
    /// others wait until they reach the front.
    private var entries: [Entry] = []
    private var head = 0

    /// Adds an event with a sequence number above every other.
    mutating func append(sequence: Int64, receivedAt: Int64, size: Int) {
        entries.append(Entry(sequence: sequence, receivedAt: receivedAt, size: size))
    }

    /// Whether `sequence` is held (stored and not removed).
    func holds(_ sequence: Int64) -> Bool {
        guard let position = position(of: sequence) else { return false }
        return !entries[position].isRemoved
    }

    /// Marks `sequence` removed.
    ///
    /// - Returns: its size, or `nil` when it is not held.
    mutating func remove(_ sequence: Int64) -> Int? {
        guard let position = position(of: sequence), !entries[position].isRemoved else { return nil }
        entries[position].isRemoved = true
        let size = entries[position].size
        while head < entries.count, entries[head].isRemoved { head += 1 }
        // Compacted when the dead front is half the array: amortized O(1) per remove.
        if head > 64, head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
        return size
    }

    /// The first held event in sequence order.
    var oldest: (sequence: Int64, receivedAt: Int64)? {
        guard head < entries.count else { return nil }
        return (entries[head].sequence, entries[head].receivedAt)
    }

    private func position(of sequence: Int64) -> Int? {
        var low = head
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].sequence < sequence { low = middle + 1 } else { high = middle }
        }
        return low < entries.count && entries[low].sequence == sequence ? low : nil
    }
}
