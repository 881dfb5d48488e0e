public import CloudEvents
import Synchronization

/// Turns a receiver link's raw deliveries into `Delivery` values on a `DeliveryStream`:
/// each message decoded (``AMQPMessageCodec`` and ``AMQPMessageReader``), its
/// `delivery-count` as ``Delivery/redeliveryCount``, and its settlement sent as the real
/// disposition (``AMQPSettlement``). A message that is not a valid event becomes a delivery
/// whose `event()` throws the decoding error: the consumer rejects it and the link goes on.
///
/// When the stream is full the link stops granting credit until the consumer makes room, so
/// at most the link's credit is buffered.
public struct AMQPDeliveryBridge: Sendable {
    /// The deliveries, for one consumer.
    public let stream: DeliveryStream
    /// The consumer to open a receiver link (or a listener) with.
    public let consumer: AMQPDeliveryConsumer

    /// A bridge whose stream holds up to `capacity` deliveries.
    ///
    /// - Parameters:
    ///   - formats: the formats a structured message may use.
    ///   - extensionTypes: types for binary-mode extensions that arrive as strings.
    ///   - capacity: deliveries buffered for the consumer (the link's credit bounds the rest).
    public init(formats: EventFormatRegistry = .standard, extensionTypes: ExtensionTypes = .none, capacity: Int = 256) {
        let (stream, continuation) = DeliveryStream.makeStream(capacity: capacity)
        self.stream = stream
        self.consumer = AMQPDeliveryConsumer(
            deliver: { incoming, onRoom in
                let refused = RefusedMark()
                let delivery = Self.delivery(
                    for: incoming, formats: formats, extensionTypes: extensionTypes, refused: refused)
                let result = withExtendedLifetime(delivery) { () -> DeliveryStream.TrySendResult in
                    let result = continuation.trySend(delivery, onRoom: onRoom)
                    // A refused delivery is offered again later: the copy dropped now must not release it.
                    if result == .full { refused.set() }
                    return result
                }
                switch result {
                case .enqueued: return .taken
                case .full: return .full
                case .terminated: return .terminated
                }
            },
            finish: { error in continuation.finish(throwing: error) })
    }

    /// The `Delivery` for one received message.
    static func delivery(
        for incoming: AMQPIncomingDelivery, formats: EventFormatRegistry, extensionTypes: ExtensionTypes,
        refused: RefusedMark
    ) -> Delivery {
        let settle: @Sendable (Settlement, SettlementReport) -> Void = { settlement, report in
            if refused.isSet {
                report.local()
                return
            }
            incoming.settle(settlement, report: report)
        }
        let decoded = incoming.bytes.withUnsafeBytes { bytes in
            Result { () throws(TransportError) in try AMQPMessageCodec.decode(bytes) }
        }
        let amqpMessage: AMQPMessage
        switch decoded {
        case .success(let message):
            amqpMessage = message
        case .failure(let error):
            return Delivery(
                message: Message(content: .structured(StructuredContent(mediaType: "", body: incoming.bytes))),
                formats: formats, extensionTypes: extensionTypes,
                decodingError: MessageError(.invalidMessage("not an AMQP message: \(error.message)")), settle: settle)
        }
        let count = Int(amqpMessage.deliveryCount)
        let reader = AMQPMessageReader(amqpMessage, address: incoming.address)
        // Decoded here, once: most consumers only ask for the event, and the message (built
        // only if asked for) would cost more than the event did.
        if let event = try? reader.event(formats: formats, extensionTypes: extensionTypes) {
            return Delivery(
                formats: formats, extensionTypes: extensionTypes, decodedEvents: [event],
                message: { reader.messageAndError().message }, redeliveryCount: count, isRedelivered: count > 0,
                settle: settle)
        }
        let (message, error) = reader.messageAndError()
        if let error {
            return Delivery(
                message: message, formats: formats, extensionTypes: extensionTypes, decodingError: error,
                redeliveryCount: count, isRedelivered: count > 0, settle: settle)
        }
        return Delivery(
            message: message, formats: formats, extensionTypes: extensionTypes, redeliveryCount: count,
            isRedelivered: count > 0, settle: settle)
    }
}

/// Set when the stream refused a delivery: that copy's settlement (its release when dropped)
/// is not sent, since the link offers the message again.
final class RefusedMark: Sendable {
    private let value = Atomic<Bool>(false)

    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}
