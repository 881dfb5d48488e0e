public import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A child process started with `posix_spawn`, every signal unblocked and at its default
/// action, stdin on `/dev/null`, stdout and stderr appended to one file, no other descriptor
/// of the test process.
///
/// Not Foundation's `Process`: a child it starts from a test thread inherits a signal mask
/// that blocks SIGTERM, so a graceful stop could never be tested. The process is reaped
/// exactly once, under ``state``'s lock; a process still running when this object goes away
/// is killed (SIGKILL) and reaped.
public final class SpawnedProcess: Sendable {
    /// How a process ended.
    public enum Exit: Sendable, Equatable, CustomStringConvertible {
        /// `exit(status)`.
        case exited(Int32)
        /// Killed by `signal`.
        case signalled(Int32)

        public var description: String {
            switch self {
            case .exited(let status): return "exit status \(status)"
            case .signalled(let signal): return "killed by signal \(signal)"
            }
        }
    }

    /// The process id.
    public let pid: pid_t
    /// The file stdout and stderr go to.
    public let outputPath: String
    /// The exit, once reaped.
    private let state = Mutex<Exit?>(nil)

    /// Starts `executable` with `arguments`, writing its output to `outputPath` (appended).
    ///
    /// - Throws: ``SpawnError`` when it cannot start.
    public init(_ executable: String, _ arguments: [String], outputPath: String, environment: [String: String]? = nil) throws {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        Self.unblockAndResetSignals(&attributes)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of ours: a child holding a copy of a test sink's listening socket would
        // keep the port accepting after the sink stopped.
        guard Self.addCloseFrom(&actions, 3) == 0 else { throw SpawnError(message: "posix_spawn_file_actions_addclosefrom_np") }

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let variables = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in variables { free(pointer) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, variables)
        guard rc == 0 else { throw SpawnError(message: "cannot start \(executable): \(String(cString: strerror(rc)))") }
        self.pid = pid
        self.outputPath = outputPath
    }

    /// Makes `attributes` start the child with every signal unblocked and at its default
    /// action, whatever the spawning thread blocks or this process ignores (SIGPIPE).
    static func unblockAndResetSignals(_ attributes: inout posix_spawnattr_t) {
        var none = sigset_t()
        sigemptyset(&none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), which the Glibc
    /// module does not import (it is declared for `_GNU_SOURCE` only).
    static let addCloseFrom: @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32 = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else {
            fatalError("glibc 2.34 or later is needed (posix_spawn_file_actions_addclosefrom_np)")
        }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    deinit {
        if exit == nil {
            kill(pid, SIGKILL)
            reap(blocking: true)
        }
    }

    /// The exit, if the process ended (reaps it if it did).
    public var exit: Exit? { reap(blocking: false) }

    /// Whether it still runs.
    public var isRunning: Bool { exit == nil }

    /// Everything it wrote so far.
    public var output: String {
        (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    }

    /// Sends `signal`, unless it has been reaped already (its pid may be someone else's then).
    public func signal(_ signal: Int32) {
        state.withLock { exit in
            if exit == nil { _ = kill(pid, signal) }
        }
    }

    /// Waits up to `timeout` for the process to end.
    ///
    /// - Returns: how it ended, or `nil` if it still runs.
    /// ``waitForExit(timeout:)`` for a caller that cannot await (a `defer`): polls every 20 ms.
    public func waitForExit(blockingFor timeout: Duration) -> Exit? {
        let deadline = ContinuousClock.now + timeout
        while exit == nil, ContinuousClock.now < deadline { usleep(20_000) }
        return exit
    }

    public func waitForExit(timeout: Duration) async -> Exit? {
        _ = await pollUntil(timeout: timeout) { exit != nil }
        return exit
    }

    @discardableResult
    private func reap(blocking: Bool) -> Exit? {
        state.withLock { exit in
            if let exit { return exit }
            var status: Int32 = 0
            let reaped = waitpid(pid, &status, blocking ? 0 : WNOHANG)
            guard reaped == pid else { return nil }
            // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import as macros.
            let signal = status & 0x7f
            exit = signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
            return exit
        }
    }
}

/// A process could not be started.
public struct SpawnError: Error, CustomStringConvertible {
    /// What went wrong.
    public var message: String
    /// ``message``.
    public var description: String { message }

    /// An error saying `message`.
    public init(message: String) {
        self.message = message
    }
}
