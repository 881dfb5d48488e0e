public import CloudEvents
public import Logging

/// A NATS server's host and port.
public struct NATSServerAddress: Sendable, Hashable, CustomStringConvertible {
    /// The host name or address.
    public var host: String
    /// The port (4222 by default).
    public var port: Int

    /// An address.
    ///
    /// - Parameters:
    ///   - host: the host name or address.
    ///   - port: the port.
    public init(host: String, port: Int = 4222) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`, `[v6]:port` or a bare host (port 4222), as INFO's `connect_urls`
    /// announce servers; a `nats://` prefix is ignored.
    ///
    /// - Parameter text: the address.
    /// - Returns: the address, or `nil` when the port is not a number in 1…65535.
    public init?(parsing text: String) {
        var rest = Substring(text)
        if let colon = rest.firstIndex(of: ":"), rest[colon...].hasPrefix("://") {
            rest = rest[rest.index(colon, offsetBy: 3)...]
        }
        var host = rest
        var port = 4222
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") {
                guard let number = Int(after.dropFirst()) else { return nil }
                port = number
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            guard let number = Int(rest[rest.index(after: colon)...]) else { return nil }
            port = number
        }
        guard !host.isEmpty, (1...65535).contains(port) else { return nil }
        self.init(host: String(host), port: port)
    }

    /// `host:port` (`[host]:port` for an IPv6 address).
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// How a client proves who it is to the server.
public enum NATSAuthentication: Sendable, Hashable {
    /// No credentials.
    case none
    /// A user name and password (`user`/`pass` in CONNECT). Never logged.
    case userPassword(user: String, password: String)
    /// A token (`auth_token` in CONNECT). Never logged.
    case token(String)
}

/// How a ``NATSClient`` connects, keeps its connection alive, and reconnects.
///
/// The defaults follow the NATS clients' conventions: a PING every two minutes and the
/// connection declared stale after two unanswered ones; reconnection forever with exponential
/// backoff and jitter; publishes made while reconnecting held in an 8 MiB buffer.
public struct NATSClientConfiguration: Sendable {
    /// The servers, tried in order; servers the cluster announces in INFO `connect_urls` are
    /// tried after them.
    public var servers: [NATSServerAddress]
    /// TLS settings. `nil`: plaintext, unless the server's INFO says `tls_required` (then TLS
    /// with `TLSSettings()`: the system's trust store, full verification).
    public var tls: TLSSettings?
    /// The credentials sent in CONNECT.
    public var authentication: NATSAuthentication
    /// The client's name, shown by the server's monitoring (`connz`).
    public var name: String?
    /// Whether the server sends this client the messages it publishes itself on subjects it
    /// subscribes to (`echo` in CONNECT; true by default).
    public var echo: Bool
    /// How often the client PINGs the server to detect a dead connection (120 s).
    public var pingInterval: Duration
    /// PINGs left unanswered before the connection is declared stale and replaced (2).
    public var maximumOutstandingPings: Int
    /// The delays between reconnection rounds (each round tries every known server once):
    /// exponential from 100 ms up to 5 s, ±20 % jitter.
    public var reconnect: Backoff
    /// Reconnection rounds before the client gives up for good; `nil` (the default) never does.
    public var maximumReconnectAttempts: Int?
    /// Bytes of publishes held while reconnecting (8 MiB, as encoded on the wire); a publish
    /// that does not fit throws ``TransportError/Code/notDelivered`` instead of being lost silently.
    public var reconnectBufferSize: Int
    /// How long a connect, a flush and (by default) a request wait (30 s).
    public var operationTimeout: Duration
    /// Where the client logs connects, losses, reconnects and the server's errors, with
    /// `snake_case` metadata (`server`, `attempt`, `delay_ms`, `reason`). Never a password or token.
    /// A no-op logger by default.
    public var logger: Logger

    /// One server at `host:port`; every other property has the default it describes.
    ///
    /// - Parameters:
    ///   - host: the server's host name or address.
    ///   - port: its port.
    public init(host: String = "127.0.0.1", port: Int = 4222) {
        self.init(servers: [NATSServerAddress(host: host, port: port)])
    }

    /// The servers `servers`, tried in order; every other property has the default it describes.
    ///
    /// - Parameter servers: the servers.
    public init(servers: [NATSServerAddress]) {
        self.servers = servers
        tls = nil
        authentication = .none
        name = nil
        echo = true
        pingInterval = .seconds(120)
        maximumOutstandingPings = 2
        reconnect = .exponential(initial: .milliseconds(100), maximum: .seconds(5), jitter: 0.2)
        maximumReconnectAttempts = nil
        reconnectBufferSize = 8 << 20
        operationTimeout = .seconds(30)
        logger = Logger(label: "cloudevents.nats", factory: { _ in SwiftLogNoOpLogHandler() })
    }
}
