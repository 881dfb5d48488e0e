import CloudEvents
import CloudEventsTransports

/// Sends over one ``AMQPSenderLink`` and reports the peer's outcome.
struct AMQPBoundSender: BoundSender {
    let endpoint: Endpoint
    let link: AMQPSenderLink
    let mode: ContentMode
    let format: any EventFormat
    let prefix: AMQPPropertyPrefix
    let durable: Bool

    func send(_ event: CloudEvent) async throws -> SendOutcome {
        let message: AMQPMessage
        do {
            message = try AMQPMessage(event, mode: mode, format: format, prefix: prefix)
        } catch {
            throw TransportError(.invalidMessage, "cannot send the event to '\(link.address)': \(error)", underlying: error)
        }
        return try await send(message, mode: mode)
    }

    func send(_ message: Message) async throws -> SendOutcome {
        let amqp: AMQPMessage
        do {
            amqp = try AMQPMessage(message, prefix: prefix)
        } catch {
            throw TransportError(.invalidMessage, "cannot send the message to '\(link.address)': \(error)", underlying: error)
        }
        return try await send(amqp, mode: message.contentMode)
    }

    private func send(_ message: AMQPMessage, mode: ContentMode) async throws(TransportError) -> SendOutcome {
        var message = message
        message.durable = durable
        try await link.send(try AMQPMessageCodec.encode(message))
        return SendOutcome(summary: "sent to '\(link.address)' (\(mode) mode): accepted")
    }
}

/// One receiver link's (or one listener's) deliveries.
struct AMQPBoundReceiver: BoundReceiver {
    let endpoint: Endpoint
    let readyMessage: String?
    let stream: DeliveryStream

    func deliveries() -> DeliveryStream { stream }
}

extension AMQPDeliveryConsumer {
    /// This consumer for the deliveries to `address` only: a listener given an address in
    /// its URL rejects the messages of links to any other with `amqp:not-found`.
    func only(address: String) -> AMQPDeliveryConsumer {
        AMQPDeliveryConsumer(
            deliver: { [deliver] incoming, onRoom in
                guard incoming.address == address else {
                    incoming.settle(
                        .rejected(condition: "amqp:not-found", description: "this listener takes messages for '\(address)' only"))
                    return .taken
                }
                return deliver(incoming, onRoom)
            },
            finish: finish)
    }
}
