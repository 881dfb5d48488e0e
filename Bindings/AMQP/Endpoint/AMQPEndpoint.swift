public import CloudEvents

/// An `amqp://` or `amqps://` endpoint read as connection settings, an address, and the
/// binding's options:
///
/// `amqp(s)://[user:password@]host[:port]/address?mode=binary|structured&format=json|protobuf&prefix=underscore|colon&credit=N&durable=true|false&listen=true|false&hostname=…`
///
/// **The address** is the URL path after the `/` that ends the host and port, percent-decoded
/// once, with nothing added or removed: `amqp://host/events` sends to and receives from the
/// address `events`. RabbitMQ's AMQP 1.0 addresses begin with a `/` of their own
/// (`/queue/events`, `/exchange/amq.topic/key`, `/topic/key`, `/amq/queue/events`), so they
/// are written with two slashes, `amqp://guest:guest@127.0.0.1:5672//queue/events` (or the
/// `/` percent-encoded, `amqp://…:5672/%2Fqueue%2Fevents`). A receiver with `listen=true`
/// takes no address (every address a peer attaches to arrives) but may give one to accept
/// messages for that address only.
///
/// **Authentication**: SASL PLAIN with the URL's user and password, SASL ANONYMOUS without a
/// user. **TLS**: `amqps://` with the `TLSSettings` given (port 5671 unless given).
/// **Virtual host**: `hostname=` is the open frame's `hostname` (the URL's host unless given);
/// RabbitMQ reads `hostname=vhost:<name>` as the virtual host.
///
/// Defaults: binary mode, JSON, the `cloudEvents_` property prefix, a receiver credit of 256,
/// durable messages, port 5672 (5671 for `amqps`), a connection (not a listener).
public struct AMQPEndpoint: Sendable {
    /// The connection settings: host, port, SASL from the user info, TLS for `amqps://`.
    /// ``AMQPBinding`` adds the tool's timeout and logger.
    public var configuration: AMQPConnectionConfiguration
    /// The address to send to or receive from; empty only for a listener that takes every
    /// address.
    public var address: String
    /// The `mode=` option: binary (the default) or structured. AMQP has no batch mode.
    public var mode: ContentMode
    /// The `format=` option (`json` unless given), for structured mode.
    public var formatName: String
    /// The `prefix=` option: the prefix of the attribute properties a sender writes in binary
    /// mode (`underscore`, the default, for `cloudEvents_`; `colon` for `cloudEvents:`).
    /// Receivers read both.
    public var prefix: AMQPPropertyPrefix
    /// The `credit=` option: how many unsettled deliveries a receiver lets the peer send
    /// ahead (its link credit, 256 unless given).
    public var credit: Int
    /// The `durable=` option (`true` unless given): a sender's messages are durable
    /// (`header.durable`), and links attach with durable termini
    /// (``AMQPConnectionConfiguration/durableTermini``), so that RabbitMQ declares a durable
    /// queue for a `/queue/NAME` address: the queue and its messages survive a broker
    /// restart. `false` for a queue that exists as transient (RabbitMQ refuses a durable link
    /// to it with `inequivalent arg 'durable'`), or to trade that safety for speed.
    public var durable: Bool
    /// The `listen=` option: whether a receiver listens on host:port for peers to connect
    /// and send (no broker), instead of connecting (`false` unless given). Senders refuse it.
    public var listen: Bool

    /// The largest `credit=`: proton grants credit as a 32-bit count, but a credit that high
    /// only means a receiver buffering without bound.
    public static let maximumCredit = 100_000

    /// The options an AMQP endpoint reads.
    public static let optionNames: [String] = ["mode", "format", "prefix", "credit", "durable", "listen", "hostname"]

    /// Reads `endpoint`.
    ///
    /// - Parameters:
    ///   - endpoint: an `amqp://` or `amqps://` endpoint.
    ///   - tls: the TLS settings for `amqps` (the system's trust store by default); ignored
    ///     for `amqp`.
    /// - Throws: ``TransportError`` `.invalidEndpoint` naming the option or part that is wrong.
    public init(_ endpoint: Endpoint, tls: TLSSettings = TLSSettings()) throws(TransportError) {
        func fail(_ why: String) -> TransportError {
            TransportError(.invalidEndpoint, "\(endpoint): \(why)")
        }
        guard endpoint.scheme == "amqp" || endpoint.scheme == "amqps" else { throw fail("expected amqp:// or amqps://") }
        guard !endpoint.host.isEmpty else { throw fail("missing host") }
        if let unknown = endpoint.options.first(where: { !Self.optionNames.contains($0.name) }) {
            throw fail("unknown option '\(unknown.name)' (known: \(Self.optionNames.sorted().joined(separator: ", ")))")
        }
        func flag(_ name: String, default value: Bool) throws(TransportError) -> Bool {
            switch endpoint.option(name)?.lowercased() {
            case nil: return value
            case "true", "1": return true
            case "false", "0": return false
            case let other?: throw fail("\(name) must be true or false, not '\(other)'")
            }
        }
        listen = try flag("listen", default: false)
        durable = try flag("durable", default: true)
        guard listen || !endpoint.path.isEmpty else {
            throw fail(
                "missing address: give it as the URL path (RabbitMQ: amqp://host:5672//queue/<name>, two slashes)")
        }
        mode = endpoint.contentMode ?? .binary
        guard mode != .batch else { throw fail("AMQP has no batch mode (use binary or structured)") }
        formatName = endpoint.formatName ?? "json"
        switch endpoint.option("prefix")?.lowercased() {
        case nil, "underscore", "cloudevents_": prefix = .underscore
        case "colon", "cloudevents:": prefix = .colon
        case let other?: throw fail("prefix must be underscore (cloudEvents_) or colon (cloudEvents:), not '\(other)'")
        }
        if let text = endpoint.option("credit") {
            guard let credit = Int(text), (1...Self.maximumCredit).contains(credit) else {
                throw fail("credit must be a whole number from 1 to \(Self.maximumCredit), not '\(text)'")
            }
            self.credit = credit
        } else {
            credit = 256
        }
        if endpoint.password != nil, endpoint.user?.isEmpty ?? true {
            throw fail("a password needs a user name (SASL PLAIN)")
        }
        let secure = endpoint.scheme == "amqps"
        configuration = AMQPConnectionConfiguration(
            host: endpoint.host, port: endpoint.port, tls: secure ? tls : nil,
            username: endpoint.user.flatMap { $0.isEmpty ? nil : $0 }, password: endpoint.password)
        if let hostname = endpoint.option("hostname") {
            guard !hostname.isEmpty else { throw fail("hostname must not be empty (leave it out for the URL's host)") }
            configuration.virtualHost = hostname
        }
        configuration.durableTermini = durable
        address = endpoint.path
    }

    /// The port connected to or listened on: the URL's, or 5672 (5671 for `amqps`).
    public var port: Int { configuration.effectivePort }
}
