import Synchronization
import Testing

@testable import CloudEventsLoopDriver

@Suite("Deadline timers")
struct DeadlineTimersTests {
    /// Timers scheduled in any order, some cancelled, come out due in deadline order (ties in
    /// scheduling order), and a cancelled or unknown timer is reported as not pending.
    @Test func dueInDeadlineOrderAfterCancellations() {
        var timers = DeadlineTimers()
        let start = ContinuousClock.now
        let fired = Mutex<[Int]>([])
        var generator = SystemRandomNumberGenerator()
        var scheduled: [(offset: Int, index: Int, id: TimerID)] = []
        for index in 0..<500 {
            let offset = Int.random(in: 0..<50, using: &generator)
            let id = timers.schedule(at: start + .milliseconds(offset)) { fired.withLock { $0.append(index) } }
            scheduled.append((offset, index, id))
        }
        var kept: [(offset: Int, index: Int)] = []
        for (position, timer) in scheduled.enumerated() {
            if position % 3 == 0 {
                let first = timers.cancel(timer.id)
                let second = timers.cancel(timer.id)
                #expect(first && !second)
            } else {
                kept.append((timer.offset, timer.index))
            }
        }
        #expect(timers.nextDeadline == kept.map { start + .milliseconds($0.offset) }.min())
        for action in timers.popDue(now: start + .milliseconds(24)) { action() }
        for action in timers.popDue(now: start + .milliseconds(100)) { action() }
        #expect(timers.isEmpty)
        let expected = kept.sorted { ($0.offset, $0.index) < ($1.offset, $1.index) }.map(\.index)
        #expect(fired.withLock { $0 } == expected)
    }

    @Test func cancellingATimerThatRanIsNotPending() {
        var timers = DeadlineTimers()
        let now = ContinuousClock.now
        let id = timers.schedule(at: now) {}
        let due = timers.popDue(now: now)
        let pending = timers.cancel(id)
        #expect(due.count == 1 && !pending)
    }
}
