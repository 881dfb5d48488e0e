import CloudEvents

/// The errors a send fails with when the peer's disposition is not `accepted`.
enum AMQPOutcomeError {
    static func rejected(
        address: String, peer: String, condition: (name: String, description: String)?
    ) -> TransportError {
        let reason = condition.map { Proton.text($0) } ?? "no reason given"
        return TransportError(.rejected, "AMQP peer \(peer) rejected the message to '\(address)': \(reason)")
    }

    static func released(address: String, peer: String) -> TransportError {
        var error = TransportError(
            .notDelivered, "AMQP peer \(peer) released the message to '\(address)' (not processed; try again)")
        error.isTransient = true
        return error
    }

    static func modified(address: String, peer: String, deliveryFailed: Bool, undeliverableHere: Bool) -> TransportError {
        var error = TransportError(
            .notDelivered,
            "AMQP peer \(peer) did not process the message to '\(address)' (modified: delivery-failed \(deliveryFailed), undeliverable-here \(undeliverableHere))"
        )
        error.isTransient = !undeliverableHere
        return error
    }
}
