import CloudEventsTestSupport
import Foundation
import Testing

/// The tests' replacement for Foundation's `Process` (whose `run()` crashes now and then on
/// Swift 6.3.1): what the other suites rely on it for.
@Suite struct ChildProcessTests {
    /// Runs `executable` with `arguments`, stdin on `/dev/null`, and returns its status and
    /// stdout.
    static func run(
        _ executable: String, _ arguments: [String], directory: URL? = nil
    ) async throws -> (status: Int32, output: String) {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.standardInput = FileHandle.nullDevice
        let stdout = Pipe()
        process.standardOutput = stdout
        try process.run()
        let output = try await onOwnThread { try stdout.fileHandleForReading.readToEnd() ?? Data() }
        #expect(await process.waitForExit(timeout: .seconds(60)))
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    /// `FileHandle.nullDevice` has no descriptor in swift-corelibs-foundation: the child gets
    /// `/dev/null`, not this process's stdin and stdout (a first version passed on its -1,
    /// which `posix_spawn` ignored, and `ce listen` children read the test process's stdin).
    @Test func theNullDeviceIsDevNull() async throws {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        // The inner shell reads the outer one's descriptors (which no redirection touched).
        process.arguments = ["-c", "cat; /bin/sh -c 'readlink /proc/$PPID/fd/0 /proc/$PPID/fd/1 >&2'; true"]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        let stderr = Pipe()
        process.standardError = stderr
        try process.run()
        let output = try await onOwnThread { try stderr.fileHandleForReading.readToEnd() ?? Data() }
        #expect(await process.waitForExit(timeout: .seconds(60)))
        #expect(process.terminationStatus == 0)
        #expect(String(decoding: output, as: UTF8.self) == "/dev/null\n/dev/null\n")
    }

    @Test func exitStatusesAndSignalsAreReported() async throws {
        #expect(try await Self.run("/bin/sh", ["-c", "exit 7"]).status == 7)

        let sleeper = ChildProcess()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
        sleeper.arguments = ["60"]
        try sleeper.run()
        #expect(sleeper.isRunning)
        sleeper.terminate()
        #expect(await sleeper.waitForExit(timeout: .seconds(60)))
        #expect(sleeper.wasSignalled)
        #expect(sleeper.terminationStatus == SIGTERM)
    }

    /// Only the three standard streams reach the child (and the directory `ls` reads).
    @Test func noOtherDescriptorIsInherited() async throws {
        let (status, output) = try await Self.run("/bin/ls", ["/proc/self/fd"])
        #expect(status == 0)
        #expect(Set(output.split(separator: "\n")).isSubset(of: ["0", "1", "2", "3"]), "\(output)")
    }

    @Test func theWorkingDirectoryIsSet() async throws {
        let (status, output) = try await Self.run("/bin/pwd", [], directory: URL(fileURLWithPath: "/usr"))
        #expect(status == 0)
        #expect(output == "/usr\n")
    }

    @Test func aMissingProgramIsATypedError() {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/nonexistent/program")
        #expect(throws: SpawnError.self) { try process.run() }
    }
}
