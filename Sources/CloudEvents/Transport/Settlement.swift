/// What a consumer decided about a delivery. Each binding maps it onto its protocol's real
/// acknowledgement (an HTTP status, an AMQP disposition, ...) and documents the guarantee.
public enum Settlement: Sendable, Hashable, CustomStringConvertible {
    /// Processed: the sender may forget the event.
    case accepted
    /// Processed, with an event to send back where the protocol has a reply (an HTTP
    /// response); bindings without one treat it as ``accepted``.
    case acceptedWithReply(Message)
    /// Refused for good (a poison message); the reason travels back where the protocol can
    /// carry it. The event is not redelivered.
    case rejected(reason: String)
    /// Not processed now: the event should be delivered again (to this or another consumer).
    case released

    /// The decision in words, e.g. `rejected (schema mismatch)`.
    public var description: String {
        switch self {
        case .accepted: "accepted"
        case .acceptedWithReply: "accepted with a reply"
        case .rejected(let reason): "rejected (\(reason))"
        case .released: "released"
        }
    }
}
