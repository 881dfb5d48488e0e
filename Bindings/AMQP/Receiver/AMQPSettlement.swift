public import CloudEvents

/// What settling an AMQP delivery does: the binding's whole guarantee to a consumer. Each
/// settlement is the delivery's real disposition, sent and settled on the connection's
/// thread:
///
/// | settlement | disposition | redelivered? |
/// |---|---|---|
/// | ``Settlement/accepted``, ``Settlement/acceptedWithReply(_:)`` | `accepted` | no |
/// | ``Settlement/rejected(reason:condition:)`` | `rejected`, error condition and description | no (a broker may dead-letter it) |
/// | ``Settlement/released`` (or the delivery dropped unsettled) | `released` | yes, to any consumer |
/// | ``Settlement/modified(deliveryFailed:undeliverableHere:)`` | `modified` with its flags (`released` to RabbitMQ 3.x, which refuses `modified`) | yes |
/// | the connection lost before settling | nothing can be sent | yes: the broker delivers it again |
///
/// ``Delivery/settlementOutcome()`` says `.reachedPeer` once the disposition was handed to
/// the connection, `.local` for a message the peer sent pre-settled, `.failed` when the link
/// or connection the delivery came on was gone.
enum AMQPSettlement {
    /// The disposition for `settlement`.
    static func disposition(for settlement: Settlement) -> AMQPDisposition {
        switch settlement {
        case .accepted, .acceptedWithReply:
            .accepted
        case .rejected(let reason, let condition):
            .rejected(condition: condition.rawValue, description: reason)
        case .released:
            .released
        case .modified(let deliveryFailed, let undeliverableHere):
            .modified(deliveryFailed: deliveryFailed, undeliverableHere: undeliverableHere)
        }
    }

    /// Sends `settlement` for `delivery` and reports what became of it on `report`.
    static func settle(_ delivery: AMQPIncomingDelivery, _ settlement: Settlement, report: SettlementReport) {
        delivery.settle(disposition(for: settlement)) { outcome in
            switch outcome {
            case .reachedPeer: report.reachedPeer()
            case .local: report.local()
            case .failed(let error): report.failed(error)
            }
        }
    }
}

extension AMQPIncomingDelivery {
    /// Settles with the core `settlement` (its AMQP disposition, see the table of the
    /// receiver's documentation) and reports the outcome on `report`.
    public func settle(_ settlement: Settlement, report: SettlementReport) {
        AMQPSettlement.settle(self, settlement, report: report)
    }
}
