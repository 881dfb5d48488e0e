public import CloudEvents

/// The outcome a receiver sends for a delivery (its AMQP disposition, settled at once).
public enum AMQPDisposition: Sendable, Hashable {
    /// `accepted`: processed.
    case accepted
    /// `rejected` with an error condition (a symbol such as `amqp:decode-error`) and a
    /// description: refused for good.
    case rejected(condition: String, description: String)
    /// `released`: not processed; the peer may deliver it again (to any consumer).
    case released
    /// `modified`: not processed; `deliveryFailed` counts the attempt (the peer raises the
    /// message's delivery-count), `undeliverableHere` asks not to give it to this link again.
    case modified(deliveryFailed: Bool, undeliverableHere: Bool)
}

/// What became of a disposition.
public enum AMQPDispositionOutcome: Sendable {
    /// Handed to the connection, which writes it to the peer.
    case reachedPeer
    /// Nothing to send: the peer had settled the delivery itself (sent pre-settled).
    case local
    /// The link or connection the delivery came on was gone: the peer redelivers (a broker)
    /// or has lost it.
    case failed(TransportError)
}

/// One message received on a link: its encoded bytes (an AMQP message: header, properties,
/// application-properties, body) and the handle to settle it.
public struct AMQPIncomingDelivery: Sendable {
    /// The encoded message, as it arrived.
    public let bytes: [UInt8]
    /// The link's address: the source a receiver link reads from, or the target a peer's
    /// sender attached to (listener mode).
    public let address: String
    let settler: @Sendable (AMQPDisposition, @escaping @Sendable (AMQPDispositionOutcome) -> Void) -> Void

    /// Sends `disposition` and settles the delivery (on the connection's thread; any thread
    /// may call it). Only the first call counts on the wire.
    ///
    /// - Parameter completion: told what became of it, from the connection's thread.
    public func settle(
        _ disposition: AMQPDisposition, completion: @escaping @Sendable (AMQPDispositionOutcome) -> Void = { _ in }
    ) {
        settler(disposition, completion)
    }
}

/// What a receiver link's consumer did with a delivery.
public enum AMQPIntakeResult: Sendable, Equatable {
    /// Taken (the consumer settles it later).
    case taken
    /// No room: the link holds it (and any that follow) and grants no more credit until the
    /// consumer calls the `onRoom` it was given.
    case full
    /// The consumer has gone: the link is detached.
    case terminated
}

/// Where a receiver link hands its deliveries: called on the connection's thread, one
/// delivery at a time, in order; it must not block.
public struct AMQPDeliveryConsumer: Sendable {
    let deliver: @Sendable (AMQPIncomingDelivery, _ onRoom: @escaping @Sendable () -> Void) -> AMQPIntakeResult
    let finish: @Sendable ((any Error)?) -> Void

    /// A consumer.
    ///
    /// - Parameters:
    ///   - deliver: takes one delivery, or answers `.full` and calls `onRoom` (once, from
    ///     any thread) when it has room again, or `.terminated`.
    ///   - finish: called once when the link ends for good (the connection closed, or the
    ///     peer detached it), with the error if it was one.
    public init(
        deliver: @escaping @Sendable (AMQPIncomingDelivery, _ onRoom: @escaping @Sendable () -> Void) -> AMQPIntakeResult,
        finish: @escaping @Sendable ((any Error)?) -> Void
    ) {
        self.deliver = deliver
        self.finish = finish
    }
}
