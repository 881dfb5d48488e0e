import CloudEvents
import CloudEventsTransports

/// Sends with an ``AMQPEventSender`` and reports the peer's outcome.
struct AMQPBoundSender: BoundSender {
    let endpoint: Endpoint
    let sender: AMQPEventSender

    func send(_ event: CloudEvent) async throws -> SendOutcome {
        try await sender.send(event)
        return outcome(sender.mode)
    }

    func send(_ message: Message) async throws -> SendOutcome {
        try await sender.send(message)
        return outcome(message.contentMode)
    }

    private func outcome(_ mode: ContentMode) -> SendOutcome {
        SendOutcome(summary: "sent to '\(sender.link.address)' (\(mode) mode): accepted")
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
