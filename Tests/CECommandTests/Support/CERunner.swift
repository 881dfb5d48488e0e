import Foundation
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What one run of the `ce` binary did.
struct CERun: CustomStringConvertible {
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
        let bundle = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: bundle).deletingLastPathComponent().appendingPathComponent("ce").path
    }()

    /// A process that writes to a pipe its reader closed must get `EPIPE`, not die of `SIGPIPE`.
    private static let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    /// Runs `ce arguments`, with `input` on stdin (else `/dev/null`). A run that outlives
    /// `timeLimit` seconds is killed (`SIGKILL`) and reported with ``CERun/timedOut``, so a hang
    /// fails the test instead of hanging the suite.
    static func run(_ arguments: [String], input: [UInt8]? = nil, timeLimit: Double = 20) throws -> CERun {
        ignoreSIGPIPE
        try #require(FileManager.default.isExecutableFile(atPath: executable), "no ce executable at \(executable)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let stdout = Pipe(), stderr = Pipe(), stdin = Pipe()
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

    static func run(_ arguments: String..., input: String? = nil, timeLimit: Double = 20) throws -> CERun {
        try run(arguments, input: input.map { Array($0.utf8) }, timeLimit: timeLimit)
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
