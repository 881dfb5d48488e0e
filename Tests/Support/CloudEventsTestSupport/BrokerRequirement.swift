public import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What a broker-backed suite does in this run (shared by every test target with broker suites).
///
/// The rule: when `CE_TEST_BROKERS=1` (exported by `Scripts/brokers env`, so `Scripts/test`
/// and CI always have it) or `CI=true`, a missing or unreachable broker is a test failure
/// naming the broker and the variable; only when neither is set (and no broker is configured)
/// may the suites skip, and their skip line then says how to run them.
public enum BrokerRequirement: Equatable, Sendable {
    /// Every listener the suites use accepts connections.
    case run
    /// No broker configured and none required: the suites skip, saying how to run them.
    case skip
    /// Required (or configured) but missing or unreachable: every test fails with this reason.
    case fail(String)

    /// Whether `environment` requires the brokers: `CE_TEST_BROKERS=1` or `CI=true`.
    public static func isRequired(by environment: [String: String]) -> Bool {
        environment["CE_TEST_BROKERS"] == "1" || ["true", "1"].contains(environment["CI"]?.lowercased())
    }

    /// Decides for the suites that need `broker`.
    ///
    /// - Parameters:
    ///   - broker: the broker's name in messages (e.g. "the MQTT broker (mosquitto of Scripts/brokers)").
    ///   - listeners: every port variable the suites use, with what listens there; the first
    ///     one set means the broker is configured.
    ///   - hostVariable: the variable naming the host (default `127.0.0.1`).
    ///   - environment: the process environment.
    /// - Returns: ``run`` when every listener accepts connections; ``skip`` when the brokers
    ///   are neither required nor configured; ``fail(_:)`` naming each missing or unreachable
    ///   listener and its variable otherwise.
    public static func decide(
        broker: String, listeners: [(variable: String, listener: String)], hostVariable: String, in environment: [String: String]
    ) -> BrokerRequirement {
        let required = isRequired(by: environment)
        let configured = listeners.first.map { environment[$0.variable] != nil } ?? false
        guard required || configured else { return .skip }
        let why =
            environment["CE_TEST_BROKERS"] == "1"
            ? "CE_TEST_BROKERS=1"
            : required ? "CI=\(environment["CI"] ?? "")" : "\(listeners.first?.variable ?? "its port") is set"
        let host = environment[hostVariable] ?? "127.0.0.1"
        var problems: [String] = []
        for (variable, listener) in listeners {
            guard let text = environment[variable], !text.isEmpty else {
                problems.append("\(variable) is not set (the \(listener) listener)")
                continue
            }
            guard let port = Int(text), (1...65535).contains(port) else {
                problems.append("\(variable)=\(text) is not a port (the \(listener) listener)")
                continue
            }
            if !TCPProbe.accepts(host: host, port: port) {
                problems.append("nothing accepts connections at \(host):\(port) (\(variable), the \(listener) listener)")
            }
        }
        guard problems.isEmpty else {
            return .fail(
                "\(broker) is required (\(why)) but unavailable: " + problems.joined(separator: "; ")
                    + #". Start it: Scripts/brokers start && eval "$(Scripts/brokers env)""#)
        }
        return .run
    }

    /// The skip line of suites that need `broker`, saying how to run them.
    public static func skipComment(broker: String, variable: String) -> Comment {
        Comment(
            rawValue: "no \(broker) configured (\(variable) unset; neither CE_TEST_BROKERS=1 nor CI=true). "
                + #"Run these: Scripts/brokers start && eval "$(Scripts/brokers env)" && swift test"#)
    }

    /// A suite condition that asks `requirement` when the suite is about to run: enabled for
    /// ``run``, skipped with `skipComment` for ``skip``, and throwing ``BrokerUnavailable``
    /// (recorded as a failure of every test) for ``fail(_:)``.
    public static func gate(skipComment: Comment, _ requirement: @escaping @Sendable () -> BrokerRequirement) -> ConditionTrait {
        .enabled(skipComment) { try requirement().check() }
    }

    /// The answer of a suite's condition: `true` to run, `false` to skip.
    ///
    /// - Throws: ``BrokerUnavailable`` for ``fail(_:)``: Swift Testing records an error
    ///   thrown by a condition trait as an issue on every test of the suite (a failure, not a skip).
    public func check() throws(BrokerUnavailable) -> Bool {
        switch self {
        case .run: return true
        case .skip: return false
        case .fail(let reason): throw BrokerUnavailable(description: reason)
        }
    }
}

/// The brokers are required but missing or unreachable (names the broker and the variable).
public struct BrokerUnavailable: Error, CustomStringConvertible, Equatable {
    /// What is missing, and how to start it.
    public var description: String

    /// An error saying `description`.
    public init(description: String) { self.description = description }
}

/// Whether something accepts TCP connections on loopback.
public enum TCPProbe {
    /// Connects to `host:port` (IPv4 or IPv6, as the name resolves) and closes again at once;
    /// waits at most `timeoutMilliseconds` per address.
    public static func accepts(host: String, port: Int, timeoutMilliseconds: Int32 = 2_000) -> Bool {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
            hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else { return false }
        defer { freeaddrinfo(first) }
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let address = next {
            if connects(address.pointee, timeoutMilliseconds: timeoutMilliseconds) { return true }
            next = address.pointee.ai_next
        }
        return false
    }

    private static func connects(_ address: addrinfo, timeoutMilliseconds: Int32) -> Bool {
        let fd = socket(address.ai_family, address.ai_socktype, address.ai_protocol)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        if connect(fd, address.ai_addr, address.ai_addrlen) == 0 { return true }
        guard errno == EINPROGRESS else { return false }
        var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&descriptor, 1, timeoutMilliseconds) == 1 else { return false }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0
    }
}

/// Loopback sockets for the tests of the requirement (a closed port, a listening one).
public enum LoopbackSocket {
    public struct Failed: Error, CustomStringConvertible {
        public var description: String
    }

    /// A socket bound to a free loopback port, listening when asked.
    public static func bound(listen shouldListen: Bool) throws -> (fd: Int32, port: Int) {
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw Failed(description: "socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound, !shouldListen || listen(fd, 8) == 0 else {
            close(fd)
            throw Failed(description: "bind/listen on 127.0.0.1: errno \(errno)")
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// A loopback port nothing listens on (bound, then closed again).
    public static func closedPort() throws -> Int {
        let socket = try bound(listen: false)
        close(socket.fd)
        return socket.port
    }

    /// A free loopback port below the kernel's ephemeral range, for a server a test starts
    /// (and may restart) on a port chosen in advance: the kernel hands ephemeral ports to
    /// every socket bound to port 0 and every outgoing connection, so in a parallel test run
    /// a port from ``closedPort()`` can be taken before the server binds it (a private
    /// RabbitMQ failed to boot that way, its distribution port already used).
    public static func closedPortOutsideEphemeralRange() throws -> Int {
        let ephemeralStart = ephemeralRangeStart()
        guard ephemeralStart > 10_000 else { return try closedPort() }
        for _ in 0..<500 {
            let port = Int.random(in: 10_000..<ephemeralStart)
            if canBind(port: port) { return port }
        }
        return try closedPort()
    }

    /// The first port of `net.ipv4.ip_local_port_range` (32768 when it cannot be read).
    private static func ephemeralRangeStart() -> Int {
        let fd = open("/proc/sys/net/ipv4/ip_local_port_range", O_RDONLY)
        guard fd >= 0 else { return 32_768 }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 64)
        let count = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return 32_768 }
        let digits = bytes[..<count].prefix { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        return Int(String(decoding: digits, as: UTF8.self)) ?? 32_768
    }

    /// Whether 127.0.0.1:`port` can be bound now.
    private static func canBind(port: Int) -> Bool {
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
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// A socket listening on a free loopback port (the caller closes `fd`).
    public static func listening() throws -> (fd: Int32, port: Int) { try bound(listen: true) }
}

extension BrokerRequirement {
    /// What suites that use the mosquitto of `Scripts/brokers` through `listeners` (each
    /// port's variable and what it is) do given `environment`.
    public static func mqtt(
        listeners: [(variable: String, listener: String)], in environment: [String: String]
    ) -> BrokerRequirement {
        decide(
            broker: "the MQTT broker (mosquitto of Scripts/brokers)", listeners: listeners,
            hostVariable: "CE_TEST_MQTT_HOST", in: environment)
    }

    /// What the skip line of a suite that needs the mosquitto of `Scripts/brokers` says.
    public static let mqttSkipComment = skipComment(broker: "MQTT broker", variable: "CE_TEST_MQTT_PORT")
}
