import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A nats-server of one test's own on a free loopback port, for the tests that restart the
/// server mid-stream or need a configuration the shared one does not have (a small
/// `max_payload`, a token, TLS).
///
/// Not the nats-server of `Scripts/brokers`: restarting that one would fail the publishes of
/// every other suite of the same `swift test` run. This one is stopped with SIGTERM and can be
/// started again on the same port with the same configuration (``restart()``).
public final class PrivateNATSServer: Sendable {
    /// Its port on 127.0.0.1.
    public let port: Int
    /// Its configuration file and logs.
    public let directory: String
    private let process = Mutex<SpawnedProcess?>(nil)

    /// Writes a configuration into `directory` and starts the server.
    ///
    /// - Parameters:
    ///   - directory: an existing directory for the configuration and the log.
    ///   - configuration: extra lines of nats-server configuration, e.g. `max_payload: 1024`,
    ///     `authorization { token: "s3cret" }` or a `tls { … }` block (see ``tlsBlock(certificate:key:)``).
    /// - Throws: ``SpawnError`` when it does not come up.
    public init(directory: String, configuration: String = "") async throws {
        self.directory = directory
        port = try LoopbackSocket.closedPortOutsideEphemeralRange()  // kept across restarts
        let text = """
            listen: "127.0.0.1:\(port)"
            \(configuration)

            """
        try text.write(toFile: "\(directory)/nats-server.conf", atomically: true, encoding: .utf8)
        try await start()
    }

    /// A `tls { … }` block presenting `certificate` with `key` (PEM files), e.g. the test CA's
    /// server certificate of `Scripts/brokers` (`CE_TEST_TLS_CA_FILE`'s directory).
    public static func tlsBlock(certificate: String, key: String) -> String {
        """
        tls {
          cert_file: "\(certificate)"
          key_file: "\(key)"
          timeout: 5
        }
        """
    }

    /// The nats-server binary, or `nil` when none is installed.
    public static var binary: String? {
        ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"]
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Starts it and waits (up to 30 s) until it answers a connection with its `INFO` line.
    ///
    /// - Throws: ``SpawnError`` when it did not come up.
    public func start() async throws {
        guard let binary = Self.binary else { throw SpawnError(message: "no nats-server binary (Scripts/bootstrap installs it)") }
        let started = try SpawnedProcess(
            binary, ["-c", "\(directory)/nats-server.conf"], outputPath: "\(directory)/nats-server.log")
        process.withLock { $0 = started }
        let ready = await pollUntil(timeout: .seconds(30)) {
            started.isRunning && Self.sendsInfo(port: port)
        }
        guard ready else {
            await stop()
            throw SpawnError(message: "the private nats-server did not answer on 127.0.0.1:\(port): \(started.output)")
        }
    }

    /// Stops it with SIGTERM (SIGKILL after 10 s) and waits for it to exit.
    public func stop() async {
        guard let running = take() else { return }
        running.signal(SIGTERM)
        if await running.waitForExit(timeout: .seconds(10)) == nil {
            running.signal(SIGKILL)
            _ = await running.waitForExit(timeout: .seconds(10))
        }
    }

    /// ``stop()`` for a caller that cannot await (a `defer`).
    public func stopWaiting() {
        guard let running = take() else { return }
        running.signal(SIGTERM)
        if running.waitForExit(blockingFor: .seconds(10)) == nil {
            running.signal(SIGKILL)
            _ = running.waitForExit(blockingFor: .seconds(10))
        }
    }

    /// ``stop()``, then ``start()`` on the same port with the same configuration.
    ///
    /// - Throws: what ``start()`` throws.
    public func restart() async throws {
        await stop()
        try await start()
    }

    /// The running server process (`nil` when stopped), for tests that signal it themselves
    /// (SIGSTOP: a server that holds connections without answering).
    public var runningProcess: SpawnedProcess? { process.withLock { $0 } }

    /// Everything the server logged so far.
    public var log: String { (try? String(contentsOfFile: "\(directory)/nats-server.log", encoding: .utf8)) ?? "" }

    private func take() -> SpawnedProcess? {
        process.withLock { state in
            defer { state = nil }
            return state
        }
    }

    /// Whether 127.0.0.1:`port` accepts a connection and sends `INFO ` within 500 ms (a port
    /// that accepts is not enough: the listener comes up before the server is ready).
    static func sendsInfo(port: Int) -> Bool {
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 0, tv_usec: 500_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else { return false }
        var bytes = [UInt8](repeating: 0, count: 5)
        let count = bytes.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 5, Int32(MSG_WAITALL)) }
        return count == 5 && bytes == Array("INFO ".utf8)
    }
}
