import CloudEvents
import CloudEventsTransports
import Logging
import ServiceLifecycle

/// Runs one route: opens its buffer, its sink (and dead-letter sink), then its source, whose
/// deliveries are appended to the buffer on the source's own thread (inline, see
/// ``CloudEvents/DeliveryStream/consumeInline(_:)``) and settled once stored; a
/// ``Dispatcher`` delivers from the buffer.
///
/// Stopping (graceful shutdown): the source is closed first (no new intake; what it had
/// already handed over is stored even past the byte bound), then the dispatcher delivers
/// until the buffer is empty or the shutdown timeout, then the buffer is synced and closed.
final class RouteRunner: Sendable {
    let route: RouteConfiguration
    let metrics: RouteMetrics
    private let sourceBinding: any EventBinding
    private let sinkBinding: any EventBinding
    private let deadLetterBinding: (any EventBinding)?
    private let options: BindingOptions
    private let health: BridgeHealth
    private let logger: Logger
    private let shutdownTimeout: Duration
    private let intake: Intake
    private let outgoing: OutgoingMessage

    /// The stream handle, once the source is open: the buffer's room callback resumes it.
    private let inlineIntake = Locked<InlineIntake?>(nil)
    /// Set while stopping: the source's last deliveries are stored past the bound.
    private let stopping = Locked(false)
    /// Whether the source is paused on a full buffer (logged once per pause).
    private let paused = Locked(false)

    init(
        route: RouteConfiguration, registry: BindingRegistry, options: BindingOptions, metrics: RouteMetrics,
        health: BridgeHealth, shutdownTimeout: Duration, logger: Logger
    ) throws {
        self.route = route
        self.sourceBinding = try registry.binding(for: route.source)
        self.sinkBinding = try registry.binding(for: route.sink)
        self.deadLetterBinding = try route.deadLetter.map { try registry.binding(for: $0) }
        self.options = options
        self.metrics = metrics
        self.health = health
        self.shutdownTimeout = shutdownTimeout
        var routeLogger = logger
        routeLogger[metadataKey: "route"] = "\(route.name)"
        self.logger = routeLogger
        self.intake = Intake(
            orderingKey: route.orderingKey, nonCloudEvents: route.nonCloudEvents, formats: options.formats)
        self.outgoing = OutgoingMessage(
            outputMode: route.outputMode, sinkFormat: try options.format(for: route.sink), formats: options.formats)
    }

    /// The guarantee this route gives, in one sentence, from the source binding's
    /// acknowledgement and the buffer's storage.
    var guarantee: String {
        let durable: Bool
        if case .durable = route.buffer.storage { durable = true } else { durable = false }
        switch (sourceBinding.acknowledgement, durable) {
        case (.brokerBeforeConsumer, true):
            return
                "the source acknowledges a message before the bridge sees it; the bridge stores it in the durable buffer on the source's receiving thread, before that thread reads the next message, so only a hard kill between the acknowledgement and the append (ce_bridge_intake_seconds) loses it"
        case (.brokerBeforeConsumer, false):
            return
                "the source acknowledges a message before the bridge sees it and the buffer is in memory: whatever is held when the bridge stops or crashes is lost"
        case (.consumerSettlement, true):
            return "a message is settled with its source once it is in the durable buffer: nothing acknowledged is lost"
        case (.consumerSettlement, false):
            return
                "a message is settled with its source once it is in the memory buffer: whatever is held when the bridge stops or crashes is lost"
        case (.none, _):
            return "the source has no acknowledgements: messages sent while the bridge is down are lost"
        }
    }

    func run() async throws {
        let buffer = try makeEventBuffer(route: route.name, configuration: route.buffer, logger: logger)
        defer { buffer.close() }
        logger.notice(
            "route started",
            metadata: [
                "from": "\(route.source.url(maskingPassword: true))", "to": "\(route.sink.url(maskingPassword: true))",
                "output_mode": "\(route.outputMode)", "buffer": "\(describe(route.buffer))",
                "buffered_events": "\(buffer.statistics.count)", "acknowledgement": "\(sourceBinding.acknowledgementDetail)",
                "guarantee": "\(guarantee)"
            ])
        var sinkOptions = options
        sinkOptions.retries = 0  // the dispatcher retries, with the route's policy
        sinkOptions.logger = quiet(logger)
        try await sinkBinding.withSender(for: route.sink, options: sinkOptions) { sender in
            try await withDeadLetterSender(options: sinkOptions) { deadLetterSender in
                let dispatcher = Dispatcher(
                    route: route, buffer: buffer, sender: sender, deadLetterSender: deadLetterSender, outgoing: outgoing,
                    metrics: metrics, health: health, logger: logger)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { [self] in
                        await SinkProbe.waitForAnswer(route: route, isInProcess: sinkBinding.isInProcess, health: health)
                    }
                    async let dispatching: Void = dispatcher.run()
                    do {
                        try await receiveUntilShutdown(into: buffer, dispatcher: dispatcher)
                    } catch {
                        dispatcher.stop(deadline: .now)
                        group.cancelAll()
                        await dispatching
                        throw error
                    }
                    dispatcher.stop(deadline: .now + shutdownTimeout)
                    logger.notice(
                        "intake stopped; delivering what is buffered",
                        metadata: ["buffered_events": "\(buffer.statistics.count)", "timeout": "\(shutdownTimeout)"])
                    await dispatching
                    group.cancelAll()
                }
            }
        }
        do { try buffer.sync() } catch { logger.error("cannot sync the buffer", metadata: ["error": "\(error)"]) }
        logger.notice(
            "route stopped",
            metadata: [
                "buffered_events": "\(buffer.statistics.count)",
                "longest_intake_ms": "\((metrics.longestIntakeSeconds * 1000 * 1000).rounded() / 1000)"
            ])
    }

    private func withDeadLetterSender(
        options: BindingOptions, _ body: ((any BoundSender)?) async throws -> Void
    ) async throws {
        guard let deadLetter = route.deadLetter, let deadLetterBinding else { return try await body(nil) }
        try await deadLetterBinding.withSender(for: deadLetter, options: options) { try await body($0) }
    }

    /// ``receive(into:dispatcher:)``, opened again with backoff when the source cannot be
    /// reached (a broker down when the bridge starts): the route keeps delivering what is
    /// buffered meanwhile. An invalid endpoint or an authorisation failure ends the route.
    private func receiveUntilShutdown(into buffer: any EventBuffer, dispatcher: Dispatcher) async throws {
        let backoff = Backoff.exponential(initial: .milliseconds(500), maximum: .seconds(30))
        var failures = 0
        while true {
            do {
                try await receive(into: buffer, dispatcher: dispatcher)
                return
            } catch let error as TransportError where error.code == .connectionFailed || error.code == .timedOut {
                failures += 1
                let delay = backoff.delay(beforeRetry: failures)
                logger.error(
                    "cannot open the source; trying again",
                    metadata: ["error": "\(error)", "attempt": "\(failures)", "delay_ms": "\(delay.milliseconds)"])
                // Graceful shutdown while waiting ends the route like a shutdown while open.
                do {
                    try await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
                } catch {
                    if Task.isCancelled { throw error }
                    return
                }
            }
        }
    }

    /// Opens the source and stores what it delivers until graceful shutdown.
    private func receive(into buffer: any EventBuffer, dispatcher: Dispatcher) async throws {
        var sourceOptions = options
        sourceOptions.logger = logger
        try await sourceBinding.withReceiver(for: route.source, options: sourceOptions) { receiver in
            let handle = receiver.deliveries().consumeInline { [self] delivery in
                take(delivery, into: buffer, dispatcher: dispatcher)
            }
            inlineIntake.withLock { $0 = handle }
            health.setSubscribed(route.name, true)
            logger.notice("source open", metadata: ["ready": "\(receiver.readyMessage ?? "\(receiver.endpoint)")"])
            defer { health.setSubscribed(route.name, false) }
            try await gracefulShutdown()
            // What the source already handed over (and, for MQTT, acknowledged) is stored.
            stopping.withLock { $0 = true }
            handle.resume()
        }
    }

    /// Stores one delivery and settles it; `.full` pauses the source until the buffer has room.
    private func take(_ delivery: Delivery, into buffer: any EventBuffer, dispatcher: Dispatcher) -> InlineIntakeResult {
        let start = ContinuousClock.now
        let record = intake.record(for: delivery.message, receivedAt: WallClock.nanoseconds())
        do {
            switch try buffer.append(record, ignoringBound: stopping.withLock { $0 }) {
            case .appended:
                delivery.accept()
                metrics.intake(nanoseconds: (ContinuousClock.now - start).nanoseconds)
                metrics.received()
                if paused.withLock({ $0 }) {
                    paused.withLock { $0 = false }
                    logger.notice("the buffer has room again: the source resumes")
                }
                dispatcher.notify()
                return .taken
            case .full:
                let first = paused.withLock { paused -> Bool in
                    defer { paused = true }
                    return !paused
                }
                if first {
                    logger.warning(
                        "the buffer is full: the source is paused until deliveries make room",
                        metadata: ["buffer_bytes": "\(buffer.statistics.bytes)", "maximum_bytes": "\(route.buffer.maximumBytes)"])
                }
                buffer.whenRoom { [inlineIntake] in inlineIntake.withLock { $0 }?.resume() }
                return .full
            }
        } catch {
            // Released: a source with consumer settlement sends it again; one that
            // acknowledged already (MQTT with libmosquitto 2.0) has lost it, and it is counted.
            logger.error("cannot store an event: it is released", metadata: ["error": "\(error)"])
            if sourceBinding.acknowledgement != .consumerSettlement { metrics.dropped(.bufferFailed) }
            delivery.release()
            return .taken
        }
    }

    private func describe(_ buffer: BufferConfiguration) -> String {
        switch buffer.storage {
        case .memory: return "memory only (max \(buffer.maximumBytes) bytes)"
        case .durable(let directory):
            let sync =
                switch buffer.sync {
                case .everyEvent: "fsync every event"
                case .interval(let interval): "fsync every \(interval)"
                case .off: "no fsync"
                }
            return "durable in \(directory) (\(sync), max \(buffer.maximumBytes) bytes)"
        }
    }

    /// The sink bindings' own logs would repeat every failure the dispatcher handles; it
    /// logs them itself.
    private func quiet(_ logger: Logger) -> Logger {
        var quiet = logger
        quiet.logLevel = .critical
        return quiet
    }
}
