public import CloudEvents
import NIOCore

/// A live subscription of a ``NATSClient``, replayed after every reconnect until it ends.
public final class NATSSubscription: Sendable {
    /// The subject (wildcards allowed).
    public let subject: String
    /// The queue group, if any: the server gives each message to one member of the group.
    public let queueGroup: String?
    let client: NATSClient
    let id: UInt64

    init(client: NATSClient, id: UInt64, subject: String, queueGroup: String?) {
        self.client = client
        self.id = id
        self.subject = subject
        self.queueGroup = queueGroup
    }

    /// Ends the subscription now (`UNSUB <sid>`), or once it has received `afterMessages`
    /// messages in all, counting those already received (`UNSUB <sid> <max>`, as NATS counts);
    /// its consumer is finished then. Does nothing once it has ended.
    ///
    /// - Parameter afterMessages: the total number of messages after which it ends, or `nil` for now.
    public func unsubscribe(afterMessages: Int? = nil) async {
        guard let afterMessages else {
            client.endSubscription(id, failure: nil)
            return
        }
        let (done, schedule) = client.state.withLock { state -> (Bool, Bool) in
            guard let subscription = state.subscriptions[id] else { return (false, false) }
            guard subscription.received < afterMessages else { return (true, false) }
            state.subscriptions[id]?.maximum = afterMessages
            guard case .connected = state.phase else { return (false, false) }
            return (false, state.append(.unsubscribe(subscriptionID: id, afterMessages: afterMessages)))
        }
        if done { client.endSubscription(id, failure: nil) }
        if schedule { client.eventLoop.execute { self.client.flushOutbound() } }
    }
}

extension NATSClient {
    /// Subscribes (`SUB`, replayed after every reconnect); each message goes to `consumer` on
    /// the event loop, in order. When the consumer answers ``NATSConsumerResult/full`` the
    /// client holds that message and the ones after it and offers it again once the consumer
    /// calls `onRoom`; past 4 MiB held it stops reading the socket (nothing is dropped by the
    /// client; every subscription of the client waits meanwhile: give a slow consumer a client
    /// of its own).
    ///
    /// - Parameters:
    ///   - subject: the subject; `*` matches one token, `>` the rest.
    ///   - queueGroup: a queue group to share the messages with its other members.
    ///   - consumer: where the messages go.
    /// - Returns: the subscription.
    /// - Throws: ``TransportError``: `.invalidMessage` for a subject or queue group NATS
    ///   cannot carry; `.closed` after ``close()``.
    public func subscribe(
        to subject: String, queueGroup: String? = nil, consumer: NATSMessageConsumer
    ) async throws(TransportError) -> NATSSubscription {
        try NATSSubject.validate(subject, allowsWildcards: true)
        if let queueGroup { try NATSSubject.validateQueueGroup(queueGroup) }
        let (id, schedule) = try state.withLock { (state) throws(TransportError) -> (UInt64, Bool) in
            if let error = state.closedError("subscribe to '\(subject)'") { throw error }
            let id = state.nextSubscriptionID
            state.nextSubscriptionID += 1
            state.subscriptions[id] = NATSSubscriptionRecord(subject: subject, queueGroup: queueGroup, consumer: consumer)
            // While reconnecting the replay subscribes it.
            guard case .connected = state.phase else { return (id, false) }
            return (id, state.append(.subscribe(subject: subject, queueGroup: queueGroup, subscriptionID: id)))
        }
        if schedule { eventLoop.execute { self.flushOutbound() } }
        return NATSSubscription(client: self, id: id, subject: subject, queueGroup: queueGroup)
    }

    /// Subscribes and returns the messages as an `AsyncSequence` buffering up to `capacity`
    /// (beyond it the client pauses reading, see ``subscribe(to:queueGroup:consumer:)``).
    /// The sequence ends when the iteration stops (it unsubscribes then), the subscription
    /// ends, or the client closes; it throws when the client gave up reconnecting.
    ///
    /// - Parameters:
    ///   - subject: the subject; `*` matches one token, `>` the rest.
    ///   - queueGroup: a queue group to share the messages with its other members.
    ///   - capacity: messages buffered before the client stops reading (at least 1).
    /// - Returns: the messages.
    /// - Throws: what ``subscribe(to:queueGroup:consumer:)`` throws.
    public func messages(
        on subject: String, queueGroup: String? = nil, capacity: Int = 1024
    ) async throws(TransportError) -> NATSMessageStream {
        let buffer = NATSMessageBuffer(capacity: Swift.max(1, capacity))
        let subscription = try await subscribe(to: subject, queueGroup: queueGroup, consumer: buffer.consumer)
        buffer.setSubscription(subscription)
        return NATSMessageStream(buffer: buffer)
    }
}
