public import CloudEvents

/// The deliveries of one AMQP receiver link, as a ``CloudEventReceiver``: each settlement is
/// the delivery's real disposition (see ``AMQPConnection`` and the table in
/// ``AMQPIncomingDelivery/settle(_:report:)``), and the link's credit bounds what the peer
/// sends ahead of the consumer.
///
/// A receiver does not own its connection: ``withReceiver(configuration:address:credit:formats:extensionTypes:_:)``
/// scopes both.
public struct AMQPEventReceiver: CloudEventReceiver {
    /// The connection the link belongs to.
    public let connection: AMQPConnection
    /// The link.
    public let link: AMQPReceiverLink
    private let stream: DeliveryStream

    /// Attaches a receiver link from `address` on `connection` and returns once the peer
    /// attached it.
    ///
    /// - Parameters:
    ///   - connection: the connection to attach on.
    ///   - address: the source address (RabbitMQ: `/queue/<name>`, see ``AMQPConnection``).
    ///   - credit: deliveries the peer may have unsettled or on their way (the prefetch).
    ///   - formats: the formats a structured message may use.
    ///   - extensionTypes: types for binary-mode extensions that arrive as strings.
    /// - Throws: what ``AMQPConnection/openReceiver(address:credit:consumer:)`` throws.
    public static func open(
        connection: AMQPConnection, address: String, credit: Int = 256, formats: EventFormatRegistry = .standard,
        extensionTypes: ExtensionTypes = .none
    ) async throws(TransportError) -> AMQPEventReceiver {
        let bridge = AMQPDeliveryBridge(formats: formats, extensionTypes: extensionTypes, capacity: credit)
        let link = try await connection.openReceiver(address: address, credit: credit, consumer: bridge.consumer)
        return AMQPEventReceiver(connection: connection, link: link, stream: bridge.stream)
    }

    /// The link's deliveries (one consumer). Ending the iteration detaches the link.
    public func deliveries() -> DeliveryStream { stream }

    /// Connects with `configuration`, attaches a receiver link from `address`, runs `body`
    /// with the receiver, then closes the connection (ending the deliveries), on every path.
    ///
    /// ```swift
    /// try await AMQPEventReceiver.withReceiver(
    ///     configuration: .init(host: "localhost", username: "guest", password: "guest"), address: "/queue/events"
    /// ) { receiver in
    ///     for try await delivery in receiver.deliveries() {
    ///         print(try delivery.event())
    ///         delivery.accept()
    ///     }
    /// }
    /// ```
    ///
    /// - Returns: what `body` returns.
    /// - Throws: what ``AMQPConnection/connect(configuration:)`` and
    ///   ``open(connection:address:credit:formats:extensionTypes:)`` throw, or what `body` throws.
    @discardableResult
    public static func withReceiver<Result: Sendable>(
        configuration: AMQPConnectionConfiguration, address: String, credit: Int = 256,
        formats: EventFormatRegistry = .standard, extensionTypes: ExtensionTypes = .none,
        _ body: (AMQPEventReceiver) async throws -> Result
    ) async throws -> Result {
        try await AMQPConnection.withConnection(configuration: configuration) { connection in
            let receiver = try await open(
                connection: connection, address: address, credit: credit, formats: formats, extensionTypes: extensionTypes)
            return try await body(receiver)
        }
    }
}
