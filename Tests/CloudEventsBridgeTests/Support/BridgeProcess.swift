import CloudEventsTestSupport
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `ce bridge …` running as a child process, its stdout and stderr in a file, killed (SIGKILL)
/// when the object goes away if it still runs.
final class BridgeProcess: Sendable {
    /// The arguments after `bridge`.
    let arguments: [String]
    private let process: SpawnedProcess

    /// Starts `ce bridge arguments`, writing its output to `logPath`.
    ///
    /// - Throws: ``SpawnError`` when there is no `ce` binary or it cannot start.
    init(_ arguments: [String], logPath: String, environment: [String: String]? = nil) throws {
        self.arguments = arguments
        process = try SpawnedProcess(try Self.executable(), ["bridge"] + arguments, outputPath: logPath, environment: environment)
    }

    /// The `ce` binary: `CE_BINARY` when set, else the one SwiftPM built next to the test
    /// bundle, else `.build/debug/ce` under the package root.
    ///
    /// - Throws: ``SpawnError`` naming where it looked, and how to build it.
    static func executable() throws -> String {
        var candidates: [String] = []
        if let path = ProcessInfo.processInfo.environment["CE_BINARY"], !path.isEmpty { candidates.append(path) }
        let bundle = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        candidates.append(URL(fileURLWithPath: bundle).deletingLastPathComponent().appendingPathComponent("ce").path)
        candidates.append(packageRoot.appendingPathComponent(".build/debug/ce").path)
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw SpawnError(
                message:
                    "no ce binary (looked at \(candidates.joined(separator: ", "))): build it with `swift build --product ce`")
        }
        return found
    }

    /// The package's root directory (this file is `Tests/CloudEventsBridgeTests/Support/BridgeProcess.swift`).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// The process id.
    var pid: pid_t { process.pid }

    /// Whether it still runs.
    var isRunning: Bool { process.isRunning }

    /// How it ended, if it did.
    var exit: SpawnedProcess.Exit? { process.exit }

    /// Everything it wrote to stdout and stderr so far.
    var stderr: String { process.output }

    /// The last `lines` lines of its output, for a failure message.
    func stderrTail(_ lines: Int = 30) -> String {
        stderr.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// Asks it to stop (SIGTERM) and waits up to `timeout` for it to exit; kills it (SIGKILL)
    /// if it did not.
    ///
    /// - Returns: how it ended, or `nil` when it had to be killed.
    @discardableResult
    func terminate(timeout: Duration = .seconds(60)) async -> SpawnedProcess.Exit? {
        process.signal(SIGTERM)
        if let exit = await process.waitForExit(timeout: timeout) { return exit }
        await kill()
        return nil
    }

    /// Kills it at once (SIGKILL) and waits until it is gone.
    @discardableResult
    func kill() async -> SpawnedProcess.Exit? {
        process.signal(SIGKILL)
        return await process.waitForExit(timeout: .seconds(10))
    }

    /// Waits up to `timeout` for it to exit by itself.
    ///
    /// - Returns: how it ended, or `nil` if it still runs.
    func waitForExit(timeout: Duration) async -> SpawnedProcess.Exit? {
        await process.waitForExit(timeout: timeout)
    }

    /// Waits up to `timeout` until its output contains `text` (or it exited).
    ///
    /// - Returns: whether the output contains it.
    func waitForOutput(containing text: String, timeout: Duration) async -> Bool {
        _ = await pollUntil(timeout: timeout) { stderr.contains(text) || !process.isRunning }
        return stderr.contains(text)
    }
}
