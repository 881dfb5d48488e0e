/// What a consumer decided about a delivery. Each binding maps it onto its protocol's real
/// acknowledgement (an HTTP status, an AMQP disposition, ...) and documents the guarantee.
public enum Settlement: Sendable, Hashable, CustomStringConvertible {
    /// Processed: the sender may forget the event.
    case accepted
    /// Processed, with an event to send back where the protocol has a reply (an HTTP
    /// response); bindings without one treat it as ``accepted``.
    case acceptedWithReply(Message)
    /// Refused for good (a poison message); the reason, and the condition where the protocol
    /// has one (AMQP), travel back where the protocol can carry them. The event is not
    /// redelivered.
    case rejected(reason: String, condition: ErrorCondition = .rejected)
    /// Not processed now: the event should be delivered again (to this or another consumer).
    case released
    /// Not processed now, with the AMQP `modified` flags: `deliveryFailed` counts the attempt
    /// (the broker raises the message's delivery count), `undeliverableHere` asks not to
    /// redeliver it to this consumer. Bindings without such an outcome treat it as
    /// ``released``.
    case modified(deliveryFailed: Bool, undeliverableHere: Bool)

    /// The decision in words, e.g. `rejected (schema mismatch)`, or with a condition other
    /// than the default `rejected [amqp:decode-error] (not JSON)`.
    public var description: String {
        switch self {
        case .accepted: "accepted"
        case .acceptedWithReply: "accepted with a reply"
        case .rejected(let reason, .rejected): "rejected (\(reason))"
        case .rejected(let reason, let condition): "rejected [\(condition)] (\(reason))"
        case .released: "released"
        case .modified(let failed, let undeliverable):
            "modified (\(failed ? "delivery failed" : "delivery not failed")\(undeliverable ? ", undeliverable here" : ""))"
        }
    }
}
