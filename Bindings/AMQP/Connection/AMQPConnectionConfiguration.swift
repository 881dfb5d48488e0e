public import CloudEvents
public import Logging

/// How an ``AMQPConnection`` authenticates with SASL.
public enum AMQPSASL: Sendable, Hashable {
    /// No SASL layer: the AMQP header straight away (peers that do not ask for SASL).
    case none
    /// SASL ANONYMOUS (RabbitMQ maps it to its `amqp1_0.default_user`, `guest` by default).
    case anonymous
    /// SASL PLAIN with a user name and password (allowed over plain TCP too: use TLS when
    /// the network is not trusted).
    case plain(username: String, password: String)
}

/// How an ``AMQPConnection`` connects, and how it behaves when the connection drops.
///
/// The defaults suit a service that must not lose events: SASL ANONYMOUS (PLAIN once a
/// user name is given), a 60 s idle timeout (heartbeats at half of it), reconnection with
/// exponential backoff and the links attached again, and a 30 s bound on every wait.
public struct AMQPConnectionConfiguration: Sendable {
    /// The peer's host name or address.
    public var host: String
    /// The peer's port; `nil` means 5672, or 5671 with TLS.
    public var port: Int?
    /// TLS (`amqps://`); `nil` for plain TCP. The peer's certificate and host name are
    /// verified unless ``TLSSettings/verifiesPeer`` is off.
    public var tls: TLSSettings?
    /// The SASL mechanism.
    public var sasl: AMQPSASL
    /// The container id in the open frame (unique per connection by default).
    public var containerID: String
    /// The `hostname` of the open frame; `nil` sends ``host``. RabbitMQ's AMQP 1.0 plugin
    /// reads `vhost:<name>` as the virtual host and uses its default one for anything else.
    public var virtualHost: String?
    /// Whether links attach with durable termini (durability `configuration`), `true` by
    /// default. RabbitMQ then declares the queue of a `/queue/NAME` address durable, so that
    /// the queue and its durable messages survive a broker restart; with non-durable
    /// termini it declares a transient queue, which a restart deletes with everything in it.
    /// A queue that already exists as transient refuses such a link (RabbitMQ:
    /// `inequivalent arg 'durable'`): attach to it with `false`.
    public var durableTermini: Bool
    /// The idle timeout announced to the peer; heartbeats go out at half the peer's.
    public var idleTimeout: Duration
    /// The delays between reconnection attempts after a lost connection (exponential from
    /// 100 ms to 30 s, ±20 % jitter, by default). The connection never gives up while it
    /// is open; sends waiting meanwhile fail after ``operationTimeout``.
    public var reconnect: Backoff
    /// How long connecting, attaching a link, or a send (credit and outcome) waits before
    /// failing with ``TransportError/Code/timedOut``.
    public var operationTimeout: Duration
    /// Where the connection logs connects (`.info`), losses and scheduled reconnects
    /// (`.warning`), reconnects (`.notice`) and links the peer detached (`.error`).
    public var logger: Logger

    /// A configuration for `host`.
    ///
    /// - Parameters:
    ///   - host: the peer's host name or address.
    ///   - port: the port; `nil` for 5672 (5671 with TLS).
    ///   - tls: TLS settings, or `nil` for plain TCP.
    ///   - sasl: the SASL mechanism; `nil` for PLAIN when `username` is given, else ANONYMOUS.
    ///   - username: the SASL PLAIN user name.
    ///   - password: the SASL PLAIN password.
    ///   - containerID: the container id; `nil` for a random `ce-…` one.
    ///   - virtualHost: the open frame's hostname; `nil` for `host`.
    ///   - durableTermini: whether links attach with durable termini.
    ///   - idleTimeout: the idle timeout announced to the peer.
    ///   - reconnect: the delays between reconnection attempts.
    ///   - operationTimeout: the bound on every wait.
    ///   - logger: where the connection logs.
    public init(
        host: String, port: Int? = nil, tls: TLSSettings? = nil, sasl: AMQPSASL? = nil, username: String? = nil,
        password: String? = nil, containerID: String? = nil, virtualHost: String? = nil, durableTermini: Bool = true,
        idleTimeout: Duration = .seconds(60),
        reconnect: Backoff = .exponential(initial: .milliseconds(100), maximum: .seconds(30)),
        operationTimeout: Duration = .seconds(30), logger: Logger = Logger(label: "cloudevents.amqp")
    ) {
        self.host = host
        self.port = port
        self.tls = tls
        if let sasl {
            self.sasl = sasl
        } else if let username {
            self.sasl = .plain(username: username, password: password ?? "")
        } else {
            self.sasl = .anonymous
        }
        self.containerID = containerID ?? "ce-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        self.virtualHost = virtualHost
        self.durableTermini = durableTermini
        self.idleTimeout = idleTimeout
        self.reconnect = reconnect
        self.operationTimeout = operationTimeout
        self.logger = logger
    }

    /// The port connected to: ``port``, or 5672 (5671 with TLS).
    public var effectivePort: Int { port ?? (tls == nil ? 5672 : 5671) }

    /// `host:port`, for messages and logs.
    var peerDescription: String { "\(host):\(effectivePort)" }
}
