/// What became of a delivery's settlement: see ``Delivery/settlementOutcome()``.
public enum SettlementOutcome: Sendable, Hashable, CustomStringConvertible {
    /// The binding wrote the settlement to the peer (an AMQP disposition, an HTTP response).
    case reachedPeer
    /// Nothing went to the peer for it: the protocol has no per-message answer, or the answer
    /// went out earlier (MQTT with libmosquitto 2.0 acknowledges on receipt), or the channel is
    /// in-process.
    case local
    /// The settlement could not reach the peer (the link or connection went away first): the
    /// peer will redeliver the message, or has lost it. The code and message of the
    /// ``TransportError`` that said so.
    case failed(TransportError.Code, String)

    /// `reached the peer`, `local`, or `failed: <code>: <message>`.
    public var description: String {
        switch self {
        case .reachedPeer: "reached the peer"
        case .local: "local"
        case .failed(let code, let message): "failed: \(code): \(message)"
        }
    }

    /// What a wait that was cancelled before the outcome was known returns.
    static let cancelled = SettlementOutcome.failed(
        .closed, "the wait for the settlement's outcome was cancelled before the binding reported it")
}

/// Handed to a binding with a delivery's settlement (by the ``Delivery`` initialisers whose
/// `settle` takes a report):
/// the binding calls exactly one of ``reachedPeer()``, ``local()`` or ``failed(_:)`` once it
/// has done what it can with the settlement, later and from any thread. Only the first call
/// counts.
///
/// A report dropped without any call reports `.failed(.closed, …)`, so that nobody waits for
/// it forever.
public final class SettlementReport: Sendable {
    /// Shared with the delivery, which waits on it without keeping the report alive: a
    /// report dropped unanswered can then end the wait.
    let slot = OutcomeSlot()

    /// A report nobody has answered yet. Bindings get theirs from the delivery; tests of a
    /// binding's settlement code make their own and await ``settlementOutcome()``.
    public init() {}

    deinit {
        let dropped = SettlementOutcome.failed(.closed, "the binding dropped the settlement without reporting its outcome")
        slot.outcome.set(dropped)?.resume()
    }

    /// The settlement was written to the peer.
    public func reachedPeer() { report(.reachedPeer) }

    /// Nothing goes to the peer for this settlement (or it went earlier).
    public func local() { report(.local) }

    /// The settlement could not reach the peer, as `error` says.
    public func failed(_ error: TransportError) { report(.failed(error.code, error.message)) }

    /// The outcome, once reported.
    public var outcome: SettlementOutcome? { slot.outcome.value }

    /// Waits for the binding's report. A cancelled wait returns `.failed(.closed, …)` at once.
    public func settlementOutcome() async -> SettlementOutcome {
        await slot.outcome.wait() ?? .cancelled
    }

    private func report(_ outcome: SettlementOutcome) {
        slot.outcome.set(outcome)?.resume()
    }
}

/// Where a ``SettlementReport``'s outcome is kept.
final class OutcomeSlot: Sendable {
    let outcome = SetOnce<SettlementOutcome>()
}
