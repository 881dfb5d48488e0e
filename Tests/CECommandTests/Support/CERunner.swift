import CloudEventsTestSupport
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What one run of the `ce` binary did.
struct CERun: Sendable, CustomStringConvertible {
    var status: Int32
    var stdout: [UInt8]
    var stderr: String
    /// Whether the run was killed for outliving its time limit.
    var timedOut: Bool

    var output: String { String(decoding: stdout, as: UTF8.self) }
    var outputLines: [String] { output.split(separator: "\n").map(String.init) }
    var errorLines: [String] { stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) }

    var description: String {
        "exit \(status)\(timedOut ? " (killed after its time limit)" : ""); stderr: \(stderr.isEmpty ? "(empty)" : stderr)"
    }
}

/// Runs the real `ce` executable, which SwiftPM builds next to the test bundle (the test
/// target depends on the `ce` target).
enum CE {
    static let executable: String = {
        let bundle =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: bundle).deletingLastPathComponent().appendingPathComponent("ce").path
    }()

    /// A process that writes to a pipe its reader closed must get `EPIPE`, not die of `SIGPIPE`.
    private static let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    /// Runs `ce arguments`, with `input` on stdin (else `/dev/null`). A run that outlives
    /// `timeLimit` seconds is killed (`SIGKILL`) and reported with ``CERun/timedOut``, so a hang
    /// fails the test instead of hanging the suite.
    ///
    /// The wait happens on a thread of its own, never on the cooperative pool.
    static func run(_ arguments: [String], input: [UInt8]? = nil, timeLimit: Double = 60) async throws -> CERun {
        try #require(FileManager.default.isExecutableFile(atPath: executable), "no ce executable at \(executable)")
        return try await onOwnThread { try runBlocking(arguments, input: input, timeLimit: timeLimit) }
    }

    private static func runBlocking(_ arguments: [String], input: [UInt8]?, timeLimit: Double) throws -> CERun {
        ignoreSIGPIPE
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let stdout = Pipe()
        let stderr = Pipe()
        let stdin = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()

        let output = PipeReader(stdout.fileHandleForReading)
        let errors = PipeReader(stderr.fileHandleForReading)
        if let input {
            let handle = stdin.fileHandleForWriting
            Thread.detachNewThread {
                try? handle.write(contentsOf: input)
                try? handle.close()
            }
        }
        let timedOut = exited.wait(timeout: .now() + timeLimit) == .timedOut
        if timedOut {
            kill(process.processIdentifier, SIGKILL)
            exited.wait()
        }
        return CERun(
            status: process.terminationStatus, stdout: output.bytes(),
            stderr: String(decoding: errors.bytes(), as: UTF8.self), timedOut: timedOut)
    }

    static func run(_ arguments: String..., input: String? = nil, timeLimit: Double = 60) async throws -> CERun {
        try await run(arguments, input: input.map { Array($0.utf8) }, timeLimit: timeLimit)
    }
}

/// Reads a pipe to its end on a thread of its own (never on the cooperative pool).
private final class PipeReader: Sendable {
    private let result = Mutex<[UInt8]?>(nil)
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            let bytes = (try? handle.readToEnd()).map { [UInt8]($0) } ?? []
            result.withLock { $0 = bytes }
            done.signal()
        }
    }

    /// Everything the pipe delivered, once its writers have closed it.
    func bytes() -> [UInt8] {
        done.wait()
        return result.withLock { $0 ?? [] }
    }
}

/// A `ce` run in the background (a listener), with stderr readable while it runs.
/// Its `ChildProcess` is only read after `run()`; the rest is behind locks.
final class CEProcess: @unchecked Sendable {
    private let process: ChildProcess
    private let output: PipeReader
    private let errors = Mutex<[UInt8]>([])
    private let errorsDone = DispatchSemaphore(value: 0)

    /// Starts `ce arguments` with stdin on `/dev/null`.
    init(_ arguments: [String]) throws {
        _ = signal(SIGPIPE, SIG_IGN)
        process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: CE.executable)
        process.arguments = arguments
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        try process.run()
        output = PipeReader(stdout.fileHandleForReading)
        let handle = stderr.fileHandleForReading
        Thread.detachNewThread { [self] in
            while case let chunk = handle.availableData, !chunk.isEmpty {
                errors.withLock { $0 += chunk }
            }
            errorsDone.signal()
        }
    }

    /// The first line on stderr, waiting at most `timeLimit` seconds for it (on a thread of
    /// its own, never on the cooperative pool).
    func firstErrorLine(timeLimit: Double = 90) async -> String? {
        await onOwnThread { [self] in firstErrorLineBlocking(timeLimit: timeLimit) }
    }

    private func firstErrorLineBlocking(timeLimit: Double) -> String? {
        let deadline = Date().addingTimeInterval(timeLimit)
        while Date() < deadline {
            let line = errors.withLock { bytes in bytes.firstIndex(of: 0x0A).map { String(decoding: bytes[..<$0], as: UTF8.self) }
            }
            if let line { return line }
            if !process.isRunning { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return nil
    }

    /// Whether the process accepts TCP connections on loopback `port` within `timeLimit`
    /// seconds (`false` as soon as it exits); polls on a thread of its own. A listener that is
    /// still starting refuses connections, and a sender gives up after its retries.
    func acceptsConnections(onPort port: Int, timeLimit: Double = 90) async -> Bool {
        await onOwnThread { [self] in
            let deadline = Date().addingTimeInterval(timeLimit)
            while Date() < deadline && process.isRunning {
                if TCPProbe.accepts(host: "127.0.0.1", port: port, timeoutMilliseconds: 1_000) { return true }
                Thread.sleep(forTimeInterval: 0.05)
            }
            return false
        }
    }

    /// Waits for the process to exit (killing it after `timeLimit` seconds) and reports the
    /// run; waits on a thread of its own, never on the cooperative pool.
    func finish(timeLimit: Double = 60) async -> CERun {
        await onOwnThread { [self] in finishBlocking(timeLimit: timeLimit) }
    }

    /// ``finish(timeLimit:)`` for a caller that cannot await (a `defer`).
    func finishBlocking(timeLimit: Double) -> CERun {
        let deadline = Date().addingTimeInterval(timeLimit)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        let timedOut = process.isRunning
        if timedOut { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        errorsDone.wait()
        return CERun(
            status: process.terminationStatus, stdout: output.bytes(),
            stderr: String(decoding: errors.withLock { $0 }, as: UTF8.self), timedOut: timedOut)
    }
}
