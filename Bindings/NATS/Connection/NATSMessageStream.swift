import CloudEvents
import NIOCore

/// A subscription's messages as an `AsyncSequence` (from ``NATSClient/messages(on:queueGroup:capacity:)``).
///
/// Ends when the subscription ends or the client closes; throws the client's error when it gave
/// up reconnecting. Dropping the sequence and its iterator, or cancelling the iterating task,
/// unsubscribes. Iterate it from one task at a time.
public struct NATSMessageStream: AsyncSequence, Sendable {
    public typealias Element = NATSMessage

    let buffer: NATSMessageBuffer
    private let lifetime: Lifetime

    init(buffer: NATSMessageBuffer) {
        self.buffer = buffer
        lifetime = Lifetime(buffer: buffer)
    }

    /// Unsubscribes when the last copy of the sequence and its iterators is gone.
    final class Lifetime: Sendable {
        let buffer: NATSMessageBuffer
        init(buffer: NATSMessageBuffer) { self.buffer = buffer }
        deinit { buffer.terminate() }
    }

    /// The iterator.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let buffer: NATSMessageBuffer
        let lifetime: Lifetime

        /// The next message, or `nil` once the subscription ended.
        ///
        /// - Throws: the client's ``TransportError`` when it gave up reconnecting.
        public mutating func next() async throws -> NATSMessage? {
            try await buffer.next()
        }
    }

    /// An iterator over the messages.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(buffer: buffer, lifetime: lifetime)
    }
}

/// The bounded buffer between a subscription's consumer (the event loop) and a
/// ``NATSMessageStream``'s iterator; its state sits behind one lock (`Locked`).
final class NATSMessageBuffer: Sendable {
    private struct State {
        var queue = CircularBuffer<NATSMessage>()
        /// The `onRoom` of the message the consumer answered `.full` to.
        var room: (@Sendable () -> Void)?
        var waiter: CheckedContinuation<NATSMessage?, any Error>?
        var finished = false
        var failure: (any Error)?
        var terminated = false
        var subscription: NATSSubscription?
    }

    let capacity: Int
    private let state = Locked(State())

    init(capacity: Int) {
        self.capacity = capacity
    }

    func setSubscription(_ subscription: NATSSubscription) {
        let terminated = state.withLock { state in
            state.subscription = subscription
            return state.terminated
        }
        if terminated { subscription.client.endSubscription(subscription.id, failure: nil) }
    }

    var consumer: NATSMessageConsumer {
        NATSMessageConsumer(deliver: { message, onRoom in self.offer(message, onRoom: onRoom) }, finish: { self.finish($0) })
    }

    private func offer(_ message: NATSMessage, onRoom: @escaping @Sendable () -> Void) -> NATSConsumerResult {
        let (result, waiter) = state.withLock { state -> (NATSConsumerResult, CheckedContinuation<NATSMessage?, any Error>?) in
            if state.terminated { return (.terminated, nil) }
            if let waiter = state.waiter {
                state.waiter = nil
                return (.taken, waiter)
            }
            guard state.queue.count < capacity else {
                state.room = onRoom
                return (.full, nil)
            }
            state.queue.append(message)
            return (.taken, nil)
        }
        waiter?.resume(returning: message)
        return result
    }

    private func finish(_ failure: (any Error)?) {
        let (waiter, room) = state.withLock { state -> (CheckedContinuation<NATSMessage?, any Error>?, (@Sendable () -> Void)?) in
            state.finished = true
            state.failure = failure
            state.subscription = nil
            defer {
                state.waiter = nil
                state.room = nil
            }
            return (state.waiter, state.room)
        }
        // The held message's subscription is gone: the client drops it and reads on.
        room?()
        guard let waiter else { return }
        if let failure { waiter.resume(throwing: failure) } else { waiter.resume(returning: nil) }
    }

    /// The iteration stopped: unsubscribes, drops what is buffered.
    func terminate() {
        let (waiter, room, subscription) = state.withLock {
            state -> (CheckedContinuation<NATSMessage?, any Error>?, (@Sendable () -> Void)?, NATSSubscription?) in
            state.terminated = true
            state.queue.removeAll()
            defer {
                state.waiter = nil
                state.room = nil
                state.subscription = nil
            }
            return (state.waiter, state.room, state.subscription)
        }
        waiter?.resume(returning: nil)
        if let subscription { subscription.client.endSubscription(subscription.id, failure: nil) }
        room?()
    }

    func next() async throws -> NATSMessage? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<NATSMessage?, any Error>) in
                enum Next {
                    case message(NATSMessage, (@Sendable () -> Void)?)
                    case end((any Error)?)
                    case wait
                }
                let next = state.withLock { state -> Next in
                    if let message = state.queue.popFirst() {
                        defer { state.room = nil }
                        return .message(message, state.room)
                    }
                    if state.terminated || state.finished {
                        defer { state.failure = nil }
                        return .end(state.failure)
                    }
                    state.waiter = continuation
                    return .wait
                }
                switch next {
                case .message(let message, let room):
                    continuation.resume(returning: message)
                    room?()
                case .end(let failure):
                    if let failure { continuation.resume(throwing: failure) } else { continuation.resume(returning: nil) }
                case .wait:
                    break
                }
            }
        } onCancel: {
            terminate()
        }
    }
}
