public import CloudEvents

/// The deliveries of one MQTT subscription, as a ``CloudEventReceiver``.
///
/// Settling a delivery is local with libmosquitto 2.0 (see ``MQTTClient/acknowledgement``):
/// the broker had its acknowledgement before the consumer saw the message. A receiver does not
/// own its client: ``withReceiver(endpoint:formats:_:)`` scopes both.
public struct MQTTEventReceiver: CloudEventReceiver {
    /// The client the subscription belongs to.
    public let client: MQTTClient
    /// The topic filter subscribed to.
    public let filter: String
    private let stream: DeliveryStream

    /// Subscribes `client` to `filter` and returns once the broker granted it.
    ///
    /// - Parameters:
    ///   - client: the client to subscribe with.
    ///   - filter: the topic filter (`+`, `#`, or `$share/group/filter` in MQTT 5).
    ///   - qos: the maximum QoS to receive with.
    ///   - formats: the formats a structured message may use.
    ///   - extensionTypes: types for binary-mode extensions, which arrive as strings.
    /// - Throws: what ``MQTTClient/subscribe(to:qos:formats:extensionTypes:)`` throws.
    public static func subscribe(
        client: MQTTClient, filter: String, qos: MQTTQoS = .atLeastOnce, formats: EventFormatRegistry = .standard,
        extensionTypes: ExtensionTypes = .none
    ) async throws(TransportError) -> MQTTEventReceiver {
        let stream = try await client.subscribe(to: filter, qos: qos, formats: formats, extensionTypes: extensionTypes)
        return MQTTEventReceiver(client: client, filter: filter, stream: stream)
    }

    /// The subscription's deliveries (one consumer).
    public func deliveries() -> DeliveryStream { stream }

    /// Connects a client for `endpoint`, subscribes to the endpoint's topic filter at its QoS,
    /// runs `body` with the receiver, then shuts the client down (ending the deliveries), on
    /// every path.
    ///
    /// ```swift
    /// let endpoint = try MQTTEndpoint(Endpoint("mqtt://localhost:1883/sensors/%23"))
    /// try await MQTTEventReceiver.withReceiver(endpoint: endpoint, formats: .standard) { receiver in
    ///     for try await delivery in receiver.deliveries() {
    ///         print(try delivery.event())
    ///         delivery.accept()
    ///     }
    /// }
    /// ```
    ///
    /// - Parameters:
    ///   - endpoint: the broker, topic filter and options.
    ///   - formats: the formats a structured message may use.
    ///   - body: what to do with the receiver.
    /// - Returns: what `body` returns.
    /// - Throws: what ``MQTTClient/connect(configuration:)`` and
    ///   ``subscribe(client:filter:qos:formats:extensionTypes:)`` throw, or what `body` throws.
    @discardableResult
    public static func withReceiver<Result: Sendable>(
        endpoint: MQTTEndpoint, formats: EventFormatRegistry, _ body: (MQTTEventReceiver) async throws -> Result
    ) async throws -> Result {
        try await MQTTClient.withClient(configuration: endpoint.configuration) { client in
            let receiver = try await subscribe(client: client, filter: endpoint.topic, qos: endpoint.qos, formats: formats)
            return try await body(receiver)
        }
    }
}
