public import CloudEvents

/// Sends events to one MQTT topic through an ``MQTTClient``, in one mode and format;
/// `send` returns when the broker acknowledged the PUBLISH at the sender's QoS.
///
/// A sender does not own its client: ``withSender(endpoint:format:_:)`` scopes both; otherwise
/// shut the client down (or run it as a `Service`) yourself.
public struct MQTTEventSender: CloudEventSender {
    /// The client that publishes.
    public let client: MQTTClient
    /// The topic events are published to.
    public var topic: String
    /// The QoS events are published with.
    public var qos: MQTTQoS
    /// Whether events are published with the retain flag.
    public var retain: Bool
    /// Binary (MQTT 5 only) or structured.
    public var mode: ContentMode
    /// The structured-mode format (JSON only in MQTT 3.1.1).
    public var format: any EventFormat

    /// A sender to `topic` through `client`.
    ///
    /// - Parameters:
    ///   - client: the client that publishes.
    ///   - topic: the topic name (no wildcards).
    ///   - qos: the QoS to publish with.
    ///   - retain: whether to publish with the retain flag.
    ///   - mode: binary or structured; `nil` for binary in MQTT 5, structured in MQTT 3.1.1.
    ///   - format: the structured-mode format.
    /// - Throws: ``TransportError`` `.invalidEndpoint` for a mode or format the client's
    ///   protocol version cannot carry, or a topic with wildcards.
    public init(
        client: MQTTClient, topic: String, qos: MQTTQoS = .atLeastOnce, retain: Bool = false,
        mode: ContentMode? = nil, format: any EventFormat = JSONEventFormat()
    ) throws(TransportError) {
        let version = client.configuration.protocolVersion
        let mode = mode ?? (version == .v5 ? .binary : .structured)
        guard mode != .batch else { throw TransportError(.invalidEndpoint, "MQTT has no batch mode") }
        guard version == .v5 || (mode == .structured && format.name == "json") else {
            throw TransportError(.invalidEndpoint, "MQTT 3.1.1 carries structured mode with the JSON format only")
        }
        guard !topic.isEmpty, !topic.contains(where: { $0 == "+" || $0 == "#" }) else {
            throw TransportError(.invalidEndpoint, "'\(topic)' is not an MQTT topic name (no wildcards when publishing)")
        }
        self.client = client
        self.topic = topic
        self.qos = qos
        self.retain = retain
        self.mode = mode
        self.format = format
    }

    /// Connects a client for `endpoint`, runs `body` with a sender to the endpoint's topic
    /// (its QoS, retain flag and mode), then shuts the client down, on every path.
    ///
    /// ```swift
    /// let endpoint = try MQTTEndpoint(Endpoint("mqtt://localhost:1883/sensors/1?qos=1"))
    /// try await MQTTEventSender.withSender(endpoint: endpoint, format: JSONEventFormat()) { sender in
    ///     try await sender.send(event)
    /// }
    /// ```
    ///
    /// - Parameters:
    ///   - endpoint: the broker, topic and options.
    ///   - format: the structured-mode format (MQTT 3.1.1: JSON only).
    ///   - body: what to do with the sender.
    /// - Returns: what `body` returns.
    /// - Throws: what ``MQTTClient/connect(configuration:)`` and
    ///   ``init(client:topic:qos:retain:mode:format:)`` throw, or what `body` throws.
    @discardableResult
    public static func withSender<Result: Sendable>(
        endpoint: MQTTEndpoint, format: any EventFormat, _ body: (MQTTEventSender) async throws -> Result
    ) async throws -> Result {
        try await MQTTClient.withClient(configuration: endpoint.configuration) { client in
            let sender = try MQTTEventSender(
                client: client, topic: endpoint.topic, qos: endpoint.qos, retain: endpoint.retain, mode: endpoint.mode,
                format: format)
            return try await body(sender)
        }
    }

    /// Publishes `event` and returns when the broker acknowledged it.
    ///
    /// - Throws: ``TransportError``: `.invalidMessage` for an invalid event, or what
    ///   ``MQTTClient/publish(_:)`` throws.
    public func send(_ event: CloudEvent) async throws {
        let message: MQTTMessage
        do {
            message = try event.mqttMessage(
                topic: topic, qos: qos, retain: retain, mode: mode, format: format,
                protocolVersion: client.configuration.protocolVersion)
        } catch {
            throw TransportError(.invalidMessage, "cannot publish the event to '\(topic)': \(error)", underlying: error)
        }
        try await client.publish(message)
    }

    /// Publishes `message` in the shape it has: a structured body passes through untouched;
    /// a binary message goes out binary (MQTT 5) or as structured JSON (MQTT 3.1.1).
    ///
    /// - Throws: ``TransportError`` `.invalidMessage` for a batch or a message the
    ///   version cannot carry, or what ``MQTTClient/publish(_:)`` throws.
    public func send(_ message: Message) async throws {
        let mqttMessage: MQTTMessage
        do {
            mqttMessage = try message.mqttMessage(
                topic: topic, qos: qos, retain: retain, protocolVersion: client.configuration.protocolVersion)
        } catch {
            throw TransportError(.invalidMessage, "cannot publish the message to '\(topic)': \(error)", underlying: error)
        }
        try await client.publish(mqttMessage)
    }
}
