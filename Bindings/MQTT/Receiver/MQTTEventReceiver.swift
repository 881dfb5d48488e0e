public import CloudEvents

/// The deliveries of one MQTT subscription, as a ``CloudEventReceiver``.
public struct MQTTEventReceiver: CloudEventReceiver {
    public let client: MQTTClient
    public let filter: String
    private let stream: DeliveryStream

    /// Subscribes `client` to `filter` and returns once the broker granted it.
    ///
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
}
