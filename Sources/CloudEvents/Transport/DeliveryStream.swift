/// The deliveries of a receiver, as an `AsyncSequence` with back-pressure: the binding's
/// producer waits while `capacity` deliveries are waiting for the consumer, so a slow
/// consumer slows the source instead of growing memory or losing events.
///
/// ```swift
/// for try await delivery in receiver.deliveries() {
///     let event = try delivery.event()
///     ...
///     delivery.accept()
/// }
/// ```
///
/// Ending the iteration (leaving the loop, or cancelling the task) terminates the stream;
/// the producer then learns it through ``Continuation/send(_:)`` throwing, and deliveries
/// still queued are released.
public struct DeliveryStream: AsyncSequence, Sendable {
    /// One message waiting to be settled.
    public typealias Element = Delivery

    let queue: DeliveryQueue

    /// Creates a stream and the continuation a binding feeds it through.
    ///
    /// - Parameter capacity: deliveries buffered before ``Continuation/send(_:)`` waits
    ///   (at least 1).
    public static func makeStream(capacity: Int = 64) -> (stream: DeliveryStream, continuation: Continuation) {
        let queue = DeliveryQueue(capacity: Swift.max(1, capacity))
        return (DeliveryStream(queue: queue), Continuation(queue: queue))
    }

    /// An iterator that waits for each delivery in turn.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(queue: queue)
    }

    /// The consumer's end of the stream.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let queue: DeliveryQueue

        /// The next delivery; `nil` when the binding finished the stream.
        ///
        /// - Throws: the error the binding finished with, or `CancellationError`.
        public mutating func next() async throws -> Delivery? {
            try await queue.next()
        }
    }

    /// The binding's end of the stream.
    public struct Continuation: Sendable {
        let queue: DeliveryQueue

        /// Enqueues a delivery, waiting while the stream is full.
        ///
        /// - Throws: ``TransportError`` with code `.closed` when the consumer has gone (the
        ///   delivery was released), or `CancellationError` when the calling task is cancelled.
        public func send(_ delivery: Delivery) async throws {
            try await queue.send(delivery)
        }

        /// Enqueues a delivery only if there is room right now (for producers that must
        /// not wait, such as a C library's callback thread).
        public func trySend(_ delivery: Delivery) -> TrySendResult {
            queue.trySend(delivery)
        }

        /// ``trySend(_:)`` for a producer that pauses while the stream is full: when the
        /// delivery is refused as `.full`, `onRoom` is kept and called once, outside the
        /// stream's lock, when the consumer has taken the buffer down to half its capacity
        /// or stopped iterating (a later call replaces a callback not yet called). So a
        /// thread that cannot await learns when to resume without polling.
        package func trySend(_ delivery: Delivery, onRoom: @escaping @Sendable () -> Void) -> TrySendResult {
            queue.trySend(delivery, onRoom: onRoom)
        }

        /// Ends the stream: the consumer gets the buffered deliveries, then `nil` (or `error`).
        public func finish(throwing error: (any Error)? = nil) {
            queue.finish(error)
        }

        /// Whether the consumer has stopped iterating.
        public var isTerminated: Bool { queue.isTerminated }
    }

    /// What ``Continuation/trySend(_:)`` did with a delivery.
    public enum TrySendResult: Sendable, Equatable {
        case enqueued
        /// The buffer is full; the delivery was not taken.
        case full
        /// The consumer has gone; the delivery was not taken.
        case terminated
    }
}

/// The shared state behind a ``DeliveryStream``: a bounded FIFO with waiting consumers and
/// producers. One `Mutex` guards it; continuations are resumed outside the lock.
final class DeliveryQueue: Sendable {
    private struct Waiter<Value> {
        let id: UInt64
        let continuation: CheckedContinuation<Value, any Error>
    }

    private struct PendingSend {
        let id: UInt64
        let delivery: Delivery
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        /// Slots before `head` are `nil`: the queue must not keep a handed-out delivery
        /// alive, or dropping it unsettled would not release it.
        var buffer: [Delivery?] = []
        var head = 0
        var consumers: [Waiter<Delivery?>] = []
        var producers: [PendingSend] = []
        var finished = false
        var failure: (any Error)?
        var terminated = false
        var nextID: UInt64 = 0
        /// Registered by a refused `trySend(_:onRoom:)`; called once when there is room again.
        var onRoom: (@Sendable () -> Void)?

        var count: Int { buffer.count - head }

        /// The paused producer's callback, once the buffer is down to half: resuming at the
        /// first free slot would pause it again after one delivery.
        mutating func takeOnRoom(capacity: Int) -> (@Sendable () -> Void)? {
            guard onRoom != nil, count <= capacity / 2 else { return nil }
            defer { onRoom = nil }
            return onRoom
        }

        /// The first buffered delivery, with the producer admitted to the room it frees (the
        /// longest-waiting one) and the paused producer's callback if the buffer is now down
        /// to half.
        mutating func takeBuffered(
            capacity: Int
        ) -> (Delivery, admitted: CheckedContinuation<Void, any Error>?, onRoom: (@Sendable () -> Void)?)? {
            guard let delivery = popFirst() else { return nil }
            var admitted: CheckedContinuation<Void, any Error>?
            if !producers.isEmpty {
                let producer = producers.removeFirst()
                buffer.append(producer.delivery)
                admitted = producer.continuation
            }
            return (delivery, admitted, takeOnRoom(capacity: capacity))
        }

        mutating func popFirst() -> Delivery? {
            guard head < buffer.count else { return nil }
            let delivery = buffer[head]
            buffer[head] = nil
            head += 1
            if head > 64 && head * 2 > buffer.count {
                buffer.removeFirst(head)
                head = 0
            }
            return delivery
        }
    }

    private let capacity: Int
    private let state = Locked(State())

    init(capacity: Int) {
        self.capacity = capacity
    }

    var isTerminated: Bool { state.withLock { $0.terminated } }

    func trySend(_ delivery: Delivery, onRoom: (@Sendable () -> Void)? = nil) -> DeliveryStream.TrySendResult {
        enum Action {
            case resume(CheckedContinuation<Delivery?, any Error>)
            case done(DeliveryStream.TrySendResult)
        }
        let action: Action = state.withLock { state in
            if state.terminated || state.finished { return .done(.terminated) }
            if !state.consumers.isEmpty { return .resume(state.consumers.removeFirst().continuation) }
            guard state.count < capacity else {
                if let onRoom { state.onRoom = onRoom }
                return .done(.full)
            }
            state.buffer.append(delivery)
            return .done(.enqueued)
        }
        switch action {
        case .resume(let consumer):
            consumer.resume(returning: delivery)
            return .enqueued
        case .done(let result):
            return result
        }
    }

    func send(_ delivery: Delivery) async throws {
        switch trySend(delivery) {
        case .enqueued: return
        case .terminated: throw TransportError(.closed, "the consumer stopped receiving")
        case .full: break
        }
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Action {
                    case wait
                    case resumeConsumer(CheckedContinuation<Delivery?, any Error>)
                    case fail(any Error)
                    case enqueued
                }
                let action: Action = state.withLock { state in
                    if Task.isCancelled { return .fail(CancellationError()) }
                    if state.terminated || state.finished {
                        return .fail(TransportError(.closed, "the consumer stopped receiving"))
                    }
                    if !state.consumers.isEmpty { return .resumeConsumer(state.consumers.removeFirst().continuation) }
                    if state.count < capacity {
                        state.buffer.append(delivery)
                        return .enqueued
                    }
                    state.producers.append(PendingSend(id: id, delivery: delivery, continuation: continuation))
                    return .wait
                }
                switch action {
                case .wait: break
                case .enqueued: continuation.resume()
                case .resumeConsumer(let consumer):
                    consumer.resume(returning: delivery)
                    continuation.resume()
                case .fail(let error): continuation.resume(throwing: error)
                }
            }
        } onCancel: {
            let pending = state.withLock { state -> PendingSend? in
                guard let index = state.producers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.producers.remove(at: index)
            }
            pending?.continuation.resume(throwing: CancellationError())
        }
    }

    func next() async throws -> Delivery? {
        if Task.isCancelled {
            terminate(cancelledConsumer: 0)
            throw CancellationError()
        }
        // A buffered delivery is handed over without a continuation or a cancellation
        // handler: a consumer that keeps up with a busy binding finds the buffer non-empty
        // on most calls, and both cost allocations and atomics per delivery.
        enum Taken {
            case delivery(Delivery, admitted: CheckedContinuation<Void, any Error>?, onRoom: (@Sendable () -> Void)?)
            case none(id: UInt64)
        }
        let taken = state.withLock { state -> Taken in
            if let (delivery, admitted, onRoom) = state.takeBuffered(capacity: capacity) {
                return .delivery(delivery, admitted: admitted, onRoom: onRoom)
            }
            state.nextID += 1
            return .none(id: state.nextID)
        }
        let id: UInt64
        switch taken {
        case .delivery(let delivery, let admitted, let onRoom):
            admitted?.resume()
            onRoom?()
            return delivery
        case .none(let nextID):
            id = nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Delivery?, any Error>) in
                enum Action {
                    case wait
                    case deliver(Delivery, admitted: CheckedContinuation<Void, any Error>?, onRoom: (@Sendable () -> Void)?)
                    case end((any Error)?)
                }
                let action: Action = state.withLock { state in
                    if let (delivery, admitted, onRoom) = state.takeBuffered(capacity: capacity) {
                        return .deliver(delivery, admitted: admitted, onRoom: onRoom)
                    }
                    if !state.producers.isEmpty {
                        let producer = state.producers.removeFirst()
                        return .deliver(producer.delivery, admitted: producer.continuation, onRoom: nil)
                    }
                    if state.finished || state.terminated { return .end(state.failure) }
                    state.consumers.append(Waiter(id: id, continuation: continuation))
                    return .wait
                }
                switch action {
                case .wait: break
                case .deliver(let delivery, let admitted, let onRoom):
                    admitted?.resume()
                    onRoom?()
                    continuation.resume(returning: delivery)
                case .end(let error):
                    if let error { continuation.resume(throwing: error) } else { continuation.resume(returning: nil) }
                }
            }
        } onCancel: {
            terminate(cancelledConsumer: id)
        }
    }

    func finish(_ error: (any Error)?) {
        let consumers = state.withLock { state -> [Waiter<Delivery?>] in
            guard !state.finished else { return [] }
            state.finished = true
            state.failure = error
            defer { state.consumers = [] }
            return state.consumers
        }
        for consumer in consumers {
            if let error { consumer.continuation.resume(throwing: error) } else { consumer.continuation.resume(returning: nil) }
        }
    }

    /// The consumer went away: wake everyone; queued deliveries are dropped, which releases them.
    private func terminate(cancelledConsumer id: UInt64) {
        let (consumers, producers, onRoom) = state.withLock { state in
            state.terminated = true
            let consumers = state.consumers
            let producers = state.producers
            let onRoom = state.onRoom
            state.consumers = []
            state.producers = []
            state.buffer = []
            state.head = 0
            state.onRoom = nil
            return (consumers, producers, onRoom)
        }
        // A paused producer wakes to find the stream terminated.
        onRoom?()
        for consumer in consumers {
            consumer.continuation.resume(
                throwing: consumer.id == id ? CancellationError() : TransportError(.closed, "the stream was cancelled"))
        }
        for producer in producers {
            producer.continuation.resume(throwing: TransportError(.closed, "the consumer stopped receiving"))
        }
    }
}
