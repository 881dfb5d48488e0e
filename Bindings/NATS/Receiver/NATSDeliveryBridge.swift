public import CloudEvents
public import Logging
import Synchronization

/// Turns a subscription's NATS messages into `Delivery` values on a `DeliveryStream`: each
/// message decoded once (``NATSMessageReader``), its settlement applied by the binding's rules
/// (local, except a reply: see ``NATSEventReceiver``). A message that is not a valid event
/// becomes a delivery whose `event()` throws the decoding error: the consumer rejects it and
/// the subscription goes on.
///
/// When the stream is full the consumer answers `.full`: the client stops reading the socket
/// and offers the same message again once the stream has room, so nothing is dropped here (a
/// server that cannot write to a paused client reports it as a slow consumer).
public struct NATSDeliveryBridge: Sendable {
    /// The deliveries, for one consumer.
    public let stream: DeliveryStream
    /// The consumer to subscribe with.
    public let consumer: NATSMessageConsumer

    /// A bridge whose stream holds up to `capacity` deliveries.
    ///
    /// - Parameters:
    ///   - client: the client the subscription is on, which publishes replies.
    ///   - formats: the formats a structured message may use.
    ///   - extensionTypes: types for binary-mode extensions, which arrive as strings.
    ///   - capacity: deliveries buffered for the consumer before the socket is paused.
    ///   - logger: where rejections and releases are logged (at debug).
    public init(
        client: NATSClient, formats: EventFormatRegistry = .standard, extensionTypes: ExtensionTypes = .none,
        capacity: Int = 1024, logger: Logger = Logger(label: "cloudevents.nats", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        let (stream, continuation) = DeliveryStream.makeStream(capacity: capacity)
        self.stream = stream
        self.consumer = NATSMessageConsumer(
            deliver: { message, onRoom in
                let refused = RefusedMark()
                let delivery = Self.delivery(
                    for: message, client: client, formats: formats, extensionTypes: extensionTypes, logger: logger,
                    refused: refused)
                let result = withExtendedLifetime(delivery) { () -> DeliveryStream.TrySendResult in
                    let result = continuation.trySend(delivery, onRoom: onRoom)
                    // The client offers a refused message again: this copy, dropped now, must
                    // not count as a release.
                    if result != .enqueued { refused.set() }
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
        for message: NATSMessage, client: NATSClient, formats: EventFormatRegistry, extensionTypes: ExtensionTypes,
        logger: Logger, refused: RefusedMark
    ) -> Delivery {
        let settle: @Sendable (Settlement, SettlementReport) -> Void = { settlement, report in
            if refused.isSet {
                report.local()
                return
            }
            NATSSettlement.settle(settlement, of: message, client: client, logger: logger, report: report)
        }
        let reader = NATSMessageReader(message)
        let decodingError: MessageError
        do {
            // Decoded here, once: most consumers only ask for the event; the message is built
            // only if asked for.
            let event = try reader.event(formats: formats, extensionTypes: extensionTypes)
            return Delivery(
                formats: formats, extensionTypes: extensionTypes, decodedEvents: [event],
                message: { Self.message(of: reader, raw: message) }, settle: settle)
        } catch {
            decodingError = error
        }
        return Delivery(
            message: Self.message(of: reader, raw: message), formats: formats, extensionTypes: extensionTypes,
            decodingError: decodingError, settle: settle)
    }

    /// The protocol-independent message, or (when not even that can be read) the payload as a
    /// structured body without a media type, with the subject and reply subject as metadata.
    private static func message(of reader: NATSMessageReader, raw: NATSMessage) -> Message {
        if let message = try? reader.message() { return message }
        var metadata = [NATSMessageReader.MetadataKey.subject: raw.subject]
        if let replyTo = raw.replyTo { metadata[NATSMessageReader.MetadataKey.replyTo] = replyTo }
        return Message(content: .structured(StructuredContent(mediaType: "", body: raw.payload)), metadata: metadata)
    }
}

/// Set when the stream refused a delivery: that copy's settlement (its release when dropped)
/// is not applied, since the client offers the message again.
final class RefusedMark: Sendable {
    private let value = Atomic<Bool>(false)

    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}
