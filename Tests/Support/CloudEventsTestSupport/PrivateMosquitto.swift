import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A mosquitto of one test's own, with persistence in `directory`, on a free loopback port,
/// for the tests that restart the broker mid-stream (the MQTT binding's and the bridge's).
///
/// Not `Scripts/brokers restart-mqtt`: that restarts the broker every other suite of the
/// same `swift test` run is using at that moment (the MQTT binding's, `ce`'s), and would fail
/// their publishes at random. This one is stopped with SIGTERM, so it saves its sessions and
/// queued messages, and started again on the same port from the same files, which is what
/// `restart-mqtt` does to the shared one.
public final class PrivateMosquitto: Sendable {
    /// Its port on 127.0.0.1.
    public let port: Int
    /// Its configuration, persistence and log.
    public let directory: String
    private let process = Mutex<SpawnedProcess?>(nil)

    /// Writes the configuration into `directory` and starts it.
    ///
    /// - Throws: ``SpawnError`` when it does not start.
    public init(directory: String) async throws {
        self.directory = directory
        port = try LoopbackSocket.closedPortOutsideEphemeralRange()  // kept across restarts
        let user = String(cString: getpwuid(getuid())!.pointee.pw_name)
        let configuration = """
            listener \(port) 127.0.0.1
            allow_anonymous true
            persistence true
            persistence_location \(directory)/
            user \(user)
            log_dest file \(directory)/mosquitto.log

            """
        try configuration.write(toFile: "\(directory)/mosquitto.conf", atomically: true, encoding: .utf8)
        try await start()
    }

    /// Starts it and waits (up to 5 s) until the port accepts connections.
    ///
    /// - Throws: ``SpawnError`` when it did not come up.
    public func start() async throws {
        let mosquitto = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto", "/usr/local/bin/mosquitto"]
            .first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let mosquitto else { throw SpawnError(message: "no mosquitto binary (Scripts/bootstrap installs it)") }
        let started = try SpawnedProcess(mosquitto, ["-c", "\(directory)/mosquitto.conf"], outputPath: "\(directory)/stdout.log")
        process.withLock { $0 = started }
        let listening = await pollUntil(timeout: .seconds(30)) {
            TCPProbe.accepts(host: "127.0.0.1", port: port, timeoutMilliseconds: 200)
        }
        guard listening else {
            throw SpawnError(message: "the private mosquitto did not listen on 127.0.0.1:\(port): \(started.output)")
        }
    }

    /// Stops it with SIGTERM (it saves its sessions and queued messages) and waits for it.
    public func stop() async {
        let running = process.withLock { state in
            defer { state = nil }
            return state
        }
        guard let running else { return }
        running.signal(SIGTERM)
        if await running.waitForExit(timeout: .seconds(10)) == nil { running.signal(SIGKILL) }
    }

    /// ``stop()`` for a caller that cannot await (a `defer`).
    public func stopWaiting() {
        let running = process.withLock { state in
            defer { state = nil }
            return state
        }
        guard let running else { return }
        running.signal(SIGTERM)
        if running.waitForExit(blockingFor: .seconds(10)) == nil { running.signal(SIGKILL) }
    }

    /// ``stop()``, then ``start()`` on the same port with the same persistence.
    ///
    /// - Throws: what ``start()`` throws.
    public func restart() async throws {
        await stop()
        try await start()
    }
}
