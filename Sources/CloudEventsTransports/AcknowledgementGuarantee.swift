/// What a sender learns when its send returns: how far the consumer's settlement travels back.
///
/// A bridge relies on it: it may settle its source's delivery with the sink's outcome only
/// when the sink's binding gives ``consumerSettlement``.
public enum AcknowledgementGuarantee: Sendable, Hashable, CustomStringConvertible {
    /// The consumer's settlement reaches the sender: a send returns once the consumer
    /// accepted, and fails when it rejected. HTTP (the response status), AMQP 1.0 (the
    /// disposition), the in-process channel.
    case consumerSettlement
    /// The broker acknowledges the message before any consumer sees it: a send returns once
    /// the broker has it, and settling a delivery is local to the consumer (a release does
    /// not make the broker redeliver). MQTT with libmosquitto 2.0 (the PUBACK goes out before
    /// the message callback runs).
    case brokerBeforeConsumer
    /// No acknowledgement at all: a send returns once the bytes are written; a message may
    /// be lost. Core NATS.
    case none

    /// `consumer settlement`, `broker before consumer` or `none`.
    public var description: String {
        switch self {
        case .consumerSettlement: "consumer settlement"
        case .brokerBeforeConsumer: "broker before consumer"
        case .none: "none"
        }
    }
}
