public import CloudEvents

/// Sends events to one AMQP address through a sender link, in one mode and format; `send`
/// returns when the peer's disposition is `accepted` and throws for the others (see
/// ``AMQPSenderLink/send(_:)``: `.rejected` with the peer's condition, `.released`,
/// `.modified`, `.connectionFailed` when the outcome is unknown).
///
/// A sender does not own its connection: ``withSender(configuration:address:mode:format:prefix:durable:_:)``
/// scopes both; otherwise close the connection (or run it as a `Service`) yourself.
public struct AMQPEventSender: CloudEventSender {
    /// The link that sends.
    public let link: AMQPSenderLink
    /// Binary (the default) or structured.
    public var mode: ContentMode
    /// The structured-mode format.
    public var format: any EventFormat
    /// The application-property prefix of binary mode.
    public var prefix: AMQPPropertyPrefix
    /// Whether messages are sent durable (`header.durable`: a broker keeps them across a restart).
    public var durable: Bool

    /// A sender on `link`.
    ///
    /// - Throws: ``TransportError`` `.invalidEndpoint` for batch mode (AMQP has none).
    public init(
        link: AMQPSenderLink, mode: ContentMode = .binary, format: any EventFormat = JSONEventFormat(),
        prefix: AMQPPropertyPrefix = .underscore, durable: Bool = true
    ) throws(TransportError) {
        guard mode != .batch else { throw TransportError(.invalidEndpoint, "AMQP has no batch mode") }
        self.link = link
        self.mode = mode
        self.format = format
        self.prefix = prefix
        self.durable = durable
    }

    /// Attaches a sender link to `address` on `connection`.
    ///
    /// - Throws: what ``AMQPConnection/openSender(address:)`` and the initialiser throw.
    public static func open(
        connection: AMQPConnection, address: String, mode: ContentMode = .binary,
        format: any EventFormat = JSONEventFormat(), prefix: AMQPPropertyPrefix = .underscore, durable: Bool = true
    ) async throws(TransportError) -> AMQPEventSender {
        guard mode != .batch else { throw TransportError(.invalidEndpoint, "AMQP has no batch mode") }
        let link = try await connection.openSender(address: address)
        return try AMQPEventSender(link: link, mode: mode, format: format, prefix: prefix, durable: durable)
    }

    /// Connects with `configuration`, runs `body` with a sender to `address`, then closes the
    /// connection, on every path.
    ///
    /// ```swift
    /// try await AMQPEventSender.withSender(
    ///     configuration: .init(host: "localhost", username: "guest", password: "guest"), address: "/queue/events"
    /// ) { sender in
    ///     try await sender.send(event)
    /// }
    /// ```
    ///
    /// - Returns: what `body` returns.
    /// - Throws: what ``AMQPConnection/connect(configuration:)`` and
    ///   ``open(connection:address:mode:format:prefix:durable:)`` throw, or what `body` throws.
    @discardableResult
    public static func withSender<Result: Sendable>(
        configuration: AMQPConnectionConfiguration, address: String, mode: ContentMode = .binary,
        format: any EventFormat = JSONEventFormat(), prefix: AMQPPropertyPrefix = .underscore, durable: Bool = true,
        _ body: (AMQPEventSender) async throws -> Result
    ) async throws -> Result {
        try await AMQPConnection.withConnection(configuration: configuration) { connection in
            let sender = try await open(
                connection: connection, address: address, mode: mode, format: format, prefix: prefix, durable: durable)
            return try await body(sender)
        }
    }

    /// Sends `event` and returns when the peer accepted it.
    ///
    /// - Throws: ``TransportError``: `.invalidMessage` for an invalid event, or what
    ///   ``AMQPSenderLink/send(_:)`` throws.
    public func send(_ event: CloudEvent) async throws {
        let message: AMQPMessage
        do {
            message = try AMQPMessage(event, mode: mode, format: format, prefix: prefix)
        } catch {
            throw TransportError(.invalidMessage, "cannot send the event to '\(link.address)': \(error)", underlying: error)
        }
        try await send(message)
    }

    /// Sends `message` in the shape it has (a structured body passes through untouched).
    ///
    /// - Throws: ``TransportError``: `.invalidMessage` for a batch, or what
    ///   ``AMQPSenderLink/send(_:)`` throws.
    public func send(_ message: Message) async throws {
        let amqpMessage: AMQPMessage
        do {
            amqpMessage = try AMQPMessage(message, prefix: prefix)
        } catch {
            throw TransportError(.invalidMessage, "cannot send the message to '\(link.address)': \(error)", underlying: error)
        }
        try await send(amqpMessage)
    }

    /// Encodes and sends an AMQP message.
    public func send(_ message: AMQPMessage) async throws(TransportError) {
        var message = message
        message.durable = durable
        try await link.send(try AMQPMessageCodec.encode(message))
    }
}
