/// An identifier for a timer scheduled on a ``LoopDriver``.
package struct TimerID: Hashable, Sendable {
    fileprivate var rawValue: UInt64
}

/// The loop's timers, in deadline order (ties in scheduling order): the loop sleeps until the
/// first and runs those that are due.
struct DeadlineTimers {
    private struct Entry {
        var deadline: ContinuousClock.Instant
        var id: UInt64
        var action: @Sendable () -> Void
    }

    /// Sorted by deadline, then id. Few timers are live at once (a reconnect, a drain, a
    /// periodic scan), so an array beats a heap.
    private var entries: [Entry] = []
    private var nextID: UInt64 = 0

    var isEmpty: Bool { entries.isEmpty }

    /// The earliest deadline.
    var nextDeadline: ContinuousClock.Instant? { entries.first?.deadline }

    mutating func schedule(at deadline: ContinuousClock.Instant, _ action: @escaping @Sendable () -> Void) -> TimerID {
        nextID += 1
        let index = entries.firstIndex { $0.deadline > deadline } ?? entries.endIndex
        entries.insert(Entry(deadline: deadline, id: nextID, action: action), at: index)
        return TimerID(rawValue: nextID)
    }

    /// Whether the timer was still pending.
    @discardableResult
    mutating func cancel(_ id: TimerID) -> Bool {
        guard let index = entries.firstIndex(where: { $0.id == id.rawValue }) else { return false }
        entries.remove(at: index)
        return true
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
