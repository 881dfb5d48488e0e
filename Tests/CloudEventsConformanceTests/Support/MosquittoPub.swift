import CloudEventsTestSupport
import Foundation

/// Publishes one MQTT 5 PUBLISH with `mosquitto_pub` (Debian's mosquitto-clients, installed
/// by `Scripts/bootstrap`): an independent client, so the bytes on the wire are not our
/// writer's.
struct MosquittoPub {
    /// What one run of `mosquitto_pub` did.
    struct Outcome: Sendable {
        /// Its exit status (0: the broker acknowledged the QoS 1 publish).
        var status: Int32
        /// What it printed on standard error.
        var standardError: String
    }

    /// Why `mosquitto_pub` could not be run at all, or did not end in time.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The executable's path.
    let executable: String
    let host: String
    let port: Int

    /// `mosquitto_pub` from `PATH` (or `/usr/bin`), or `nil` when it is not installed.
    static func locate(host: String, port: Int) -> MosquittoPub? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let directories = path.split(separator: ":").map(String.init) + ["/usr/bin"]
        for directory in directories {
            let candidate = "\(directory)/mosquitto_pub"
            if FileManager.default.isExecutableFile(atPath: candidate) {
                return MosquittoPub(executable: candidate, host: host, port: port)
            }
        }
        return nil
    }

    /// The arguments of a QoS 1 MQTT 5 publish of `payload` to `topic` with a Content Type
    /// property (when given) and the User Properties in order (repeats included).
    func arguments(
        topic: String, contentType: String?, userProperties: [(name: String, value: String)], payloadFile: String?
    ) -> [String] {
        var arguments = [
            "-V", "5", "-h", host, "-p", String(port), "-q", "1", "-t", topic, "-i",
            "ce-inject-\(UInt32.random(in: 0...UInt32.max))"
        ]
        if let contentType { arguments += ["-D", "PUBLISH", "content-type", contentType] }
        for property in userProperties {
            arguments += ["-D", "PUBLISH", "user-property", property.name, property.value]
        }
        // An empty payload is a null message: `-f` on an empty file is refused by some versions.
        arguments += payloadFile.map { ["-f", $0] } ?? ["-n"]
        return arguments
    }

    /// Publishes, and returns once `mosquitto_pub` has exited (at most `timeout`; after it the
    /// process is terminated and this throws).
    ///
    /// - Throws: ``Failure`` when the process cannot start or does not end in time.
    func publish(
        topic: String, contentType: String?, userProperties: [(name: String, value: String)], payload: [UInt8],
        timeout: Duration = .seconds(30)
    ) async throws -> Outcome {
        var payloadFile: URL?
        if !payload.isEmpty {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent(
                "ce-injection-\(UInt64.random(in: 0...UInt64.max)).bin")
            try Data(payload).write(to: file)
            payloadFile = file
        }
        defer { if let payloadFile { try? FileManager.default.removeItem(at: payloadFile) } }

        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments(
            topic: topic, contentType: contentType, userProperties: userProperties, payloadFile: payloadFile?.path)
        let errorPipe = Pipe()
        process.standardError = errorPipe
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw Failure(description: "cannot run \(executable): \(error)")
        }
        let deadline = ContinuousClock.now + timeout
        // Bounded by the deadline; a publish to the loopback broker takes milliseconds.
        do {
            while process.isRunning, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
        } catch {
            process.terminate()  // cancelled: this process only, by its own handle
            process.waitUntilExit()
            throw error
        }
        if process.isRunning {
            process.terminate()  // this process only, by its own handle
            process.waitUntilExit()
            throw Failure(description: "mosquitto_pub did not end within \(timeout): terminated")
        }
        let errorText = String(decoding: errorPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return Outcome(status: process.terminationStatus, standardError: errorText)
    }
}
