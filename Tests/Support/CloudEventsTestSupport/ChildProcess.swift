public import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The part of Foundation's `Process` the tests use, on `posix_spawn`: set the executable,
/// arguments, environment, directory and standard streams (a `FileHandle` or a `Pipe`, as
/// with `Process`), `run()`, then wait, signal or read the status.
///
/// Not Foundation's `Process`: on Swift 6.3.1 its `run()` now and then dies of a bad pointer
/// dereference (it copies every `/proc/self/fd` entry's full 256-byte name and can read past
/// the end of readdir's buffer: swift-corelibs-foundation pull request 5472, fixed after
/// 6.3.1), and a crash in any test takes the whole test process down with every other
/// test's result. A local full run crashed that way in `PeerProcess.init`. As with
/// ``SpawnedProcess``, the child also gets every signal unblocked and at its default action
/// (a child `Process` starts from a test thread inherits a mask blocking SIGTERM), and none of
/// the test process's other descriptors.
///
/// One thread per child waits for it to end and reaps it under ``state``'s lock, then runs
/// ``terminationHandler``.
// @unchecked Sendable: the configuration properties are set before `run()` and only read by
// it, the same contract as Foundation's `Process`; everything after that is under `state`'s
// Mutex.
public final class ChildProcess: @unchecked Sendable {
    /// The program to run.
    public var executableURL: URL?
    /// Its arguments, without the program name.
    public var arguments: [String] = []
    /// Its environment; this process's when `nil`.
    public var environment: [String: String]?
    /// Its working directory; this process's when `nil`.
    public var currentDirectoryURL: URL?
    /// Its stdin: a `FileHandle`, or a `Pipe` whose reading end it gets; this process's when `nil`.
    public var standardInput: Any?
    /// Its stdout: a `FileHandle`, or a `Pipe` whose writing end it gets; this process's when `nil`.
    public var standardOutput: Any?
    /// Its stderr, as ``standardOutput``.
    public var standardError: Any?
    /// Called once, on the waiting thread, when the process has ended.
    public var terminationHandler: (@Sendable (ChildProcess) -> Void)?

    private struct State {
        var pid: pid_t = 0
        var started = false
        /// The `waitpid` status, once reaped.
        var status: Int32?
    }

    private let state = Mutex(State())
    /// Entered by `run()`, left when the process has been reaped.
    private let running = DispatchGroup()

    public init() {}

    /// The process id, 0 before `run()`.
    public var processIdentifier: Int32 { state.withLock { $0.pid } }

    /// Whether it was started and has not been reaped.
    public var isRunning: Bool { state.withLock { $0.started && $0.status == nil } }

    /// Its exit status, or the signal that ended it; -1 while it runs.
    public var terminationStatus: Int32 {
        guard let status = state.withLock({ $0.status }) else { return -1 }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import as macros.
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : signal
    }

    /// Whether a signal ended it.
    public var wasSignalled: Bool {
        guard let status = state.withLock({ $0.status }) else { return false }
        return status & 0x7f != 0
    }

    /// Sends SIGTERM, unless it has been reaped already (its pid may be someone else's then).
    public func terminate() { signal(SIGTERM) }

    /// Sends SIGINT, as ``terminate()``.
    public func interrupt() { signal(SIGINT) }

    /// Sends `signal`, as ``terminate()``.
    public func signal(_ signal: Int32) {
        state.withLock { state in
            if state.started, state.status == nil { _ = kill(state.pid, signal) }
        }
    }

    /// Blocks until the process has ended and been reaped.
    public func waitUntilExit() {
        precondition(state.withLock { $0.started }, "waitUntilExit() before run()")
        running.wait()
    }

    /// Waits, without blocking a thread, up to `timeout` for the process to end.
    ///
    /// - Returns: whether it ended.
    public func waitForExit(timeout: Duration) async -> Bool {
        await pollUntil(timeout: timeout) { !isRunning }
    }

    /// Starts the process.
    ///
    /// - Throws: ``SpawnError`` naming the program when it cannot start.
    public func run() throws {
        guard let executable = executableURL?.path else { throw SpawnError(message: "no executableURL to run") }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // In the test process's group (unlike `Process`): a ^C that stops the test run
        // reaches its children too instead of leaving them running.
        SpawnedProcess.unblockAndResetSignals(&attributes)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let streams = [
            (standardInput, Int32(0), true), (standardOutput, Int32(1), false), (standardError, Int32(2), false)
        ]
        for (stream, target, isInput) in streams {
            let rc: Int32
            switch try Self.source(of: stream, forInput: isInput) {
            case .inherited: continue
            case .nullDevice:
                rc = posix_spawn_file_actions_addopen(&actions, target, "/dev/null", isInput ? O_RDONLY : O_WRONLY, 0)
            case .descriptor(let source):
                rc = posix_spawn_file_actions_adddup2(&actions, source, target)
            }
            guard rc == 0 else {
                throw SpawnError(message: "cannot set up descriptor \(target): \(String(cString: strerror(rc)))")
            }
        }
        // Nothing else of ours: a child holding another test's pipe would keep that pipe from
        // ending, and one holding a listening socket would keep its port accepting.
        guard SpawnedProcess.addCloseFrom(&actions, 3) == 0 else {
            throw SpawnError(message: "posix_spawn_file_actions_addclosefrom_np failed")
        }
        if let directory = currentDirectoryURL?.path {
            guard Self.addChangeDirectory(&actions, directory) == 0 else {
                throw SpawnError(message: "posix_spawn_file_actions_addchdir_np \(directory) failed")
            }
        }

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let variables =
            (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in variables { free(pointer) } }

        running.enter()
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, variables)
        guard rc == 0 else {
            running.leave()
            throw SpawnError(message: "cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        state.withLock { state in
            state.pid = pid
            state.started = true
        }
        // The child has its copies; the parent keeps only its own ends of the pipes, so that
        // a reader sees the end of the output when the child exits.
        if let pipe = standardInput as? Pipe { try? pipe.fileHandleForReading.close() }
        if let pipe = standardOutput as? Pipe { try? pipe.fileHandleForWriting.close() }
        if let pipe = standardError as? Pipe { try? pipe.fileHandleForWriting.close() }

        let waiter = Thread { [self, pid] in awaitExit(of: pid) }
        waiter.name = "ChildProcess \(pid)"
        waiter.start()
    }

    /// Waits for `pid` to end without reaping it, then reaps it under the lock, so that a
    /// signal sent meanwhile never reaches a reused pid.
    private func awaitExit(of pid: pid_t) {
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0, errno == EINTR {}
        state.withLock { state in
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0, errno == EINTR {}
            state.status = status
        }
        running.leave()
        terminationHandler?(self)
    }

    /// Where a standard stream of the child comes from.
    private enum Source {
        /// This process's.
        case inherited
        /// `/dev/null`, opened in the child.
        case nullDevice
        /// A descriptor of this process, duplicated.
        case descriptor(Int32)
    }

    /// Where the child's `stream` comes from: a `FileHandle`'s descriptor, or a `Pipe`'s end.
    /// `FileHandle.nullDevice` has no descriptor (its `fileDescriptor` is -1 in
    /// swift-corelibs-foundation): the child opens `/dev/null` instead.
    private static func source(of stream: Any?, forInput isInput: Bool) throws -> Source {
        switch stream {
        case nil: return .inherited
        case let handle as FileHandle:
            return handle === FileHandle.nullDevice || handle.fileDescriptor < 0
                ? .nullDevice : .descriptor(handle.fileDescriptor)
        case let pipe as Pipe:
            return .descriptor(
                isInput ? pipe.fileHandleForReading.fileDescriptor : pipe.fileHandleForWriting.fileDescriptor)
        default: throw SpawnError(message: "a standard stream must be a FileHandle or a Pipe, not \(type(of: stream!))")
        }
    }

    /// glibc's `posix_spawn_file_actions_addchdir_np` (2.29 and later), which the Glibc
    /// module does not import (it is declared for `_GNU_SOURCE` only).
    private static let addChangeDirectory:
        @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32 = {
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np")
            else {
                fatalError("glibc 2.29 or later is needed (posix_spawn_file_actions_addchdir_np)")
            }
            return unsafeBitCast(
                symbol,
                to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32)
                    .self)
        }()
}
