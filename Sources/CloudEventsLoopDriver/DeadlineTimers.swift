/// An identifier for a timer scheduled on a ``LoopDriver``.
package struct TimerID: Hashable, Sendable {
    fileprivate var rawValue: UInt64
    /// Where the timer sorts, so that cancelling it is a binary search.
    fileprivate var deadline: ContinuousClock.Instant
}

/// The loop's timers, in deadline order (ties in scheduling order): the loop sleeps until the
/// first and runs those that are due.
struct DeadlineTimers {
    private struct Entry {
        var deadline: ContinuousClock.Instant
        var id: UInt64
        var action: @Sendable () -> Void
    }

    /// Sorted by deadline, then id. Found by binary search: a binding may keep a timer per
    /// message in flight (an AMQP send's timeout), hundreds at once, scheduled and cancelled
    /// once per message; those are mostly appended at the back and cancelled at the front,
    /// where an array's insert and remove move little.
    private var entries: [Entry] = []
    private var nextID: UInt64 = 0

    var isEmpty: Bool { entries.isEmpty }

    /// The earliest deadline.
    var nextDeadline: ContinuousClock.Instant? { entries.first?.deadline }

    mutating func schedule(at deadline: ContinuousClock.Instant, _ action: @escaping @Sendable () -> Void) -> TimerID {
        nextID += 1
        // The new id is the largest: it goes after every entry with the same deadline.
        let index = firstIndex { $0.deadline > deadline }
        entries.insert(Entry(deadline: deadline, id: nextID, action: action), at: index)
        return TimerID(rawValue: nextID, deadline: deadline)
    }

    /// Whether the timer was still pending.
    @discardableResult
    mutating func cancel(_ id: TimerID) -> Bool {
        let index = firstIndex { ($0.deadline, $0.id) >= (id.deadline, id.rawValue) }
        guard index < entries.endIndex, entries[index].id == id.rawValue else { return false }
        entries.remove(at: index)
        return true
    }

    /// The first index whose entry satisfies `isAtOrAfter` (false for a prefix, true for the
    /// rest, as the order makes it), or the end index.
    private func firstIndex(_ isAtOrAfter: (Entry) -> Bool) -> Int {
        var low = entries.startIndex
        var high = entries.endIndex
        while low < high {
            let middle = low + (high - low) / 2
            if isAtOrAfter(entries[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }

    /// Removes and returns the actions of the timers due at `now`, in deadline order.
    mutating func popDue(now: ContinuousClock.Instant) -> [@Sendable () -> Void] {
        let due = entries.prefix { $0.deadline <= now }.count
        guard due > 0 else { return [] }
        defer { entries.removeFirst(due) }
        return entries[..<due].map(\.action)
    }

    mutating func removeAll() { entries = [] }
}
