/// What a consumer answered to a message offered to it.
public enum NATSConsumerResult: Sendable, Hashable {
    /// It took the message.
    case taken
    /// It has no room: the client keeps the message (and every later one, in order), and
    /// offers the same message again once the consumer calls the `onRoom` it was given. The
    /// client reads on meanwhile (PONGs and errors must be seen) until it holds 4 MiB of
    /// payloads; then it stops reading the socket until the consumer catches up.
    case full
    /// It is gone: the client drops the message and unsubscribes.
    case terminated
}

/// Where a subscription's messages go: called on the client's event loop, one message at a
/// time, in the order the server sent them.
///
/// `deliver` must not block (it runs on the event loop): answer ``NATSConsumerResult/full``
/// instead and call `onRoom` (from any thread) once there is room; the client then offers the
/// same message again. `finish` is called once when the subscription ends: `nil` after an
/// unsubscribe (or its message limit) or ``NATSClient/close()``, the error when the client gave
/// up reconnecting or the server refused the subscription.
public struct NATSMessageConsumer: Sendable {
    let deliver: @Sendable (NATSMessage, _ onRoom: @escaping @Sendable () -> Void) -> NATSConsumerResult
    let finish: @Sendable ((any Error)?) -> Void

    /// A consumer.
    ///
    /// - Parameters:
    ///   - deliver: takes one message, or answers `.full` and calls `onRoom` later.
    ///   - finish: called once when the subscription ends.
    public init(
        deliver: @escaping @Sendable (NATSMessage, _ onRoom: @escaping @Sendable () -> Void) -> NATSConsumerResult,
        finish: @escaping @Sendable ((any Error)?) -> Void
    ) {
        self.deliver = deliver
        self.finish = finish
    }
}
