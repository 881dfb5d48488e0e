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

    /// Hands every delivery to `intake` on the thread that produced it, synchronously,
    /// instead of queuing it for an iterator: for a consumer that must take a message before
    /// the binding's callback returns (a bridge appending to its durable buffer inside
    /// libmosquitto's message callback, so that nothing the broker considers delivered is
    /// only in memory).
    ///
    /// Deliveries already queued go to `intake` first, in order. When `intake` answers
    /// `.full`, the delivery it refused and the ones after it wait in the stream's buffer,
    /// and once that is full the binding pauses its source, exactly as for a slow iterator;
    /// call ``InlineIntake/resume()`` when there is room again. Use either this or iteration,
    /// not both.
    ///
    /// - Parameter intake: takes one delivery (and settles it) or answers `.full`. Called
    ///   from the binding's threads, one call at a time per producer thread, never under a lock.
    /// - Returns: the handle to resume a paused intake with.
    public func consumeInline(_ intake: @escaping @Sendable (Delivery) -> InlineIntakeResult) -> InlineIntake {
        queue.installInline(intake)
        return InlineIntake(queue: queue)
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

/// What an inline consumer (``DeliveryStream/consumeInline(_:)``) did with a delivery.
public enum InlineIntakeResult: Sendable, Equatable {
    /// Taken: the consumer owns it now (and has settled it or will).
    case taken
    /// Not taken: the consumer has no room. The delivery waits in the stream until
    /// ``InlineIntake/resume()``.
    case full
}

/// The handle of an inline consumer: resumes it after it answered `.full`.
public struct InlineIntake: Sendable {
    let queue: DeliveryQueue

    /// Offers the waiting deliveries to the consumer again, in order, on the calling thread;
    /// once they are all taken, a paused binding resumes reading. Harmless when nothing waits.
    public func resume() { queue.resumeInline() }

    /// Deliveries waiting in the stream for the consumer to have room.
    public var waiting: Int { queue.waitingCount }
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
        /// The inline consumer, when one is installed (see ``DeliveryStream/consumeInline(_:)``).
        var inline: (@Sendable (Delivery) -> InlineIntakeResult)?
        /// The inline consumer answered `.full` and has not been resumed.
        var inlinePaused = false
        /// A thread is handing buffered deliveries to the inline consumer: producers queue
        /// behind it, so that the consumer sees deliveries in order.
        var inlineDraining = false
        /// Producers waiting in `send(_:)` for the inline consumer to have room.
        var inlineWaiters: [@Sendable () -> Void] = []
        /// Counts ``InlineIntake/resume()`` calls: a consumer that answers `.full` and makes
        /// room before the answer is recorded (its callback fired at once) must not leave the
        /// stream paused, so a `.full` only pauses when no resume came in the meantime.
        var inlineResumes: UInt64 = 0

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
        enum InlineAction {
            case none
            case offer(@Sendable (Delivery) -> InlineIntakeResult, resumes: UInt64)
        }
        var inlineAction = InlineAction.none
        let action: Action = state.withLock { state in
            if state.terminated || state.finished { return .done(.terminated) }
            if let inline = state.inline, !state.inlinePaused, !state.inlineDraining, state.count == 0 {
                inlineAction = .offer(inline, resumes: state.inlineResumes)
                return .done(.enqueued)
            }
            if !state.consumers.isEmpty { return .resume(state.consumers.removeFirst().continuation) }
            guard state.count < capacity else {
                if let onRoom { state.onRoom = onRoom }
                return .done(.full)
            }
            state.buffer.append(delivery)
            return .done(.enqueued)
        }
        if case .offer(let inline, let resumes) = inlineAction {
            // Outside the lock: the consumer may block (a disk write) or call back in.
            if inline(delivery) == .full {
                let resumedMeanwhile = state.withLock { state -> Bool in
                    // The refused delivery goes first: whatever was queued meanwhile came later.
                    state.buffer.insert(delivery, at: state.head)
                    if state.inlineResumes != resumes { return true }
                    state.inlinePaused = true
                    return false
                }
                if resumedMeanwhile { resumeInline() }
            }
            return .enqueued
        }
        switch action {
        case .resume(let consumer):
            consumer.resume(returning: delivery)
            return .enqueued
        case .done(let result):
            return result
        }
    }

    var waitingCount: Int { state.withLock { $0.count } }

    func installInline(_ intake: @escaping @Sendable (Delivery) -> InlineIntakeResult) {
        state.withLock { $0.inline = intake }
        resumeInline()
    }

    /// Hands the buffered deliveries to the inline consumer until it is full again or they
    /// are all taken; then wakes the paused producers.
    func resumeInline() {
        let start = state.withLock { state -> (@Sendable (Delivery) -> InlineIntakeResult)? in
            state.inlineResumes &+= 1
            guard let inline = state.inline, !state.inlineDraining else { return nil }
            state.inlinePaused = false
            state.inlineDraining = true
            return inline
        }
        // A thread already draining sees the new resume count when its consumer refuses.
        guard let inline = start else { return }
        while true {
            let next = state.withLock { state -> (Delivery, resumes: UInt64)? in
                if let delivery = state.popFirst() { return (delivery, state.inlineResumes) }
                state.inlineDraining = false
                return nil
            }
            guard let (delivery, resumes) = next else { break }
            if inline(delivery) == .full {
                let resumedMeanwhile = state.withLock { state -> Bool in
                    state.buffer.insert(delivery, at: state.head)
                    if state.inlineResumes != resumes { return true }
                    state.inlinePaused = true
                    state.inlineDraining = false
                    return false
                }
                if resumedMeanwhile { continue }
                return
            }
        }
        let (onRoom, waiters) = state.withLock { state in
            defer {
                state.onRoom = nil
                state.inlineWaiters = []
            }
            return (state.onRoom, state.inlineWaiters)
        }
        onRoom?()
        for waiter in waiters { waiter() }
    }

    func send(_ delivery: Delivery) async throws {
        switch trySend(delivery) {
        case .enqueued: return
        case .terminated: throw TransportError(.closed, "the consumer stopped receiving")
        case .full: break
        }
        if state.withLock({ $0.inline != nil }) {
            try await sendWaitingForInlineRoom(delivery)
            return
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

    /// `send(_:)` with an inline consumer that is full: waits for ``resumeInline()`` to drain
    /// the buffer, then offers the delivery again. (Cancellation is checked between waits; a
    /// wait ends when the consumer resumes or the stream ends.)
    private func sendWaitingForInlineRoom(_ delivery: Delivery) async throws {
        while true {
            try Task.checkCancellation()
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let registered = state.withLock { state -> Bool in
                    guard !state.terminated, !state.finished, state.count >= capacity else { return false }
                    state.inlineWaiters.append { continuation.resume() }
                    return true
                }
                if !registered { continuation.resume() }
            }
            switch trySend(delivery) {
            case .enqueued: return
            case .terminated: throw TransportError(.closed, "the consumer stopped receiving")
            case .full: continue
            }
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
        let (consumers, waiters) = state.withLock { state -> ([Waiter<Delivery?>], [@Sendable () -> Void]) in
            guard !state.finished else { return ([], []) }
            state.finished = true
            state.failure = error
            defer {
                state.consumers = []
                state.inlineWaiters = []
            }
            return (state.consumers, state.inlineWaiters)
        }
        for waiter in waiters { waiter() }
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
