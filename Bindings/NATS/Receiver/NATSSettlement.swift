import CloudEvents
import Logging

/// What settling a NATS delivery does: the binding's whole guarantee to a consumer.
///
/// Core NATS has no acknowledgements: the server forgot the message once it wrote it to the
/// subscriber's socket, so every settlement is a local decision, except a reply:
///
/// | settlement | on the wire | redelivered? | ``Delivery/settlementOutcome()`` |
/// |---|---|---|---|
/// | ``Settlement/accepted`` | nothing | no | `.local` |
/// | ``Settlement/acceptedWithReply(_:)`` | the reply, published to the message's reply subject | no | `.reachedPeer` once the connection has it; `.failed` without a reply subject or when the publish fails |
/// | ``Settlement/rejected(reason:condition:)`` | nothing (logged at debug) | no | `.local` |
/// | ``Settlement/released`` (or the delivery dropped unsettled) | nothing (logged at debug) | **no** | `.local` |
/// | ``Settlement/modified(deliveryFailed:undeliverableHere:)`` | nothing: as released | **no** | `.local` |
///
/// A delivery's ``Delivery/isRedelivered`` and ``Delivery/redeliveryCount`` are `nil`: core
/// NATS never redelivers.
enum NATSSettlement {
    /// Settles the delivery of `message` (received on `client`) with `settlement`, reporting
    /// on `report`.
    static func settle(
        _ settlement: Settlement, of message: NATSMessage, client: NATSClient, logger: Logger, report: SettlementReport
    ) {
        switch settlement {
        case .accepted:
            report.local()
        case .acceptedWithReply(let reply):
            Self.reply(reply, to: message, client: client, logger: logger, report: report)
        case .rejected(let reason, let condition):
            logger.debug(
                "NATS delivery rejected by its consumer (core NATS: nothing goes back, not redelivered)",
                metadata: ["subject": "\(message.subject)", "reason": "\(reason)", "condition": "\(condition)"])
            report.local()
        case .released, .modified:
            logger.debug(
                "NATS delivery released or dropped unsettled (core NATS: not redelivered)",
                metadata: ["subject": "\(message.subject)"])
            report.local()
        }
    }

    /// Publishes `reply` to the reply subject of `message`.
    private static func reply(
        _ reply: Message, to message: NATSMessage, client: NATSClient, logger: Logger, report: SettlementReport
    ) {
        guard let replyTo = message.replyTo else {
            logger.debug(
                "a reply to a NATS message without a reply subject is dropped", metadata: ["subject": "\(message.subject)"])
            report.failed(
                TransportError(.invalidMessage, "the message on '\(message.subject)' has no reply subject to answer on"))
            return
        }
        let answer: NATSMessage
        do {
            answer = try NATSMessage(subject: replyTo, message: reply, serverSupportsHeaders: client.serverInfo.headers)
        } catch {
            report.failed(TransportError(.invalidMessage, "cannot write the reply to '\(replyTo)': \(error)", underlying: error))
            return
        }
        // Settling must not block the consumer: the publish (which waits only while the socket
        // is not writable) runs in a task of its own, and its outcome goes to the report.
        Task {
            do throws(TransportError) {
                try await client.publish(answer)
                report.reachedPeer()
            } catch {
                logger.debug(
                    "cannot publish a NATS reply", metadata: ["reply_subject": "\(replyTo)", "error": "\(error)"])
                report.failed(error)
            }
        }
    }
}
