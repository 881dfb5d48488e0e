import CloudEvents
import CloudEventsLoopDriver
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The driver with a stand-in adapter: a pipe to poll (as libmosquitto's adapter does), no
/// network and no C library.
@Suite struct LoopDriverTests {
    @Test func commandsRunOnTheLoopThreadInOrder() async throws {
        let (driver, adapter) = try PipeAdapter.started()
        let callerThread = pthread_self()
        let seen = Mutex<[(Int, pthread_t)]>([])
        for index in 0..<200 {
            #expect(driver.submit { seen.withLock { $0.append((index, pthread_self())) } })
        }
        let loopThread = try await withTimeout { try await driver.perform { pthread_self() } }
        let recorded = seen.withLock { $0 }
        #expect(recorded.map(\.0) == Array(0..<200), "in submission order")
        #expect(recorded.allSatisfy { pthread_equal($0.1, loopThread) != 0 }, "all on the loop thread")
        #expect(pthread_equal(loopThread, callerThread) == 0, "not the caller's thread")
        await driver.shutdown()
        #expect(adapter.endCount.load(ordering: .relaxed) == 1)
    }

    @Test func aWakeUpInterruptsALongWaitPromptly() async throws {
        // With no timer the adapter waits for its pipe or 60 s.
        let (driver, _) = try PipeAdapter.started(idleWait: .seconds(60))
        // Let the loop settle into its wait.
        try await Task.sleep(for: .milliseconds(100))
        let start = ContinuousClock.now
        // Well under the 60 s wait, with room for a loaded machine: a CI-like run took 10.1 s
        // to resume this task once.
        _ = try await withTimeout(.seconds(50)) { try await driver.perform { 1 } }
        let elapsed = ContinuousClock.now - start
        #expect(elapsed < .seconds(45), "the wait was interrupted, not timed out (\(elapsed))")
        await driver.shutdown()
    }

    @Test func deadlinesFireInOrderAndNotEarly() async throws {
        let (driver, _) = try PipeAdapter.started(idleWait: .seconds(60))
        let fired = Locked<[(Int, ContinuousClock.Instant)]>([])
        let base = Locked<ContinuousClock.Instant?>(nil)
        let offsets: [Int] = [60, 20, 40, 20, 0]
        try await withTimeout(onTimeout: { await driver.shutdown() }) {
            try await driver.suspend(Bool.self) { id in
                // Scheduled from one command on the loop thread, so all five are pending
                // together however late this test's thread runs.
                driver.submit {
                    let now = ContinuousClock.now
                    base.withLock { $0 = now }
                    for (index, offset) in offsets.enumerated() {
                        driver.schedule(at: now + .milliseconds(offset)) {
                            let count = fired.withLock {
                                $0.append((index, ContinuousClock.now))
                                return $0.count
                            }
                            if count == offsets.count { driver.resume(id, returning: true) }
                        }
                    }
                }
            }
        }
        let order = fired.withLock { $0 }
        let start = try #require(base.withLock { $0 })
        #expect(order.map(\.0) == [4, 1, 3, 2, 0], "by deadline, ties in scheduling order")
        for (index, instant) in order {
            #expect(instant >= start + .milliseconds(offsets[index]), "timer \(index) not early")
        }
        await driver.shutdown()
    }

    @Test func aTimerScheduledFromAnotherThreadWakesTheLoopAndIsNotEarly() async throws {
        let (driver, _) = try PipeAdapter.started(idleWait: .seconds(60))
        let deadline = ContinuousClock.now + .milliseconds(50)
        let firedAt = try await withTimeout(onTimeout: { await driver.shutdown() }) {
            try await driver.suspend(ContinuousClock.Instant.self) { id in
                driver.schedule(at: deadline) { driver.resume(id, returning: ContinuousClock.now) }
            }
        }
        #expect(firedAt >= deadline)
        await driver.shutdown()
    }

    @Test func aCancelledTimerNeverRuns() async throws {
        let (driver, _) = try PipeAdapter.started()
        let ran = Atomic<Bool>(false)
        let timer = driver.schedule(at: .now + .milliseconds(30)) { ran.store(true, ordering: .relaxed) }
        driver.cancel(timer)
        try await withTimeout(onTimeout: { await driver.shutdown() }) {
            try await driver.suspend(Bool.self) { id in
                driver.schedule(at: .now + .milliseconds(60)) { driver.resume(id, returning: true) }
            }
        }
        let didRun = ran.load(ordering: .relaxed)
        #expect(!didRun)
        await driver.shutdown()
    }

    @Test func shutdownFailsOutstandingContinuationsAndJoinsTheThread() async throws {
        let (driver, adapter) = try PipeAdapter.started(idleWait: .seconds(60))
        let registered = Locked(0)
        try await withTimeout(onTimeout: { await driver.shutdown() }) {
            try await withThrowingTaskGroup(of: LoopDriverError?.self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        do throws(LoopDriverError) {
                            // Never resumed by anyone: only the shutdown ends it.
                            _ = try await driver.suspend(Int.self) { _ in registered.withLock { $0 += 1 } }
                            return nil
                        } catch {
                            return error
                        }
                    }
                }
                while registered.withLock({ $0 }) < 3 { try await Task.sleep(for: .milliseconds(5)) }
                await driver.shutdown()
                for try await error in group {
                    #expect(error?.code == .shutDown)
                }
            }
        }
        #expect(driver.hasEnded)
        #expect(!driver.hasUnjoinedThread, "joined")
        #expect(adapter.endCount.load(ordering: .relaxed) == 1, "loopDidEnd once")
        // After the end, nothing runs and nothing waits.
        #expect(!driver.submit {})
        await #expect(throws: LoopDriverError(.shutDown, loop: "test")) { try await driver.perform { 1 } }
    }

    @Test func aCommandCanStopTheLoop() async throws {
        let (driver, adapter) = try PipeAdapter.started(idleWait: .seconds(60))
        let later = Atomic<Bool>(false)
        driver.submit { driver.requestStop() }
        driver.submit { later.store(true, ordering: .relaxed) }
        try await withTimeout { await driver.join() }
        let ranLater = later.load(ordering: .relaxed)
        #expect(!ranLater, "commands after the stop are dropped")
        #expect(adapter.endCount.load(ordering: .relaxed) == 1)
    }

    @Test func aDriverNeverStartedEndsAtOnce() async throws {
        let driver = LoopDriver(name: "test", waker: PipeWaker())
        try await withTimeout { await driver.shutdown() }
        #expect(driver.hasEnded)
        #expect(throws: LoopDriverError(.shutDown, loop: "test")) { try driver.start(PipeAdapter(waker: PipeWaker())) }
    }
}

/// Wakes by writing a byte to a pipe.
final class PipeWaker: LoopWaker {
    let readFD: Int32
    let writeFD: Int32

    init() {
        var fds: [Int32] = [0, 0]
        precondition(pipe(&fds) == 0)
        readFD = fds[0]
        writeFD = fds[1]
        _ = fcntl(readFD, F_SETFL, O_NONBLOCK)
        _ = fcntl(writeFD, F_SETFL, O_NONBLOCK)
    }

    deinit {
        close(readFD)
        close(writeFD)
    }

    func wake() {
        var byte: UInt8 = 1
        _ = write(writeFD, &byte, 1)
    }
}

/// Waits on the waker's pipe until the driver's deadline (or `idleWait` without one).
final class PipeAdapter: LoopDriverAdapter {
    let waker: PipeWaker
    let idleWait: Duration
    let endCount = Atomic<Int>(0)

    init(waker: PipeWaker, idleWait: Duration = .seconds(1)) {
        self.waker = waker
        self.idleWait = idleWait
    }

    static func started(idleWait: Duration = .seconds(1)) throws -> (LoopDriver, PipeAdapter) {
        let waker = PipeWaker()
        let adapter = PipeAdapter(waker: waker, idleWait: idleWait)
        let driver = LoopDriver(name: "test", waker: waker)
        try driver.start(adapter)
        return (driver, adapter)
    }

    func runTurn(until deadline: ContinuousClock.Instant?, now: ContinuousClock.Instant) {
        let wait = deadline.map { max(.zero, $0 - .now) } ?? idleWait
        // Rounded up: a timer must not be seen before its deadline.
        let milliseconds = Int32(
            clamping: (wait + .nanoseconds(999_999)).components.seconds * 1000
                + (wait + .nanoseconds(999_999)).components.attoseconds / 1_000_000_000_000_000)
        var descriptor = pollfd(fd: waker.readFD, events: Int16(POLLIN), revents: 0)
        _ = poll(&descriptor, 1, milliseconds)
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(waker.readFD, &buffer, buffer.count) > 0 {}
    }

    func loopDidEnd() { endCount.add(1, ordering: .relaxed) }
}

struct TimedOut: Error {}

/// Runs `body`, failing the test instead of hanging when it takes longer than `limit`
/// (`onTimeout` then unblocks it, for example by shutting the driver down).
@discardableResult
func withTimeout<T: Sendable>(
    _ limit: Duration = .seconds(10), onTimeout: @escaping @Sendable () async -> Void = {},
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            await onTimeout()
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw TimedOut() }
        return value
    }
}
