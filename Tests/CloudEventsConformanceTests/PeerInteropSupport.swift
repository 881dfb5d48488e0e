import CloudEvents
import CloudEventsTestSupport
import Foundation
import Testing

/// Whether the independent peers (`Conformance/Peers/`, run by the venv's python that
/// `Scripts/peers` prints) can run, with the rule the broker suites follow: when
/// `CE_TEST_PEERS_PYTHON` is unset, the suites skip only if the brokers are not required
/// (neither `CE_TEST_BROKERS=1` nor `CI=true`); when they are, a missing peer environment fails.
enum PeerEnvironment {
    /// The variable naming the venv's python.
    static let variable = "CE_TEST_PEERS_PYTHON"

    /// What the suites do in `environment`.
    static func decide(in environment: [String: String]) -> BrokerRequirement {
        guard let python = environment[variable], !python.isEmpty else {
            guard BrokerRequirement.isRequired(by: environment) else { return .skip }
            return .fail(
                "the independent peers are required (CE_TEST_BROKERS=1 or CI=true) but \(variable) is not set. "
                    + #"Prepare them: export CE_TEST_PEERS_PYTHON="$(Scripts/peers)""#)
        }
        guard FileManager.default.isExecutableFile(atPath: python) else {
            return .fail("\(variable)=\(python) is not an executable file. Run Scripts/peers, which prints the path")
        }
        for script in ["http_peer.py", "mqtt_peer.py", "nats_peer.py"]
        where !FileManager.default.fileExists(atPath: path(of: script)) {
            return .fail("the peer program \(path(of: script)) is missing")
        }
        return .run
    }

    /// The suite condition: run, skip naming `Scripts/peers`, or fail every test.
    static let gate = BrokerRequirement.gate(
        skipComment: Comment(
            rawValue: "SKIPPED: no independent peers (\(variable) unset; neither CE_TEST_BROKERS=1 nor CI=true). "
                + #"Run these: export CE_TEST_PEERS_PYTHON="$(Scripts/peers)" && swift test --filter PeerInterop"#)
    ) { decide(in: ProcessInfo.processInfo.environment) }

    /// The venv's python (the suites run only when it is set).
    static var python: String { ProcessInfo.processInfo.environment[variable] ?? "python3" }

    /// The absolute path of a peer program in `Conformance/Peers/`.
    static func path(of script: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Conformance/Peers/\(script)").path
    }
}

/// A peer program that failed or did not answer in time (names the program and its stderr).
struct PeerFailure: Error, CustomStringConvertible {
    /// What went wrong.
    var description: String
}

/// One run of a peer program: its stdout read line by line as it arrives, its stderr kept
/// for failure messages. Ended (SIGTERM) when dropped while still running.
final class PeerProcess {
    /// What the pipes delivered so far.
    private struct Output: Sendable {
        var pending: [UInt8] = []
        var lines: [String] = []
        var stderr: [UInt8] = []
    }

    private let process = ChildProcess()
    private let output = Locked(Output())
    private let name: String
    /// The index of the next line ``line(timeout:where:)`` looks at.
    private var nextLine = 0

    /// Starts `script` (in `Conformance/Peers/`) with `arguments` under the venv's python.
    ///
    /// - Throws: what `ChildProcess.run()` throws.
    init(_ script: String, _ arguments: [String]) throws {
        name = ([script] + arguments).joined(separator: " ")
        process.executableURL = URL(fileURLWithPath: PeerEnvironment.python)
        process.arguments = ["-u", PeerEnvironment.path(of: script)] + arguments
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        let output = output
        stdout.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil }
            output.withLock { output in
                output.pending.append(contentsOf: data)
                while let newline = output.pending.firstIndex(of: UInt8(ascii: "\n")) {
                    output.lines.append(String(decoding: output.pending[..<newline], as: UTF8.self))
                    output.pending.removeSubrange(...newline)
                }
            }
        }
        stderr.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil }
            output.withLock { $0.stderr.append(contentsOf: data) }
        }
        try process.run()
    }

    deinit {
        if process.isRunning { process.terminate() }
    }

    /// The next stdout line (after those already returned) that parses as a JSON object
    /// satisfying `predicate`, waiting at most `timeout`.
    ///
    /// - Throws: ``PeerFailure`` when the time runs out or the program exits first.
    func line(
        timeout: Duration = .seconds(90), where predicate: ([String: Any]) -> Bool = { _ in true }
    ) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let lines = output.withLock { $0.lines }
            while nextLine < lines.count {
                defer { nextLine += 1 }
                if let object = Self.object(lines[nextLine]), predicate(object) { return object }
            }
            if !process.isRunning, output.withLock({ $0.lines.count }) == lines.count {
                // Exited, and the last read may still be in flight: give the pipe a moment.
                try await Task.sleep(for: .milliseconds(100))
                if output.withLock({ $0.lines.count }) == lines.count {
                    throw failure("exited with status \(process.terminationStatus) before printing the expected line")
                }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw failure("printed no expected line within \(timeout)")
    }

    /// Waits at most `timeout` for the program to exit and returns its status.
    ///
    /// - Throws: ``PeerFailure`` when it is still running then (it is ended).
    func exitStatus(timeout: Duration = .seconds(90)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                process.terminate()
                throw failure("did not exit within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }

    /// An error naming the program, what happened, its stdout lines and its stderr.
    func failure(_ what: String) -> PeerFailure {
        let (lines, stderr) = output.withLock { ($0.lines, String(decoding: $0.stderr, as: UTF8.self)) }
        return PeerFailure(
            description: "peer '\(name)' \(what); stdout: \(lines.joined(separator: "\n")); stderr: \(stderr)")
    }

    private static func object(_ line: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
    }
}

/// Comparisons between our events and the peers' JSON lines.
enum PeerJSON {
    /// `value` as JSON text with sorted keys, so that equal JSON values compare equal.
    static func canonical(_ value: Any) throws -> String {
        let data = try JSONSerialization.data(
            withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    /// JSON `bytes` as canonical text.
    static func canonical(bytes: [UInt8]) throws -> String {
        try canonical(JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]))
    }

    /// Every attribute of `event` as its canonical string, by name.
    static func attributes(of event: CloudEvent) -> [String: String] {
        Dictionary(uniqueKeysWithValues: event.attributes.map { ($0.name, $0.value.canonicalString) })
    }

    /// The `attributes` object of a peer's event line, every value as a string.
    static func attributes(ofLine line: [String: Any]) -> [String: String] {
        ((line["attributes"] as? [String: Any]) ?? [:]).mapValues { "\($0)" }
    }

    /// The data of `event` as canonical JSON text as the peers print it: JSON data as
    /// itself, bytes as `{"hex": ...}`; `nil` without data.
    static func data(of event: CloudEvent) throws -> String? {
        switch event.data {
        case nil: return nil
        case .binary(let bytes): return try canonical(["hex": hex(bytes)])
        case let data?: return try canonical(bytes: data.bodyBytes(contentType: event.dataContentType))
        }
    }

    /// `bytes` as lowercase hex digits.
    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}
