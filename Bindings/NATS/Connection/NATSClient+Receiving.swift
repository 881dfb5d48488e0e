import CloudEvents
import Logging
import NIOCore

extension NATSClient {
    /// Routes a message to its subscription's consumer; `false` when the consumer was full
    /// (the caller holds the message and offers it again on `onRoom`). On the loop.
    ///
    /// - Parameter counted: whether an earlier offer counted it already (statistics, limit).
    func deliver(
        _ message: NATSMessage, to subscriptionID: UInt64, counted: Bool, onRoom: @escaping @Sendable () -> Void
    ) -> Bool {
        let (consumer, limited) = state.withLock { state -> (NATSMessageConsumer?, Bool) in
            if !counted {
                state.statistics.messagesIn += 1
                state.statistics.bytesIn += message.payload.count
                state.subscriptions[subscriptionID]?.received += 1
            }
            let subscription = state.subscriptions[subscriptionID]
            return (subscription?.consumer, subscription?.maximum != nil)
        }
        // A message for a subscription that just ended (its UNSUB crossed the message): dropped.
        guard let consumer else { return true }
        switch consumer.deliver(message, onRoom) {
        case .full:
            return false
        case .taken:
            // Only a subscription with a message limit can have ended now.
            guard limited else { return true }
            let done = state.withLock { state -> Bool in
                guard let subscription = state.subscriptions[subscriptionID], let maximum = subscription.maximum,
                    subscription.received >= maximum
                else { return false }
                state.subscriptions[subscriptionID] = nil
                return true
            }
            if done { consumer.finish(nil) }
        case .terminated:
            endSubscription(subscriptionID, failure: nil)
        }
        return true
    }

    /// Removes a subscription, sends `UNSUB` if connected, and finishes its consumer.
    func endSubscription(_ subscriptionID: UInt64, failure: (any Error)?) {
        let (consumer, schedule) = state.withLock { state -> (NATSMessageConsumer?, Bool) in
            guard let subscription = state.subscriptions.removeValue(forKey: subscriptionID) else { return (nil, false) }
            guard case .connected = state.phase else { return (subscription.consumer, false) }
            return (subscription.consumer, state.append(.unsubscribe(subscriptionID: subscriptionID, afterMessages: nil)))
        }
        if schedule { eventLoop.execute { self.flushOutbound() } }
        consumer?.finish(failure)
    }

    /// A PONG to one of the client's PINGs: resets the keepalive count, answers the oldest
    /// waiter. On the loop.
    func pongReceived(_ channel: any Channel) {
        let waiter = state.withLock { state -> NATSPongWaiter? in
            guard state.channel === channel else { return nil }
            state.outstandingPings = 0
            return state.pongWaiters.popFirst()
        }
        if case .flush(let promise) = waiter { promise.succeed() }
    }

    /// The keepalive timer fired: sends a PING, or returns why the connection is stale. On the loop.
    func keepaliveTick(_ channel: any Channel) -> String? {
        let (stale, schedule) = state.withLock { state -> (Bool, Bool) in
            guard state.channel === channel else { return (false, false) }
            guard state.outstandingPings < configuration.maximumOutstandingPings else { return (true, false) }
            state.outstandingPings += 1
            state.pongWaiters.append(.keepalive)
            return (false, state.append(.ping))
        }
        if schedule { flushOutbound() }
        return stale ? "stale connection: \(configuration.maximumOutstandingPings) PINGs unanswered" : nil
    }

    /// A later INFO (cluster changes, lame-duck mode). On the loop.
    func serverInfoUpdated(_ info: NATSServerInfo, channel: any Channel) {
        let server = state.withLock { state -> NATSServerAddress? in
            guard state.channel === channel else { return nil }
            state.learn(info)
            return state.server
        }
        if info.lameDuckMode, let server {
            logger.warning("the NATS server is entering lame-duck mode", metadata: ["server": "\(server)"])
        }
    }

    /// The server's `-ERR` on an established connection: logs it, and returns the reason to
    /// close the connection for when the error is fatal (the server closes it then anyway).
    /// Permission and subject errors are not fatal. On the loop.
    func serverError(_ text: String, channel: any Channel) -> String? {
        let lowered = text.lowercased()
        let server = state.withLock { $0.server }
        if lowered.hasPrefix("permissions violation") {
            logger.warning("the NATS server refused an operation", metadata: ["server": "\(server)", "reason": "\(text)"])
            if lowered.hasPrefix("permissions violation for subscription to ") {
                refuseSubscriptions(text: text)
            }
            return nil
        }
        if lowered.hasPrefix("invalid subject") {
            logger.warning("the NATS server refused a subject", metadata: ["server": "\(server)", "reason": "\(text)"])
            return nil
        }
        if lowered.contains("slow consumer") {
            state.withLock { $0.statistics.slowConsumerReports += 1 }
            logger.warning(
                "the NATS server reports this client as a slow consumer: it dropped messages for it",
                metadata: ["server": "\(server)", "reason": "\(text)"])
        } else {
            logger.error("the NATS server sent an error", metadata: ["server": "\(server)", "reason": "\(text)"])
        }
        return "the server answered -ERR '\(text)'"
    }

    /// Ends the subscriptions to the subject a `Permissions Violation for Subscription to "x"`
    /// names, failing their consumers with `.notAuthorized`.
    private func refuseSubscriptions(text: String) {
        let prefix = "permissions violation for subscription to "
        var subject = String(text.dropFirst(prefix.count))
        if subject.hasPrefix("\"") { subject.removeFirst() }
        if let quote = subject.firstIndex(of: "\"") { subject = String(subject[..<quote]) }
        let refused = state.withLock { state in
            state.subscriptions.filter { $0.value.subject == subject }.map(\.key)
        }
        let error = TransportError(.notAuthorized, "the NATS server refused the subscription to '\(subject)': \(text)")
        for id in refused { endSubscription(id, failure: error) }
    }
}
