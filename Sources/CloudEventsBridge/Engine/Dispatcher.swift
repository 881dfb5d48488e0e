import CloudEvents
import CloudEventsTransports
import Logging
import Tracing

/// Moves one route's buffered events to its sink: per-key FIFO (one event of a key in flight
/// at a time, in sequence order), up to ``RouteConfiguration/maximumInFlight`` keys at once,
/// retries as ``RetryDecision`` says, and the dead-letter sink when an event cannot be
/// delivered.
///
/// It reads the buffer through a window of at most ``windowLimit`` events: memory stays
/// bounded however much an outage parked, and a key whose head event is retrying holds back
/// only its own events (unless they fill the whole window).
final class Dispatcher: Sendable {
    /// The most buffered events held in memory at once.
    static let windowLimit = 2048

    private struct State {
        var lastFetched: Int64 = 0
        var queues: [String: [BufferedEvent]] = [:]
        /// Keys with a queued event and none in flight, in the order they became ready.
        var ready: [String] = []
        var readyHead = 0
        var busy: Set<String> = []
        var windowCount = 0
        var inFlight = 0
        /// Counts the sink's answers: a retry waiting out an unreachable sink wakes early when
        /// another key's send got an answer (the sink is back).
        var answers: UInt64 = 0
        /// When set, the route is stopping: deliver until the buffer is empty or this instant.
        var deadline: ContinuousClock.Instant?
        var fetchFailed = false

        mutating func popReady() -> String? {
            guard readyHead < ready.count else { return nil }
            let key = ready[readyHead]
            readyHead += 1
            if readyHead > 256, readyHead * 2 > ready.count {
                ready.removeFirst(readyHead)
                readyHead = 0
            }
            return key
        }
    }

    private let route: RouteConfiguration
    private let buffer: any EventBuffer
    private let sender: any BoundSender
    private let deadLetterSender: (any BoundSender)?
    private let outgoing: OutgoingMessage
    private let metrics: RouteMetrics
    private let health: BridgeHealth
    private let logger: Logger
    private let state = Locked(State())
    private let wakeStream: AsyncStream<Void>
    private let wakeContinuation: AsyncStream<Void>.Continuation
    /// Whether a tracer is bootstrapped: without one, a span per event would cost CPU for nothing
    /// (the source's trace context still travels in the metadata).
    private let isTracing = !(InstrumentationSystem.tracer is NoOpTracer)

    init(
        route: RouteConfiguration, buffer: any EventBuffer, sender: any BoundSender, deadLetterSender: (any BoundSender)?,
        outgoing: OutgoingMessage, metrics: RouteMetrics, health: BridgeHealth, logger: Logger
    ) {
        self.route = route
        self.buffer = buffer
        self.sender = sender
        self.deadLetterSender = deadLetterSender
        self.outgoing = outgoing
        self.metrics = metrics
        self.health = health
        self.logger = logger
        (wakeStream, wakeContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Something changed (an append, a finished send): look again.
    func notify() { wakeContinuation.yield() }

    /// Starts stopping: deliver what the buffer holds until it is empty or `deadline`, then
    /// cancel what is still in flight (a durable buffer keeps it for the next start).
    func stop(deadline: ContinuousClock.Instant) {
        state.withLock { $0.deadline = deadline }
        notify()
    }

    /// Runs until ``stop(deadline:)``'s condition is met (or the task is cancelled).
    func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { [wakeContinuation] in
                // A tick refreshes the gauges and retries a failed buffer read.
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    wakeContinuation.yield()
                }
            }
            var wakes = wakeStream.makeAsyncIterator()
            while !Task.isCancelled {
                refill()
                startReady(in: &group)
                metrics.buffer(buffer.statistics, nowNanoseconds: WallClock.nanoseconds())
                if shouldExit() { break }
                guard await wakes.next() != nil else { break }
            }
            group.cancelAll()
        }
        let left = buffer.statistics.count
        if left > 0 {
            if case .memory = route.buffer.storage {
                for _ in 0..<left { metrics.dropped(.shutdown) }
                logger.error(
                    "stopped with events undelivered in the memory buffer: they are lost",
                    metadata: ["route": "\(route.name)", "events": "\(left)"])
            } else {
                logger.notice(
                    "stopped with events in the durable buffer: they are delivered after the next start",
                    metadata: ["route": "\(route.name)", "events": "\(left)"])
            }
        }
    }

    private func shouldExit() -> Bool {
        state.withLock { state in
            guard let deadline = state.deadline else { return false }
            if ContinuousClock.now >= deadline { return true }
            return state.inFlight == 0 && state.windowCount == 0 && buffer.statistics.count == 0
        }
    }

    /// Reads more of the buffer into the per-key queues, up to the window.
    private func refill() {
        let (after, room) = state.withLock { ($0.lastFetched, Self.windowLimit - $0.windowCount) }
        guard room > 0 else { return }
        let events: [BufferedEvent]
        do {
            events = try buffer.pending(after: after, limit: room)
        } catch {
            let first = state.withLock { state -> Bool in
                defer { state.fetchFailed = true }
                return !state.fetchFailed
            }
            if first { logger.error("cannot read the buffer", metadata: ["route": "\(route.name)", "error": "\(error)"]) }
            return
        }
        guard !events.isEmpty else { return }
        state.withLock { state in
            state.fetchFailed = false
            for event in events {
                state.lastFetched = event.sequence
                let key = route.orderingKey == .none ? "#\(event.sequence)" : event.key
                state.windowCount += 1
                if state.queues[key, default: []].isEmpty, !state.busy.contains(key) { state.ready.append(key) }
                state.queues[key, default: []].append(event)
            }
        }
    }

    /// Starts a delivery for each ready key while there is room in flight.
    private func startReady(in group: inout DiscardingTaskGroup) {
        while let (key, event) = takeReady() {
            group.addTask { [self] in
                await deliver(event)
                finished(key: key)
            }
        }
    }

    private func takeReady() -> (String, BufferedEvent)? {
        state.withLock { state -> (String, BufferedEvent)? in
            guard state.inFlight < route.maximumInFlight, let key = state.popReady(),
                let event = state.queues[key]?.first
            else { return nil }
            state.busy.insert(key)
            state.inFlight += 1
            return (key, event)
        }
    }

    private func finished(key: String) {
        state.withLock { state in
            state.busy.remove(key)
            state.inFlight -= 1
            state.windowCount -= 1
            state.queues[key]?.removeFirst()
            if state.queues[key]?.isEmpty ?? true {
                state.queues[key] = nil
            } else {
                state.ready.append(key)
            }
        }
        notify()
    }

    // MARK: One event

    /// Sends `event` until it is delivered, dead-lettered or the route stops.
    private func deliver(_ event: BufferedEvent) async {
        metrics.inFlight(1)
        defer { metrics.inFlight(-1) }
        if let reason = event.deadLetterReason {
            await deadLetter(event, reason: reason)
            return
        }
        let message: Message
        do {
            message = try outgoing.convert(event.message)
        } catch {
            await deadLetter(event, reason: "unreadable: \(error)")
            return
        }
        var event = event
        // This event's consecutive failures to reach the sink: its backoff while the sink is
        // down (per event, so that many keys failing together do not push each other's wait to
        // the maximum).
        var unreachableStreak = 0
        while !Task.isCancelled {
            let failure: TransportError
            do {
                try await send(message, through: sender)
                answered()
                delivered(event)
                return
            } catch is CancellationError {
                return
            } catch let error as TransportError {
                failure = error
            } catch {
                var wrapped = TransportError(.protocolError, "the sink failed: \(error)", underlying: error)
                wrapped.isTransient = true
                failure = wrapped
            }
            let answersBefore: UInt64?
            if failure.isUnreachable {
                unreachableStreak += 1
                answersBefore = unreachable()
            } else {
                unreachableStreak = 0
                answered()
                answersBefore = nil
            }
            let counted = !failure.isUnreachable || route.retry.countUnreachable
            let attempts = event.attempts + (counted ? 1 : 0)
            let decision = RetryDecision.after(
                failure, attempts: attempts, unreachableStreak: unreachableStreak, retry: route.retry,
                successfulOn: route.successfulOn)
            event.attempts = attempts
            event.lastStatus = failure.peerStatus ?? event.lastStatus
            event.lastError = "\(failure)"
            switch decision {
            case .delivered:
                delivered(event)
                return
            case .deadLetter(let reason):
                await deadLetter(event, reason: reason)
                return
            case .retry(let delay, let counted):
                metrics.retried()
                if counted {
                    do {
                        try buffer.recordAttempt(
                            event.sequence, attempts: event.attempts, lastStatus: event.lastStatus, lastError: "\(failure)")
                    } catch {
                        logger.warning("cannot record an attempt", metadata: ["route": "\(route.name)", "error": "\(error)"])
                    }
                }
                logger.debug(
                    "retrying",
                    metadata: [
                        "route": "\(route.name)", "event_sequence": "\(event.sequence)", "attempts": "\(event.attempts)",
                        "delay_ms": "\(delay.milliseconds)", "error": "\(failure)"
                    ])
                guard await sleep(delay, untilAnswerAfter: answersBefore) else { return }
            }
        }
    }

    /// Sends through `sender` in a span that continues the source's trace; the span's
    /// context goes out in the message's metadata (a no-op tracer leaves the source's
    /// `traceparent` as it was).
    private func send(_ message: Message, through sender: any BoundSender) async throws {
        guard isTracing else {
            _ = try await sender.send(message)
            return
        }
        var context = ServiceContext.topLevel
        InstrumentationSystem.instrument.extract(message.metadata, into: &context, using: MetadataExtractor())
        try await withSpan("ce-bridge deliver", context: context, ofKind: .producer) { span in
            span.attributes["cloudevents.bridge.route"] = route.name
            var message = message
            InstrumentationSystem.instrument.inject(span.context, into: &message.metadata, using: MetadataInjector())
            _ = try await sender.send(message)
        }
    }

    private func delivered(_ event: BufferedEvent) {
        metrics.delivered(latencyNanoseconds: WallClock.nanoseconds() - event.receivedAt)
        remove(event)
    }

    private func remove(_ event: BufferedEvent) {
        do {
            try buffer.remove(event.sequence)
        } catch {
            logger.error(
                "cannot remove a delivered event from the buffer: it will be sent again after a restart",
                metadata: ["route": "\(route.name)", "event_sequence": "\(event.sequence)", "error": "\(error)"])
        }
    }

    private func answered() {
        state.withLock { $0.answers &+= 1 }
        health.setSinkAnswered(route.name, true)
    }

    /// Marks the sink unreachable; returns the answer count, for ``sleep(_:untilAnswerAfter:)``.
    private func unreachable() -> UInt64 {
        health.setSinkAnswered(route.name, false)
        return state.withLock { $0.answers }
    }

    /// Sleeps `delay`, or until the route's stop deadline, or (with `answers`) until the sink
    /// answered another send since the count was `answers`. Returns `false` when the route
    /// stops first (the event stays in the buffer).
    private func sleep(_ delay: Duration, untilAnswerAfter answers: UInt64? = nil) async -> Bool {
        let deadline = state.withLock { $0.deadline }
        var wake = ContinuousClock.now + delay
        let stops = deadline.map { wake >= $0 } ?? false
        if let deadline, stops { wake = deadline }
        // Waiting out an outage, look every 100 ms whether the sink is back.
        let slice: Duration = answers == nil ? delay : .milliseconds(100)
        while ContinuousClock.now < wake {
            do { try await Task.sleep(until: Swift.min(wake, ContinuousClock.now + slice)) } catch { return false }
            if let answers, state.withLock({ $0.answers }) != answers { return !stops }
        }
        return !stops
    }

    // MARK: Dead letters

    /// Sends `event` to the dead-letter sink with extension attributes saying why; drops it
    /// (counted, logged) when there is none or the dead-letter sink refuses it too. An
    /// unreachable dead-letter sink is waited for like the sink.
    private func deadLetter(_ event: BufferedEvent, reason: String) async {
        let metadata: Logger.Metadata = [
            "route": "\(route.name)", "event_sequence": "\(event.sequence)", "attempts": "\(event.attempts)",
            "reason": "\(reason)"
        ]
        guard let deadLetterSender else {
            logger.error("dropped an event: no dead-letter sink is configured", metadata: metadata)
            metrics.dropped(.noDeadLetterSink)
            remove(event)
            return
        }
        guard let message = outgoing.deadLetter(event, route: route.name, reason: reason) else {
            logger.error("dropped an event: it cannot be written as a dead letter", metadata: metadata)
            metrics.dropped(.unreadable)
            remove(event)
            return
        }
        var streak = 0
        while !Task.isCancelled {
            do {
                try await send(message, through: deadLetterSender)
                logger.warning("dead-lettered an event", metadata: metadata)
                metrics.deadLettered()
                remove(event)
                return
            } catch let error as TransportError where error.isUnreachable || error.isTransient {
                streak += 1
                if streak == 1 {
                    logger.warning(
                        "the dead-letter sink is unavailable; retrying", metadata: metadata.merging(["error": "\(error)"]) { $1 })
                }
                guard await sleep(route.retry.backoff.delay(beforeRetry: streak)) else { return }
            } catch is CancellationError {
                return
            } catch {
                logger.error(
                    "dropped an event: the dead-letter sink refused it", metadata: metadata.merging(["error": "\(error)"]) { $1 })
                metrics.dropped(.deadLetterFailed)
                remove(event)
                return
            }
        }
    }
}
