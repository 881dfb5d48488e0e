public import CloudEvents
public import Logging

/// The deliveries of one NATS subscription (optionally in a queue group), as a
/// ``CloudEventReceiver``.
///
/// Core NATS has no acknowledgements, so settling a delivery is local (see the table in
/// `NATSSettlement`): accepting, rejecting or releasing sends nothing and nothing is
/// redelivered. The one answer that travels is a reply: ``Delivery/accept(reply:)-(Message)``
/// publishes the reply to the message's reply subject, which is how a responder answers a
/// ``NATSEventRequester``. A subscription's messages carry their subject and reply subject in
/// ``Message/metadata`` (`:subject`, `:reply`).
///
/// When the consumer falls `capacity` deliveries behind, the client stops reading the socket
/// until it catches up; the server then reports the connection as a slow consumer if its own
/// buffer for it fills, and drops messages for it (NATS's rule, which the client logs).
///
/// A receiver does not own its client:
/// ``withReceiver(configuration:subject:queueGroup:capacity:formats:extensionTypes:_:)`` scopes
/// both.
public struct NATSEventReceiver: CloudEventReceiver {
    /// The client the subscription belongs to.
    public let client: NATSClient
    /// The subscription.
    public let subscription: NATSSubscription
    private let stream: DeliveryStream

    /// Subscribes `client` to `subject` (in `queueGroup`, if given) and returns once the server
    /// has the subscription (a flush after the `SUB`): core NATS keeps nothing for a subscriber
    /// that is not there yet, so what is published from then on arrives.
    ///
    /// - Parameters:
    ///   - client: the client to subscribe with.
    ///   - subject: the subject, with the wildcards `*` and `>` allowed.
    ///   - queueGroup: the queue group: each message goes to one member of it.
    ///   - capacity: deliveries buffered for the consumer before the socket is paused.
    ///   - formats: the formats a structured message may use.
    ///   - extensionTypes: types for binary-mode extensions, which arrive as strings.
    ///   - logger: where rejections and releases are logged (at debug).
    /// - Throws: what ``NATSClient/subscribe(to:queueGroup:consumer:)`` and ``NATSClient/flush()``
    ///   throw.
    public static func subscribe(
        client: NATSClient, subject: String, queueGroup: String? = nil, capacity: Int = 1024,
        formats: EventFormatRegistry = .standard, extensionTypes: ExtensionTypes = .none,
        logger: Logger = Logger(label: "cloudevents.nats", factory: { _ in SwiftLogNoOpLogHandler() })
    ) async throws(TransportError) -> NATSEventReceiver {
        let bridge = NATSDeliveryBridge(
            client: client, formats: formats, extensionTypes: extensionTypes, capacity: capacity, logger: logger)
        let subscription = try await client.subscribe(to: subject, queueGroup: queueGroup, consumer: bridge.consumer)
        do {
            try await client.flush()
        } catch {
            await subscription.unsubscribe()
            throw error
        }
        return NATSEventReceiver(client: client, subscription: subscription, stream: bridge.stream)
    }

    /// The subscription's deliveries (one consumer). Ending the iteration ends the
    /// subscription.
    public func deliveries() -> DeliveryStream { stream }

    /// Connects with `configuration`, subscribes to `subject`, runs `body` with the receiver,
    /// then closes the client (ending the deliveries), on every path.
    ///
    /// ```swift
    /// try await NATSEventReceiver.withReceiver(
    ///     configuration: NATSClientConfiguration(host: "127.0.0.1", port: 4222), subject: "events.>", queueGroup: "workers"
    /// ) { receiver in
    ///     for try await delivery in receiver.deliveries() {
    ///         print(try delivery.event())
    ///         delivery.accept()
    ///     }
    /// }
    /// ```
    ///
    /// - Returns: what `body` returns.
    /// - Throws: what ``NATSClient/connect(configuration:)`` and
    ///   ``subscribe(client:subject:queueGroup:capacity:formats:extensionTypes:logger:)`` throw,
    ///   or what `body` throws.
    @discardableResult
    public static func withReceiver<Result: Sendable>(
        configuration: NATSClientConfiguration, subject: String, queueGroup: String? = nil, capacity: Int = 1024,
        formats: EventFormatRegistry = .standard, extensionTypes: ExtensionTypes = .none,
        _ body: (NATSEventReceiver) async throws -> Result
    ) async throws -> Result {
        try await NATSClient.withClient(configuration: configuration) { client in
            let receiver = try await subscribe(
                client: client, subject: subject, queueGroup: queueGroup, capacity: capacity, formats: formats,
                extensionTypes: extensionTypes, logger: configuration.logger)
            return try await body(receiver)
        }
    }
}
