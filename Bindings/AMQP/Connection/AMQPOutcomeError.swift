import CloudEvents

/// The errors a send fails with when the peer's disposition is not `accepted`.
enum AMQPOutcomeError {
    /// `rejected`: for good, with the peer's condition and description.
    static func rejected(
        address: String, peer: String, condition: (name: String, description: String)?
    ) -> TransportError {
        let reason = condition.map { Proton.text($0) } ?? "no reason given"
        return TransportError(
            .rejected, "AMQP peer \(peer) rejected the message to '\(address)': \(reason)",
            condition: condition.map { ErrorCondition($0.name) }, isTransient: false)
    }

    /// `released`: not processed; worth another attempt.
    static func released(address: String, peer: String) -> TransportError {
        TransportError(.released, "AMQP peer \(peer) released the message to '\(address)' (not processed; try again)")
    }

    /// `modified`: not processed; worth another attempt unless undeliverable here.
    static func modified(address: String, peer: String, deliveryFailed: Bool, undeliverableHere: Bool) -> TransportError {
        var error = TransportError(
            .modified,
            "AMQP peer \(peer) did not process the message to '\(address)' (modified: delivery-failed \(deliveryFailed), undeliverable-here \(undeliverableHere))"
        )
        error.isTransient = !undeliverableHere
        return error
    }
}
