public import CloudEvents

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How an ``MQTTClient`` connects, and how it behaves when the connection drops.
///
/// The defaults suit a service that must not lose events: MQTT 5, a persistent session
/// (clean start off, kept for an hour after a disconnect), a stable client id, reconnection
/// with exponential backoff, and TLS verification on whenever TLS is used.
public struct MQTTClientConfiguration: Sendable {
    /// The broker's host name or address.
    public var host: String
    /// The broker's port; `nil` means 1883, or 8883 with TLS.
    public var port: Int?
    public var protocolVersion: MQTTProtocolVersion
    /// The client identifier. The default is stable for a program on a host, so that a
    /// restarted process resumes its persistent session; give each concurrently running
    /// instance its own (the broker disconnects the older of two clients with one id).
    public var clientID: String
    /// Whether the broker discards any previous session (MQTT 5 Clean Start, MQTT 3.1.1
    /// Clean Session). Off by default: subscriptions and QoS 1/2 messages survive a reconnect.
    public var cleanStart: Bool
    /// How long the broker keeps the session after a disconnect (MQTT 5 Session Expiry
    /// Interval; MQTT 3.1.1 has none and keeps a non-clean session until it is replaced).
    public var sessionExpiry: Duration
    /// The keepalive interval (at least 5 s, libmosquitto's minimum).
    public var keepAlive: Duration
    public var username: String?
    public var password: String?
    /// TLS settings; `nil` for a plain TCP connection.
    public var tls: TLSSettings?
    /// The message the broker publishes if this client goes away without disconnecting.
    public var will: MQTTMessage?
    /// Reconnection after a lost connection.
    public var reconnect: MQTTReconnectPolicy
    /// Messages held per subscription for a slow consumer before the client stops reading
    /// from the socket (see ``MQTTClient`` on back-pressure).
    public var receiveBufferCapacity: Int
    /// The MQTT 5 Receive Maximum: QoS 1/2 messages the broker may have in flight to this
    /// client. The protocol's default, 65535, is this client's too: mosquitto 2.0.11 can
    /// exceed a small one for QoS 2 bursts, and libmosquitto then drops the connection with a
    /// protocol error (messages already acknowledged are kept; a clean session loses the
    /// rest). Flow control is the socket's: see ``MQTTClient`` on back-pressure.
    public var receiveMaximum: Int
    /// How long ``MQTTClient/connect(configuration:)``, a subscribe, or a publish waits for
    /// the broker before failing with ``TransportError/Code/timedOut``.
    public var operationTimeout: Duration

    public init(
        host: String = "localhost", port: Int? = nil, protocolVersion: MQTTProtocolVersion = .v5,
        clientID: String = MQTTClientConfiguration.defaultClientID(), cleanStart: Bool = false,
        sessionExpiry: Duration = .seconds(3600), keepAlive: Duration = .seconds(30),
        username: String? = nil, password: String? = nil, tls: TLSSettings? = nil, will: MQTTMessage? = nil,
        reconnect: MQTTReconnectPolicy = MQTTReconnectPolicy(), receiveBufferCapacity: Int = 256,
        receiveMaximum: Int = 65535, operationTimeout: Duration = .seconds(30)
    ) {
        self.host = host
        self.port = port
        self.protocolVersion = protocolVersion
        self.clientID = clientID
        self.cleanStart = cleanStart
        self.sessionExpiry = sessionExpiry
        self.keepAlive = keepAlive
        self.username = username
        self.password = password
        self.tls = tls
        self.will = will
        self.reconnect = reconnect
        self.receiveBufferCapacity = receiveBufferCapacity
        self.receiveMaximum = receiveMaximum
        self.operationTimeout = operationTimeout
    }

    /// The port connected to.
    public var effectivePort: Int { port ?? (tls == nil ? 1883 : 8883) }

    /// `ce-<host name>-<program name>`, at most 23 characters of `[0-9A-Za-z-]` (the
    /// length and alphabet every MQTT 3.1.1 server must accept).
    public static func defaultClientID() -> String {
        var hostBuffer = [CChar](repeating: 0, count: 256)
        let hostName =
            gethostname(&hostBuffer, hostBuffer.count) == 0
            ? String(decoding: hostBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "host"
        let program = CommandLine.arguments.first.map { $0.split(separator: "/").last.map(String.init) ?? $0 } ?? "swift"
        let allowed = "ce-\(hostName)-\(program)".unicodeScalars.filter {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-"
        }
        return String(String.UnicodeScalarView(allowed.prefix(23)))
    }
}

/// When and how often a client reconnects after losing its connection: exponential
/// backoff from ``initialDelay`` up to ``maximumDelay``, with up to ``jitter`` of each delay
/// added at random so that many clients do not reconnect in step. It never gives up while
/// the client is open; publishes waiting meanwhile fail after the operation timeout.
public struct MQTTReconnectPolicy: Sendable, Hashable {
    public var initialDelay: Duration
    public var maximumDelay: Duration
    public var multiplier: Double
    /// A fraction (0…1) of each delay added at random.
    public var jitter: Double

    public init(
        initialDelay: Duration = .milliseconds(100), maximumDelay: Duration = .seconds(30), multiplier: Double = 2,
        jitter: Double = 0.2
    ) {
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
        self.multiplier = multiplier
        self.jitter = jitter
    }

    /// The delay before reconnection attempt `attempt` (0-based).
    public func delay(attempt: Int) -> Duration {
        let base = Double(initialDelay.components.seconds) + Double(initialDelay.components.attoseconds) / 1e18
        let cap = Double(maximumDelay.components.seconds) + Double(maximumDelay.components.attoseconds) / 1e18
        let raw = min(cap, base * pow(multiplier, Double(min(attempt, 60))))
        return .seconds(raw * (1 + Double.random(in: 0...max(0, jitter))))
    }
}
