import CloudEvents
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Drives a C client library's network loop on a thread of its own (never the cooperative
/// pool): a mailbox of commands from Swift to the loop thread, a coalesced wake-up, timers the
/// loop sleeps until, and a registry of continuations that fail when the loop ends.
///
/// The library-specific part is a ``LoopDriverAdapter`` (how a turn waits and does the
/// library's I/O) and a ``LoopWaker`` (how to interrupt that wait). Each turn of the loop:
///
/// 1. clears the wake-up flag, so that any later ``wake()`` interrupts the coming wait;
/// 2. runs the commands submitted since the last turn, in order, then the timers that are
///    due, in deadline order (only when something was submitted or a timer is due: the
///    common turn takes no lock);
/// 3. calls ``LoopDriverAdapter/runTurn(until:now:)`` with the next timer's deadline.
///
/// ``requestStop()`` ends the loop after the current turn; then the adapter's
/// ``LoopDriverAdapter/loopDidEnd()`` runs, commands never run are dropped, continuations
/// still registered fail with ``LoopDriverError/Code/shutDown``, and ``join()`` returns.
package final class LoopDriver: Sendable {
    /// The loop's name, in errors.
    package let name: String
    private let waker: any LoopWaker
    /// Whether a wake-up was sent that the loop has not started a turn for.
    private let wakePending = Atomic<Bool>(false)
    /// Whether commands or timers were added since the loop last looked.
    private let mailboxChanged = Atomic<Bool>(false)
    private let stopRequested = Atomic<Bool>(false)
    private let state = Locked(State())

    private enum Phase { case idle, running, ended }

    private struct State {
        var phase = Phase.idle
        var commands: [@Sendable () -> Void] = []
        var timers = DeadlineTimers()
        var pending = ContinuationRegistry<Result<any Sendable, LoopDriverError>>()
        var endWaiters: [CheckedContinuation<Void, Never>] = []
        /// The loop thread until it is joined (or detached in `deinit`).
        var thread: pthread_t?
    }

    /// A driver whose waits `waker` interrupts. Nothing runs until ``start(_:)``.
    package init(name: String, waker: any LoopWaker) {
        self.name = name
        self.waker = waker
    }

    deinit {
        // Nobody joined the thread (its owner was dropped without a shutdown): let it go.
        if let thread = state.withLock({ $0.thread }) { pthread_detach(thread) }
    }

    // MARK: Lifecycle

    /// Starts the loop thread, which runs `adapter`'s turns until ``requestStop()``. The
    /// thread keeps `adapter` and the driver alive until the loop ends.
    ///
    /// - Throws: ``LoopDriverError`` `.threadCreationFailed`, or `.alreadyStarted`.
    package func start(_ adapter: some LoopDriverAdapter) throws(LoopDriverError) {
        let ended = try state.withLock { state throws(LoopDriverError) -> Bool in
            switch state.phase {
            case .running: throw LoopDriverError(.alreadyStarted, loop: name)
            case .ended: return true
            case .idle:
                state.phase = .running
                return false
            }
        }
        if ended { throw LoopDriverError(.shutDown, loop: name) }
        let context = Unmanaged.passRetained(ThreadContext(driver: self, adapter: adapter)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, loopDriverThreadMain, context)
        guard rc == 0 else {
            Unmanaged<ThreadContext>.fromOpaque(context).release()
            let detail = String(cString: strerror(rc))
            finish()
            throw LoopDriverError(.threadCreationFailed, loop: name, detail: detail)
        }
        state.withLock { $0.thread = thread }
    }

    /// Asks the loop to end after its current turn (from any thread, the loop's own included).
    /// A driver never started ends at once.
    package func requestStop() {
        stopRequested.store(true, ordering: .sequentiallyConsistent)
        let neverStarted = state.withLock { state -> Bool in
            guard state.phase == .idle else { return false }
            state.phase = .running  // finish() takes it to .ended
            return true
        }
        if neverStarted { finish() } else { wake() }
    }

    /// Returns once the loop has ended and its thread has exited (joined). Never call it from
    /// the loop thread.
    package func join() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ended = state.withLock { state -> Bool in
                guard state.phase != .ended else { return true }
                state.endWaiters.append(continuation)
                return false
            }
            if ended { continuation.resume() }
        }
        // The loop has ended: the thread is past every line that could wait, so joining it
        // blocks for no longer than its return.
        if let thread = state.withLock({ state -> pthread_t? in
            defer { state.thread = nil }
            return state.thread
        }) {
            pthread_join(thread, nil)
        }
    }

    /// ``requestStop()``, then ``join()``.
    package func shutdown() async {
        requestStop()
        await join()
    }

    /// Whether ``requestStop()`` was called: the loop ends after its current turn.
    package var isStopRequested: Bool { stopRequested.load(ordering: .sequentiallyConsistent) }

    /// Whether the loop has ended (or never started and was stopped).
    package var hasEnded: Bool { state.withLock { $0.phase == .ended } }

    /// Whether the loop thread exists and nobody has joined it yet.
    package var hasUnjoinedThread: Bool { state.withLock { $0.thread != nil } }

    // MARK: Waking, commands and timers

    /// Interrupts the loop's current wait (or makes its next one return at once). Coalesced:
    /// the waker is called once until the loop starts its next turn.
    package func wake() {
        if !wakePending.exchange(true, ordering: .acquiringAndReleasing) { waker.wake() }
    }

    /// Queues `command` to run on the loop thread, after the commands queued before it.
    ///
    /// - Returns: `false` when the loop has ended or is ending: the command will never run.
    @discardableResult
    package func submit(_ command: @escaping @Sendable () -> Void) -> Bool {
        let accepted = state.withLock { state -> Bool in
            guard state.phase != .ended, !stopRequested.load(ordering: .relaxed) else { return false }
            state.commands.append(command)
            return true
        }
        if accepted { mailboxChanged.store(true, ordering: .releasing) }
        if accepted { wake() }
        return accepted
    }

    /// Runs `body` on the loop thread and returns its result.
    ///
    /// - Throws: ``LoopDriverError`` `.shutDown` when the loop ended before running it.
    package func perform<Value: Sendable>(_ body: @escaping @Sendable () -> Value) async throws(LoopDriverError) -> Value {
        try await suspend(Value.self) { [weak self] id in
            guard let self else { return }
            if !self.submit({ self.resume(id, returning: body()) }) {
                self.resume(id, throwing: LoopDriverError(.shutDown, loop: self.name))
            }
        }
    }

    /// Registers a continuation and passes its id to `start` (called at once, on the calling
    /// thread, outside any lock); returns what ``resume(_:returning:)`` gives it.
    ///
    /// - Throws: ``LoopDriverError``: `.shutDown` when the loop ends first (or had ended),
    ///   `.resultTypeMismatch` when it is resumed with something other than a `Value`.
    package func suspend<Value: Sendable>(
        _ type: Value.Type = Value.self, _ start: (ContinuationID) -> Void
    ) async throws(LoopDriverError) -> Value {
        let result = await withCheckedContinuation {
            (continuation: CheckedContinuation<Result<any Sendable, LoopDriverError>, Never>) in
            let id = state.withLock { state -> ContinuationID? in
                guard state.phase != .ended else { return nil }
                return state.pending.insert(continuation)
            }
            if let id {
                start(id)
            } else {
                continuation.resume(returning: .failure(LoopDriverError(.shutDown, loop: name)))
            }
        }
        switch result {
        case .success(let value):
            guard let value = value as? Value else { throw LoopDriverError(.resultTypeMismatch, loop: name) }
            return value
        case .failure(let error):
            throw error
        }
    }

    /// Resumes the continuation registered as `id` with `value` (from any thread; a no-op if it
    /// is no longer waiting).
    package func resume(_ id: ContinuationID, returning value: some Sendable) {
        state.withLock { $0.pending.remove(id) }?.resume(returning: .success(value))
    }

    /// Fails the continuation registered as `id` with `error`.
    package func resume(_ id: ContinuationID, throwing error: LoopDriverError) {
        state.withLock { $0.pending.remove(id) }?.resume(returning: .failure(error))
    }

    /// Runs `action` on the loop thread once `deadline` has passed (never earlier), after the
    /// timers with earlier deadlines.
    @discardableResult
    package func schedule(at deadline: ContinuousClock.Instant, _ action: @escaping @Sendable () -> Void) -> TimerID {
        let id = state.withLock { $0.timers.schedule(at: deadline, action) }
        mailboxChanged.store(true, ordering: .releasing)
        wake()
        return id
    }

    /// Cancels a timer that has not run yet.
    package func cancel(_ timer: TimerID) {
        state.withLock { _ = $0.timers.cancel(timer) }
    }

    // MARK: The loop thread

    fileprivate func run(_ adapter: some LoopDriverAdapter) {
        var nextDeadline: ContinuousClock.Instant?
        while !stopRequested.load(ordering: .sequentiallyConsistent) {
            wakePending.store(false, ordering: .sequentiallyConsistent)
            let changed = mailboxChanged.exchange(false, ordering: .acquiringAndReleasing)
            var now = ContinuousClock.now
            if changed || nextDeadline.map({ now >= $0 }) == true {
                let (commands, due, next) = state.withLock { state in
                    defer { state.commands.removeAll(keepingCapacity: true) }
                    let due = state.timers.popDue(now: now)
                    return (state.commands, due, state.timers.nextDeadline)
                }
                nextDeadline = next
                // A command or timer may stop the loop: the rest are then dropped.
                for command in commands where !stopRequested.load(ordering: .sequentiallyConsistent) { command() }
                for action in due where !stopRequested.load(ordering: .sequentiallyConsistent) { action() }
                if stopRequested.load(ordering: .sequentiallyConsistent) { break }
                if mailboxChanged.load(ordering: .acquiring) { continue }
                // Commands and timers take time: the adapter's deadlines count from after them.
                if !commands.isEmpty || !due.isEmpty { now = ContinuousClock.now }
            }
            adapter.runTurn(until: nextDeadline, now: now)
        }
        adapter.loopDidEnd()
        finish()
    }

    /// The loop has ended: commands are dropped, continuations fail, joiners return.
    private func finish() {
        let (pending, waiters) = state.withLock { state in
            state.phase = .ended
            state.commands = []
            state.timers.removeAll()
            defer { state.endWaiters = [] }
            return (state.pending.removeAll(), state.endWaiters)
        }
        let error = LoopDriverError(.shutDown, loop: name)
        for continuation in pending { continuation.resume(returning: .failure(error)) }
        for waiter in waiters { waiter.resume() }
    }
}

/// What the loop thread holds for as long as it runs.
private final class ThreadContext {
    let run: () -> Void

    init(driver: LoopDriver, adapter: some LoopDriverAdapter) {
        run = { driver.run(adapter) }
    }
}

/// The loop thread's entry point: a global function, since a C thread calls it.
private func loopDriverThreadMain(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    let context = Unmanaged<ThreadContext>.fromOpaque(context!).takeRetainedValue()
    context.run()
    return nil
}
