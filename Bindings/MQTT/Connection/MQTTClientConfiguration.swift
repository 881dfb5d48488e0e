public import CloudEvents
public import Logging

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
    /// MQTT 5 (the default) or 3.1.1.
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
    /// The user name, if the broker asks for one.
    public var username: String?
    /// The password. Never logged: endpoints print it masked.
    public var password: String?
    /// TLS settings; `nil` for a plain TCP connection.
    public var tls: TLSSettings?
    /// The message the broker publishes if this client goes away without disconnecting.
    public var will: MQTTMessage?
    /// The delays between reconnection attempts after a lost connection (exponential from
    /// 100 ms up to 30 s, ±20 % jitter, by default). The client never gives up while it is
    /// open; publishes waiting meanwhile fail after the operation timeout.
    public var reconnect: Backoff
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
    /// Where the client logs connects (`.info`), lost connections and scheduled reconnects
    /// (`.warning`), reconnects (`.notice`), refusals (`.warning`) and drops (`.error`), with
    /// `snake_case` metadata (`endpoint`, `client_id`, `topic`, `reason`, `attempt`,
    /// `delay_ms`). Never the password. A no-op logger by default.
    public var logger: Logger

    /// A configuration; every parameter has the default its property describes.
    ///
    /// - Parameters:
    ///   - host: the broker's host name or address.
    ///   - port: the broker's port; `nil` for 1883, or 8883 with TLS.
    ///   - protocolVersion: MQTT 5 or 3.1.1.
    ///   - clientID: the client identifier.
    ///   - cleanStart: whether the broker discards any previous session.
    ///   - sessionExpiry: how long the broker keeps the session after a disconnect (MQTT 5).
    ///   - keepAlive: the keepalive interval, at least 5 s.
    ///   - username: the user name, if the broker asks for one.
    ///   - password: the password (never logged).
    ///   - tls: TLS settings; `nil` for plain TCP.
    ///   - will: the will message.
    ///   - reconnect: the backoff between reconnection attempts.
    ///   - receiveBufferCapacity: deliveries buffered per subscription.
    ///   - receiveMaximum: the MQTT 5 Receive Maximum.
    ///   - operationTimeout: how long connect, subscribe and publish wait for the broker.
    ///   - logger: where the client logs.
    public init(
        host: String = "localhost", port: Int? = nil, protocolVersion: MQTTProtocolVersion = .v5,
        clientID: String = MQTTClientConfiguration.defaultClientID(), cleanStart: Bool = false,
        sessionExpiry: Duration = .seconds(3600), keepAlive: Duration = .seconds(30),
        username: String? = nil, password: String? = nil, tls: TLSSettings? = nil, will: MQTTMessage? = nil,
        reconnect: Backoff = .exponential(initial: .milliseconds(100), maximum: .seconds(30), jitter: 0.2),
        receiveBufferCapacity: Int = 256, receiveMaximum: Int = 65535, operationTimeout: Duration = .seconds(30),
        logger: Logger = Logger(label: "cloudevents.mqtt", factory: { _ in SwiftLogNoOpLogHandler() })
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
        self.logger = logger
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
