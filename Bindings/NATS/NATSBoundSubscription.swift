import CloudEvents
import CloudEventsTransports

/// Publishes with a ``NATSEventSender``; the outcome says there is no acknowledgement.
struct NATSBoundSender: BoundSender {
    let endpoint: Endpoint
    let sender: NATSEventSender

    func send(_ event: CloudEvent) async throws -> SendOutcome {
        try await sender.send(event)
        return outcome(sender.mode)
    }

    func send(_ message: Message) async throws -> SendOutcome {
        try await sender.send(message)
        return outcome(message.contentMode)
    }

    private func outcome(_ mode: ContentMode) -> SendOutcome {
        SendOutcome(summary: "published to '\(sender.subject)' (\(mode) mode): no acknowledgement (core NATS)")
    }
}

/// One subscription's deliveries.
struct NATSBoundReceiver: BoundReceiver {
    let endpoint: Endpoint
    let readyMessage: String?
    let receiver: NATSEventReceiver

    func deliveries() -> DeliveryStream { receiver.deliveries() }
}
