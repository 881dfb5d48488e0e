import CloudEvents
import Logging

/// What settling an MQTT delivery means: the binding's whole guarantee to a consumer.
///
/// libmosquitto before 2.1 (Debian 12 ships 2.0.11) acknowledges a QoS 1 message (PUBACK) and
/// completes a QoS 2 one (PUBREC/PUBREL/PUBCOMP) *before* its message callback hands the
/// message to this binding. By the time a consumer sees a delivery, the broker considers it
/// delivered, so every settlement is a local decision:
///
/// | settlement | on the wire | redelivered? |
/// |---|---|---|
/// | ``Settlement/accepted`` | nothing (already acknowledged) | no |
/// | ``Settlement/acceptedWithReply(_:)`` | nothing: MQTT has no reply; as accepted | no |
/// | ``Settlement/rejected(reason:condition:)`` | nothing | no |
/// | ``Settlement/released`` (or the delivery dropped unsettled) | nothing | **no** |
/// | ``Settlement/modified(deliveryFailed:undeliverableHere:)`` | nothing: as released | **no** |
/// | still buffered when the consumer stops iterating | nothing | no: lost to it |
///
/// QoS 0 has no acknowledgement at all. libmosquitto 2.1 and later acknowledge after the
/// callback returns, which is still before a consumer sees the delivery (the callback only
/// queues it), so the table holds for them too (``MQTTClient/acknowledgement``). For
/// at-least-once processing use QoS 1, keep consumers running and make them idempotent.
///
/// Since nothing goes back to the broker, the settlement only reaches the log: a rejection is
/// a refusal (`.warning`), a release or modification (or a delivery dropped unsettled) a drop
/// (`.error`). ``Delivery/settlementOutcome()`` is therefore always `.local`.
///
/// A delivery's ``Delivery/isRedelivered`` and ``Delivery/redeliveryCount`` are `nil`: MQTT's
/// DUP flag would say "may be a redelivery", but libmosquitto's `struct mosquitto_message`
/// does not expose it.
enum MQTTSettlement {
    /// The settlement function for the deliveries of the subscription to `filter`: made once
    /// per subscription, so a delivery allocates nothing for it. Accepting does nothing.
    static func settle(filter: String, logger: Logger) -> @Sendable (Settlement) -> Void {
        { settlement in
            switch settlement {
            case .accepted, .acceptedWithReply:
                break
            case .rejected(let reason, let condition):
                logger.warning(
                    "MQTT delivery rejected by its consumer (not redelivered: libmosquitto acknowledged it on receipt)",
                    metadata: ["filter": "\(filter)", "reason": "\(reason)", "condition": "\(condition)"])
            case .released, .modified:
                logger.error(
                    "MQTT delivery released or dropped unsettled: lost (libmosquitto acknowledged it on receipt)",
                    metadata: ["filter": "\(filter)"])
            }
        }
    }
}
