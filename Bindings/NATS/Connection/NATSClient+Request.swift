public import CloudEvents
import NIOCore

extension NATSClient {
    /// Sends `message` as a request and waits for the first reply, through one wildcard inbox
    /// subscription per client (`_INBOX.<22 random characters>.*`, made on the first request);
    /// the reply subject's last token names the request.
    ///
    /// - Parameters:
    ///   - message: the request; its `replyTo` is replaced by the inbox subject.
    ///   - timeout: how long to wait for the reply; the operation timeout by default.
    /// - Returns: the reply.
    /// - Throws: ``TransportError``: `.notDelivered` "no responders for '<subject>'" when the
    ///   server answered that nobody subscribes (status 503); `.timedOut` when no reply came in
    ///   time, or with a `CancellationError` underlying when the task was cancelled; what
    ///   ``publish(_:)`` throws.
    public func request(_ message: NATSMessage, timeout: Duration? = nil) async throws(TransportError) -> NATSMessage {
        let timeout = timeout ?? configuration.operationTimeout
        let promise = eventLoop.makePromise(of: NATSMessage.self)
        let (token, inbox, subscribe) = try state.withLock {
            (state) throws(TransportError) -> (String, String, (id: UInt64, schedule: Bool)?) in
            if let error = state.closedError("request on '\(message.subject)'") {
                promise.fail(error)  // a promise must be completed before it goes
                throw error
            }
            var subscribe: (UInt64, Bool)?
            if state.inboxPrefix == nil {
                let prefix = "_INBOX." + Self.randomToken(count: 22)
                let id = state.nextSubscriptionID
                state.nextSubscriptionID += 1
                state.inboxPrefix = prefix
                state.subscriptions[id] = NATSSubscriptionRecord(subject: prefix + ".*", queueGroup: nil, consumer: inboxConsumer)
                if case .connected = state.phase {
                    subscribe = (id, state.append(.subscribe(subject: prefix + ".*", queueGroup: nil, subscriptionID: id)))
                }
            }
            let token = String(state.nextRequestToken, radix: 36)
            state.nextRequestToken += 1
            state.requests[token] = NATSPendingRequest(subject: message.subject, promise: promise)
            return (token, state.inboxPrefix! + "." + token, subscribe)
        }
        if subscribe?.schedule == true { eventLoop.execute { self.flushOutbound() } }
        var request = message
        request.replyTo = inbox
        do {
            try await publish(request)
        } catch {
            _ = state.withLock { $0.requests.removeValue(forKey: token) }
            promise.fail(error)
            throw error
        }
        let timer = eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            guard self.state.withLock({ $0.requests.removeValue(forKey: token) }) != nil else { return }
            promise.fail(TransportError(.timedOut, "no reply to the request on '\(message.subject)' within \(timeout)"))
        }
        defer { timer.cancel() }
        let reply: NATSMessage
        do {
            reply = try await withTaskCancellationHandler {
                try await promise.futureResult.get()
            } onCancel: {
                _ = self.state.withLock { $0.requests.removeValue(forKey: token) }
                promise.fail(
                    TransportError(
                        .timedOut, "the request on '\(message.subject)' was cancelled", underlying: CancellationError()))
            }
        } catch {
            throw Self.transportError(error, "request on '\(message.subject)'")
        }
        if reply.headers?.status == 503 {
            throw TransportError(.notDelivered, "no responders for '\(message.subject)'", peerStatus: 503, isTransient: true)
        }
        return reply
    }

    /// The inbox subscription's consumer: completes the request its reply subject names.
    private var inboxConsumer: NATSMessageConsumer {
        NATSMessageConsumer(
            deliver: { [weak self] message, _ in
                guard let self, let dot = message.subject.lastIndex(of: ".") else { return .taken }
                let token = String(message.subject[message.subject.index(after: dot)...])
                let request = state.withLock { $0.requests.removeValue(forKey: token) }
                request?.promise.succeed(message)
                return .taken
            }, finish: { _ in })
    }

    /// `count` random characters of `[0-9A-Za-z]`.
    static func randomToken(count: Int) -> String {
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
        var generator = SystemRandomNumberGenerator()
        return String(
            decoding: (0..<count).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] }, as: UTF8.self)
    }
}
