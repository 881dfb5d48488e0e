public import CloudEvents

/// Publishes events to one NATS subject through a ``NATSClient``, in one mode and format.
///
/// Core NATS has no acknowledgement: `send` returns once the message is handed to the
/// connection (``NATSClient/publish(_:)``: queued for the socket, or held in the reconnect
/// buffer while the client reconnects). It waits only while the socket is not writable
/// (back-pressure). ``NATSClient/flush()`` waits until everything published before has
/// reached the server; ``withSender(configuration:subject:mode:format:_:)`` flushes before it
/// closes.
///
/// A sender does not own its client: ``withSender(configuration:subject:mode:format:_:)``
/// scopes both; otherwise close the client yourself.
public struct NATSEventSender: CloudEventSender {
    /// The client that publishes.
    public let client: NATSClient
    /// The subject events are published to.
    public let subject: String
    /// Binary (the default) or structured.
    public let mode: ContentMode
    /// The structured-mode format.
    public let format: any EventFormat

    /// A sender to `subject` through `client`.
    ///
    /// - Parameters:
    ///   - client: the client that publishes.
    ///   - subject: the subject (no wildcards: a message is published to one subject).
    ///   - mode: binary (the default) or structured.
    ///   - format: the structured-mode format.
    /// - Throws: ``TransportError`` `.invalidEndpoint` for batch mode (NATS has none) or a
    ///   subject that is not a valid subject to publish to, naming the rule.
    public init(
        client: NATSClient, subject: String, mode: ContentMode = .binary, format: any EventFormat = JSONEventFormat()
    ) throws(TransportError) {
        guard mode != .batch else { throw TransportError(.invalidEndpoint, "NATS has no batch mode (use binary or structured)") }
        do {
            try NATSSubject.validate(subject, allowsWildcards: false)
        } catch {
            throw TransportError(.invalidEndpoint, "cannot publish to '\(subject)': \(error.message)")
        }
        self.client = client
        self.subject = subject
        self.mode = mode
        self.format = format
    }

    /// Connects with `configuration`, runs `body` with a sender to `subject`, flushes (so that
    /// what `body` published reached the server), then closes the client, on every path.
    ///
    /// ```swift
    /// try await NATSEventSender.withSender(
    ///     configuration: NATSClientConfiguration(host: "127.0.0.1", port: 4222), subject: "events"
    /// ) { sender in
    ///     try await sender.send(event)
    /// }
    /// ```
    ///
    /// - Returns: what `body` returns.
    /// - Throws: what ``NATSClient/connect(configuration:)``, ``init(client:subject:mode:format:)``
    ///   and ``NATSClient/flush()`` throw, or what `body` throws.
    @discardableResult
    public static func withSender<Result: Sendable>(
        configuration: NATSClientConfiguration, subject: String, mode: ContentMode = .binary,
        format: any EventFormat = JSONEventFormat(), _ body: (NATSEventSender) async throws -> Result
    ) async throws -> Result {
        try await NATSClient.withClient(configuration: configuration) { client in
            let sender = try NATSEventSender(client: client, subject: subject, mode: mode, format: format)
            let result = try await body(sender)
            try await client.flush()
            return result
        }
    }

    /// Publishes `event` in the sender's mode and format; returns once the connection has it.
    ///
    /// - Throws: ``TransportError``: `.invalidMessage` for an event the mapping cannot write,
    ///   or what ``NATSClient/publish(_:)`` throws.
    public func send(_ event: CloudEvent) async throws {
        let message: NATSMessage
        do {
            message = try NATSMessage(
                subject: subject, event: event, mode: mode, format: format, serverSupportsHeaders: client.serverInfo.headers)
        } catch {
            throw TransportError(.invalidMessage, "cannot publish the event to '\(subject)': \(error)", underlying: error)
        }
        try await client.publish(message)
    }

    /// Publishes `message` in the shape it has (a structured body passes through untouched);
    /// returns once the connection has it.
    ///
    /// - Throws: ``TransportError``: `.invalidMessage` for a batch (NATS has none) or a message
    ///   the mapping cannot write, or what ``NATSClient/publish(_:)`` throws.
    public func send(_ message: Message) async throws {
        let natsMessage: NATSMessage
        do {
            natsMessage = try NATSMessage(subject: subject, message: message, serverSupportsHeaders: client.serverInfo.headers)
        } catch {
            throw TransportError(.invalidMessage, "cannot publish the message to '\(subject)': \(error)", underlying: error)
        }
        try await client.publish(natsMessage)
    }
}
