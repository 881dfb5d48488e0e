import Foundation
import Synchronization
public import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A RabbitMQ node of one test's own, with the AMQP 1.0 plugin, on free loopback ports, for
/// the tests that stop or restart the broker mid-stream (the AMQP binding's and the bridge's).
///
/// Not the RabbitMQ of `Scripts/brokers`: every other AMQP suite of the same `swift test` run
/// uses that one at the same moment. This node has its own name (`ce-private-<port>@localhost`),
/// its own distribution port and its own `epmd` on its own port (started first, as
/// `Scripts/brokers` does, so that `erl` never starts a daemonised one nobody tracks), and its
/// database, logs and Erlang cookie under ``directory``. ``restart()`` stops it and starts it
/// again on the same ports from the same database, so durable queues and their persistent
/// messages survive, as they would for a real broker restart. ``shutdown()`` (and `deinit`)
/// stop the node and its `epmd`.
///
/// The user `guest`/`guest` is allowed over loopback (RabbitMQ's default).
public final class PrivateRabbitMQ: Sendable {
    /// The AMQP port on 127.0.0.1.
    public let port: Int
    /// The Erlang distribution port of the node.
    public let distributionPort: Int
    /// The port of the node's own `epmd`.
    public let epmdPort: Int
    /// Its configuration, database (`mnesia/`) and logs (`log/`, `startup.log`).
    public let directory: String
    /// The node name, `ce-private-<port>@localhost`.
    public let nodeName: String

    /// The `rabbitmq-server` script (a shell that runs `erl` as its child and stops it on
    /// SIGTERM) while the node runs.
    private let server = Mutex<SpawnedProcess?>(nil)
    /// The node's `epmd`, for the object's whole life.
    private let epmd = Mutex<SpawnedProcess?>(nil)

    /// The `rabbitmq-server` script of the Debian package, if installed.
    public static var serverScript: String? {
        ["/usr/lib/rabbitmq/bin/rabbitmq-server", "/usr/sbin/rabbitmq-server", "/usr/local/sbin/rabbitmq-server"]
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The `epmd` binary, if installed.
    public static var epmdBinary: String? {
        ["/usr/bin/epmd", "/usr/lib/erlang/bin/epmd", "/usr/local/bin/epmd"]
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Whether this machine can run a private node (`rabbitmq-server` and `epmd` installed).
    public static var isAvailable: Bool { serverScript != nil && epmdBinary != nil }

    /// Writes the configuration into `directory`, starts `epmd` and the node, and waits for
    /// the AMQP 1.0 listener (up to `timeout`).
    ///
    /// - Parameters:
    ///   - directory: an empty directory of the test's own (a temporary one).
    ///   - timeout: how long the node may take to boot (90 s by default: it boots in 5-10 s
    ///     on an idle machine, far slower beside a parallel build).
    /// - Throws: ``SpawnError`` when `rabbitmq-server` or `epmd` is missing or does not start.
    public init(directory: String, timeout: Duration = .seconds(90)) async throws {
        self.directory = directory
        // Chosen in advance and kept across restarts: outside the ephemeral range, where the
        // kernel cannot hand them to another test's socket meanwhile.
        port = try LoopbackSocket.closedPortOutsideEphemeralRange()
        var distribution = try LoopbackSocket.closedPortOutsideEphemeralRange()
        while distribution == port { distribution = try LoopbackSocket.closedPortOutsideEphemeralRange() }
        var epmd = try LoopbackSocket.closedPortOutsideEphemeralRange()
        while epmd == port || epmd == distribution { epmd = try LoopbackSocket.closedPortOutsideEphemeralRange() }
        distributionPort = distribution
        epmdPort = epmd
        nodeName = "ce-private-\(port)@localhost"
        try writeConfiguration()
        try await startEPMD()
        do {
            try await start(timeout: timeout)
        } catch {
            shutdownWaiting()
            throw error
        }
    }

    deinit {
        shutdownWaiting()
    }

    /// Starts a node in a new temporary directory, runs `body` with it, then shuts it down and
    /// removes the directory, whether `body` returns or throws.
    ///
    /// - Throws: what ``init(directory:timeout:)`` and `body` throw.
    public static func withBroker<Result>(
        timeout: Duration = .seconds(90), _ body: (PrivateRabbitMQ) async throws -> Result
    ) async throws -> Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ce-rabbitmq-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let broker = try await bootWithRetry(in: directory, timeout: timeout)
        do {
            let result = try await body(broker)
            await broker.shutdown()
            return result
        } catch {
            await broker.shutdown()
            throw error
        }
    }

    /// Boots a node in `directory`, and once more on fresh ports (in a fresh directory) if the
    /// first one does not come up: in a loaded parallel run a node has failed to boot once, its
    /// cause lost with its output. The second failure is the test's.
    private static func bootWithRetry(in directory: String, timeout: Duration) async throws -> PrivateRabbitMQ {
        let firstTry = directory + "/first"
        try FileManager.default.createDirectory(atPath: firstTry, withIntermediateDirectories: true)
        do {
            return try await PrivateRabbitMQ(directory: firstTry, timeout: timeout)
        } catch {
            print("PrivateRabbitMQ: the first node did not come up, booting another on fresh ports: \(error)")
            let secondTry = directory + "/second"
            try FileManager.default.createDirectory(atPath: secondTry, withIntermediateDirectories: true)
            return try await PrivateRabbitMQ(directory: secondTry, timeout: timeout)
        }
    }

    /// Starts the node and waits (up to `timeout`) until its AMQP 1.0 listener answers the
    /// protocol header.
    ///
    /// - Throws: ``SpawnError`` when it did not come up (with the end of its logs).
    public func start(timeout: Duration = .seconds(90)) async throws {
        guard let script = Self.serverScript else {
            throw SpawnError(message: "no rabbitmq-server (Scripts/bootstrap installs the rabbitmq-server package)")
        }
        let started = try SpawnedProcess(
            script, [], outputPath: "\(directory)/startup.log", environment: environment())
        server.withLock { $0 = started }
        let ready = await pollUntil(timeout: timeout) {
            !started.isRunning || AMQPProtocolHeader.answers(port: port)
        }
        guard ready, started.isRunning else {
            await stop()
            throw SpawnError(
                message: "the private RabbitMQ did not open 127.0.0.1:\(port) within \(timeout): \(started.output.suffix(2_000)) "
                    + logTail())
        }
    }

    /// Stops the node and waits for it (up to 30 s, then kills it).
    ///
    /// - Parameter graceful: `true` (the default) for SIGTERM, which closes every connection
    ///   with a close frame and syncs the queues; `false` for SIGKILL of the Erlang VM, a
    ///   crash: connections just break.
    public func stop(graceful: Bool = true) async {
        guard let running = takeServer() else { return }
        let beam = beamPID()
        if graceful {
            running.signal(SIGTERM)
            if await running.waitForExit(timeout: .seconds(30)) == nil { running.signal(SIGKILL) }
        } else {
            if let beam { kill(beam, SIGKILL) }
            running.signal(SIGKILL)
        }
        _ = await running.waitForExit(timeout: .seconds(10))
        // A VM that had not started when the pid was looked for is found now.
        await reap(beam: beam ?? beamPID())
    }

    /// ``stop(graceful:)``, then ``start(timeout:)`` on the same ports with the same database.
    ///
    /// - Throws: what ``start(timeout:)`` throws.
    public func restart(graceful: Bool = true, timeout: Duration = .seconds(90)) async throws {
        await stop(graceful: graceful)
        try await start(timeout: timeout)
    }

    /// Stops the node and its `epmd`; the object is of no further use.
    public func shutdown() async {
        await stop()
        guard
            let epmd = epmd.withLock({ state in
                defer { state = nil }
                return state
            })
        else { return }
        epmd.signal(SIGTERM)
        if await epmd.waitForExit(timeout: .seconds(5)) == nil { epmd.signal(SIGKILL) }
    }

    /// ``shutdown()`` for a caller that cannot await (a `defer`, `deinit`).
    public func shutdownWaiting() {
        if let running = takeServer() {
            let beam = beamPID()
            running.signal(SIGTERM)
            if running.waitForExit(blockingFor: .seconds(30)) == nil { running.signal(SIGKILL) }
            if let beam = beam ?? beamPID(), isAlive(beam) {
                kill(beam, SIGKILL)
            }
        }
        if let epmd = epmd.withLock({ state in
            defer { state = nil }
            return state
        }) {
            epmd.signal(SIGTERM)
            if epmd.waitForExit(blockingFor: .seconds(5)) == nil { epmd.signal(SIGKILL) }
        }
    }

    /// The end of the node's log, for a failure message.
    public func logTail(_ characters: Int = 2_000) -> String {
        let log = (try? String(contentsOfFile: "\(directory)/log/rabbit.log", encoding: .utf8)) ?? "(no log)"
        return "rabbit.log: " + log.suffix(characters)
    }

    // MARK: - Private

    private func takeServer() -> SpawnedProcess? {
        server.withLock { state in
            defer { state = nil }
            return state
        }
    }

    /// The Erlang VM's pid: the script's child, which a SIGKILL of the script would leave
    /// running. Found in `/proc` by its `-home <directory>/home` argument rather than from
    /// `rabbit.pid`, which RabbitMQ writes only once it booted (a stop during boot must find
    /// it too).
    private func beamPID() -> pid_t? {
        let marker = Array("\0-home\0\(directory)/home\0".utf8)
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        for entry in entries {
            guard let pid = pid_t(entry), pid > 0,
                let command = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
            else { continue }
            let bytes = [UInt8](command)
            if bytes.count > marker.count, String(decoding: bytes.prefix(200), as: UTF8.self).contains("beam"),
                bytes.indices.dropLast(marker.count - 1).contains(where: { bytes[$0..<$0 + marker.count].elementsEqual(marker) })
            {
                return pid
            }
        }
        return nil
    }

    private func isAlive(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
        // The state is the field after the command's closing parenthesis; a zombie is gone.
        guard let close = stat.lastIndex(of: ")") else { return false }
        return !stat[close...].dropFirst().trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    /// Waits (up to 10 s) for the VM to be gone, so the next start can take the same ports.
    private func reap(beam: pid_t?) async {
        guard let beam else { return }
        if await pollUntil(timeout: .seconds(10), { !isAlive(beam) }) { return }
        kill(beam, SIGKILL)
        _ = await pollUntil(timeout: .seconds(5)) { !isAlive(beam) }
    }

    private func startEPMD() async throws {
        guard let binary = Self.epmdBinary else { throw SpawnError(message: "no epmd (it comes with erlang-base)") }
        let started = try SpawnedProcess(
            binary, ["-port", "\(epmdPort)", "-address", "127.0.0.1"], outputPath: "\(directory)/epmd.log")
        epmd.withLock { $0 = started }
        guard
            await pollUntil(
                timeout: .seconds(20), { TCPProbe.accepts(host: "127.0.0.1", port: epmdPort, timeoutMilliseconds: 200) })
        else {
            throw SpawnError(message: "the private epmd did not listen on 127.0.0.1:\(epmdPort): \(started.output)")
        }
    }

    private func writeConfiguration() throws {
        for subdirectory in ["home", "mnesia", "log"] {
            try FileManager.default.createDirectory(atPath: "\(directory)/\(subdirectory)", withIntermediateDirectories: true)
        }
        // Only the AMQP 1.0 plugin: no management, no prometheus.
        try "[rabbitmq_amqp1_0].\n".write(toFile: "\(directory)/enabled_plugins", atomically: true, encoding: .utf8)
        // Shadows /etc/rabbitmq/rabbitmq-env.conf.
        try "".write(toFile: "\(directory)/rabbitmq-env.conf", atomically: true, encoding: .utf8)
        let configuration = """
            listeners.tcp.1 = 127.0.0.1:\(port)
            loopback_users.guest = true
            disk_free_limit.absolute = 1MB
            log.console = false
            log.file.level = info

            """
        try configuration.write(toFile: "\(directory)/rabbitmq.conf", atomically: true, encoding: .utf8)
    }

    /// The environment of the node: the test process's (PATH and the like) with every RabbitMQ
    /// and Erlang setting pointing into ``directory`` and at this node's ports.
    private func environment() -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("RABBITMQ_") && !$0.key.hasPrefix("ERL_")
        }
        let erlArguments = "-kernel inet_dist_use_interface {127,0,0,1}"
        let settings: [String: String] = [
            "HOME": "\(directory)/home",
            "RABBITMQ_CONF_ENV_FILE": "\(directory)/rabbitmq-env.conf",
            "RABBITMQ_NODENAME": nodeName,
            "RABBITMQ_USE_LONGNAME": "false",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": "\(port)",
            "RABBITMQ_DIST_PORT": "\(distributionPort)",
            "ERL_EPMD_PORT": "\(epmdPort)",
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_CONFIG_FILE": "\(directory)/rabbitmq.conf",
            "RABBITMQ_ADVANCED_CONFIG_FILE": "\(directory)/advanced.config",
            "RABBITMQ_ENABLED_PLUGINS_FILE": "\(directory)/enabled_plugins",
            "RABBITMQ_MNESIA_BASE": "\(directory)/mnesia",
            "RABBITMQ_LOG_BASE": "\(directory)/log",
            "RABBITMQ_LOGS": "\(directory)/log/rabbit.log",
            "RABBITMQ_PID_FILE": "\(directory)/rabbit.pid",
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": erlArguments,
            "RABBITMQ_CTL_ERL_ARGS": erlArguments,
            "ERL_CRASH_DUMP": "\(directory)/erl_crash.dump"
        ]
        environment.merge(settings) { _, new in new }
        return environment
    }
}

/// What suites that start a ``PrivateRabbitMQ`` do: run where `rabbitmq-server` and `epmd` are
/// installed; fail without them when the brokers are required (`CE_TEST_BROKERS=1`, `CI=true`);
/// skip, saying why, otherwise.
public enum PrivateRabbitMQRequirement {
    /// Decides for `environment`.
    public static func decide(in environment: [String: String]) -> BrokerRequirement {
        if PrivateRabbitMQ.isAvailable { return .run }
        guard BrokerRequirement.isRequired(by: environment) else { return .skip }
        return .fail("a private RabbitMQ is required (CE_TEST_BROKERS=1 or CI=true) but rabbitmq-server or epmd is not installed")
    }

    /// The skip line.
    public static let skipComment: Comment = "rabbitmq-server is not installed (Scripts/bootstrap installs it)"
}

/// Whether an AMQP 1.0 listener is ready: RabbitMQ echoes the SASL protocol header only once
/// its AMQP 1.0 plugin serves the port (the port may accept TCP earlier).
public enum AMQPProtocolHeader {
    /// Connects to 127.0.0.1:`port`, sends the AMQP 1.0 SASL protocol header and waits up to
    /// `timeoutMilliseconds` for the same header back.
    public static func answers(port: Int, timeoutMilliseconds: Int32 = 1_000) -> Bool {
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { return false }
        defer { close(fd) }
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
        var timeout = timeval(tv_sec: Int(timeoutMilliseconds / 1_000), tv_usec: Int(timeoutMilliseconds % 1_000) * 1_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let header: [UInt8] = [0x41, 0x4D, 0x51, 0x50, 3, 1, 0, 0]  // "AMQP" 3 1 0 0: SASL
        guard header.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == header.count else { return false }
        var answer = [UInt8](repeating: 0, count: 8)
        var received = 0
        while received < answer.count {
            let count = answer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + received, $0.count - received, 0) }
            guard count > 0 else { return false }
            received += count
        }
        return answer == header
    }
}
