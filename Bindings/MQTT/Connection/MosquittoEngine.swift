import CMosquitto
import CloudEvents
import CloudEventsLoopDriver
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The glue behind ``MQTTClient``: one `struct mosquitto *`, driven on a ``LoopDriver``
/// thread, with the connection's rules in an ``MQTTConnectionStateMachine``.
///
/// The engine feeds the state machine its events (calls from Swift, libmosquitto's callbacks
/// from `MosquittoCallbacks.swift`, loop turns and timers) under its one lock, takes out the
/// continuations the returned actions name while still holding it, and performs the actions
/// (libmosquitto calls, resumptions, timers, log lines) after releasing it. No lock of ours is
/// held across a libmosquitto call, so its callback lock and ours are never taken in opposite
/// orders (the one exception, `mosquitto_topic_matches_sub`, is a pure function).
///
/// Threads. The loop thread alone runs libmosquitto's connect, loop, reconnect, subscribe and
/// publish functions, so every callback runs on it; publishers queue their messages in the
/// state machine and wake the loop through a pipe, once per batch (the driver coalesces
/// wake-ups). Per received message the engine takes its lock once, to route the message; per
/// publish once to queue it, once per batch to record the message ids, once for its
/// acknowledgement.
final class MosquittoEngine: LoopDriverAdapter {
    let configuration: MQTTClientConfiguration
    private let logger: Logger
    /// `struct mosquitto *`. Used by the loop thread only (plus `mosquitto_socket` in
    /// ``simulateConnectionLoss()``); destroyed in `deinit`, when neither the loop thread nor
    /// any caller can hold the engine any more.
    nonisolated(unsafe) private let handle: OpaquePointer
    private let wakePipe: WakePipe
    private let driver: LoopDriver
    private let shared: Locked<Shared>
    /// Touched only by the loop thread (the callbacks run on it too).
    nonisolated(unsafe) private var loop = LoopState()

    private typealias Completion = CheckedContinuation<Result<Void, TransportError>, Never>
    private typealias SubscribeCompletion = CheckedContinuation<Result<Int32, TransportError>, Never>
    private typealias Machine = MQTTConnectionStateMachine

    /// What the lock guards: the state machine, the continuations its ids name, and each
    /// subscription's consumer.
    private struct Shared {
        var machine: Machine
        var completions = ContinuationRegistry<Result<Void, TransportError>>()
        var subscribeCompletions = ContinuationRegistry<Result<Int32, TransportError>>()
        var consumers: [Int32: Consumer] = [:]
    }

    /// Where a subscription's deliveries go.
    struct Consumer {
        var filter: String
        var continuation: DeliveryStream.Continuation
        var formats: EventFormatRegistry
        var extensionTypes: ExtensionTypes
        /// What settling one of its deliveries does (``MQTTSettlement``).
        var settle: @Sendable (Settlement) -> Void
    }

    private struct LoopState {
        /// The state machine's pause, mirrored for the loop's turns (which read it without the lock).
        var paused = false
        /// Set when reading resumes: read before `mosquitto_loop_misc` judges keepalive.
        var resumed = false
        /// The last loop function's result, to explain a connection that failed while starting.
        var lastResult = Mosquitto.success
        /// libmosquitto's last error line, to explain a failed connection.
        var lastLogError: String?
        /// Given to a full subscription buffer, which calls it once the consumer has made
        /// room: reading resumes then, not at the next poll timeout. Made once, not per message.
        var wakeOnRoom: (@Sendable () -> Void)?
    }

    /// One step of performing the state machine's actions, continuations already taken out.
    private enum Step {
        case resume(Completion, Result<Void, TransportError>)
        case resumeSubscribe(SubscribeCompletion, Result<Int32, TransportError>)
        case act(Machine.Action)
    }

    // MARK: Creating

    init(configuration: MQTTClientConfiguration) throws(TransportError) {
        func invalid(_ why: String) -> TransportError {
            TransportError(.invalidEndpoint, "MQTT client for \(configuration.host): \(why)")
        }
        guard Mosquitto.initialized else { throw invalid("libmosquitto could not be initialised") }
        guard configuration.keepAlive >= .seconds(5) else { throw invalid("keepAlive must be at least 5 seconds") }
        guard configuration.receiveBufferCapacity >= 1 else { throw invalid("receiveBufferCapacity must be at least 1") }
        guard (1...65535).contains(configuration.receiveMaximum) else { throw invalid("receiveMaximum must be 1 to 65535") }
        guard !configuration.clientID.isEmpty || configuration.cleanStart else {
            throw invalid("a persistent session (cleanStart false) needs a client id")
        }
        guard let wakePipe = WakePipe() else {
            throw invalid("cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        guard
            let handle = mosquitto_new(
                configuration.clientID.isEmpty ? nil : configuration.clientID, configuration.cleanStart, nil)
        else {
            throw invalid("mosquitto_new failed: \(String(cString: strerror(errno)))")
        }
        self.configuration = configuration
        self.logger = configuration.logger
        self.handle = handle
        self.wakePipe = wakePipe
        self.driver = LoopDriver(name: "MQTT client for \(configuration.host):\(configuration.effectivePort)", waker: wakePipe)
        self.shared = Locked(Shared(machine: Machine(configuration: Machine.Configuration(configuration))))
        try configure()
    }

    deinit {
        mosquitto_destroy(handle)
    }

    private func configure() throws(TransportError) {
        func check(_ rc: Int32, _ what: String) throws(TransportError) {
            guard rc == Mosquitto.success else {
                throw TransportError(
                    .invalidEndpoint, "MQTT client for \(configuration.host): \(what): \(Mosquitto.describe(rc))")
            }
        }
        let version = configuration.protocolVersion == .v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311
        try check(mosquitto_int_option(handle, MOSQ_OPT_PROTOCOL_VERSION, version), "protocol version")
        try check(mosquitto_threaded_set(handle, true), "threaded mode")
        if configuration.username != nil || configuration.password != nil {
            try check(mosquitto_username_pw_set(handle, configuration.username, configuration.password), "user name and password")
        }
        if let tls = configuration.tls {
            try check(
                mosquitto_tls_set(
                    handle, tls.trustedCertificatesFile, tls.trustedCertificatesFile == nil ? "/etc/ssl/certs" : nil,
                    tls.certificateChainFile, tls.privateKeyFile, nil),
                "TLS files")
            if !tls.verifiesPeer {
                try check(mosquitto_tls_opts_set(handle, 0, nil, nil), "TLS options")
                try check(mosquitto_tls_insecure_set(handle, true), "TLS host name check")
            }
        }
        if let will = configuration.will {
            var properties = MosquittoProperties()
            try properties.add(will, version: configuration.protocolVersion)
            let list = properties.take()
            let rc = will.payload.withUnsafeBytes { payload in
                mosquitto_will_set_v5(
                    handle, will.topic, Int32(payload.count), payload.baseAddress, Int32(will.qos.rawValue), will.retain, list)
            }
            if rc != Mosquitto.success {
                var owned = list
                mosquitto_property_free_all(&owned)
            }
            try check(rc, "will message")
        }
        let context = Unmanaged.passUnretained(self).toOpaque()
        mosquitto_user_data_set(handle, context)
        mosquitto_connect_v5_callback_set(handle, mosquittoOnConnect)
        mosquitto_disconnect_v5_callback_set(handle, mosquittoOnDisconnect)
        mosquitto_publish_v5_callback_set(handle, mosquittoOnPublish)
        mosquitto_message_v5_callback_set(handle, mosquittoOnMessage)
        mosquitto_subscribe_v5_callback_set(handle, mosquittoOnSubscribe)
        setLogging(true)
    }

    /// libmosquitto formats a log line for every packet while a log callback is set. The
    /// client needs only its error lines, to explain a failed connection: the callback is set
    /// while connecting and cleared once connected (callback setters take libmosquitto's own
    /// lock, so the loop thread may call this from a callback).
    private func setLogging(_ on: Bool) {
        mosquitto_log_callback_set(handle, on ? mosquittoOnLog : nil)
    }

    // MARK: Feeding the state machine

    /// Runs `event` on the state machine under the lock, takes out the continuations its
    /// actions name, then performs the actions in order outside the lock.
    private func handle(_ event: (inout Shared) -> [Machine.Action]) {
        let steps = shared.withLock { shared -> [Step] in
            let actions = event(&shared)
            return actions.compactMap { action -> Step? in
                switch action {
                case .complete(let id, let result): shared.completions.remove(id).map { .resume($0, result) }
                case .completeSubscribe(let id, let result):
                    shared.subscribeCompletions.remove(id).map { .resumeSubscribe($0, result) }
                default: .act(action)
                }
            }
        }
        for step in steps { perform(step) }
    }

    private func perform(_ step: Step) {
        switch step {
        case .resume(let continuation, let result): continuation.resume(returning: result)
        case .resumeSubscribe(let continuation, let result): continuation.resume(returning: result)
        case .act(let action): perform(action)
        }
    }

    private func perform(_ action: Machine.Action) {
        switch action {
        case .connect:
            // Queued before the loop starts, so it is the loop's first work.
            driver.submit { [weak self] in self?.connect() }
        case .reconnect:
            let rc = mosquitto_reconnect(handle)
            let error = rc == Mosquitto.success ? nil : connectError(rc)
            handle { $0.machine.reconnectAttempted(error: error) }
        case .scheduleReconnect(let at, _, _):
            driver.schedule(at: at) { [weak self] in self?.handle { $0.machine.reconnectTimerFired() } }
        case .complete, .completeSubscribe:
            break  // taken out in handle(_:)
        case .resubscribe(let subscriptions):
            var messageIDs: [Int32] = []
            for subscription in subscriptions {
                var mid: Int32 = 0
                if subscribeCall(subscription, mid: &mid, resubscribing: true) == Mosquitto.success { messageIDs.append(mid) }
            }
            shared.withLock { $0.machine.resubscribed(messageIDs: messageIDs) }
        case .setLibraryLogging(let on):
            setLogging(on)
        case .disconnect(let grace):
            _ = mosquitto_disconnect_v5(handle, 0, nil)
            // Wakes the loop when the grace has passed, should the broker not close the socket.
            driver.schedule(at: .now + grace + .milliseconds(1)) {}
        case .pauseReading:
            loop.paused = true
        case .resumeReading:
            loop.paused = false
            loop.resumed = true
        case .endLoop:
            driver.requestStop()
        case .log(let event):
            log(event)
        }
    }

    // MARK: Starting and stopping

    /// Starts the loop thread, which connects, and waits for the first CONNACK.
    func start() async throws(TransportError) {
        let result = await withCheckedContinuation { (continuation: Completion) in
            let now = ContinuousClock.now
            handle { shared in
                let id = shared.completions.insert(continuation)
                return shared.machine.startRequested(waiter: id, now: now)
            }
            // Wakes the loop at the start deadline, which its turn then judges.
            if let deadline = shared.withLock({ $0.machine.startDeadline }) { driver.schedule(at: deadline) {} }
            scheduleDeadlineScan()
            do {
                try driver.start(self)
            } catch {
                let taken = shared.withLock { shared in
                    _ = shared.machine.loopEnded()
                    return shared.completions.removeAll()
                }
                let failure = TransportError(.connectionFailed, "cannot start the MQTT network thread: \(error)")
                for waiter in taken { waiter.resume(returning: .failure(failure)) }
            }
        }
        if case .failure = result { await driver.join() }
        try result.get()
    }

    /// The deadlines of publishes, subscribes and connection waits are looked at every
    /// 100 ms, as a timer on the loop.
    private func scheduleDeadlineScan() {
        driver.schedule(at: .now + .milliseconds(100)) { [weak self] in
            guard let self else { return }
            let now = ContinuousClock.now
            self.handle { $0.machine.deadlineReached(now: now) }
            self.scheduleDeadlineScan()
        }
    }

    /// Asks the loop to drain, disconnect and end; returns when the loop thread has ended.
    func shutdown(drainTimeout: Duration) async {
        let deadline = shared.withLock { shared -> ContinuousClock.Instant? in
            guard shared.machine.shutdownRequested(drainDeadline: .now + drainTimeout) == .requested else { return nil }
            return shared.machine.shutdownDrainDeadline
        }
        if let deadline {
            driver.schedule(at: deadline) {}
            driver.wake()
        }
        await driver.join()
    }

    /// Stops without waiting (the client was dropped without a shutdown).
    func requestStop() {
        _ = shared.withLock { $0.machine.shutdownRequested(drainDeadline: .now) }
        driver.wake()
    }

    /// Closes the socket under libmosquitto, as a network failure would (tests use it to
    /// see wills published and reconnection at work).
    func simulateConnectionLoss() {
        let socket = mosquitto_socket(handle)
        if socket >= 0 { _ = Glibc.shutdown(socket, Int32(SHUT_RDWR)) }
    }

    var isConnected: Bool { shared.withLock { $0.machine.isConnected } }
    var connectionCount: Int { shared.withLock { $0.machine.connectionCount } }

    /// Returns when the loop has ended (after a shutdown, or a failure to start).
    func waitUntilStopped() async { await driver.join() }

    // MARK: Publishing

    /// Hands `message` to the loop thread, which alone calls `mosquitto_publish_v5`, and
    /// waits for its acknowledgement. Publishing on the loop thread keeps libmosquitto
    /// single-threaded for its busiest path, and registers each message id before the loop
    /// can read the acknowledgement for it.
    func publish(_ message: MQTTMessage) async throws(TransportError) {
        guard MosquittoProperties.isMQTTString(message.topic) else {
            let error = TransportError(
                .invalidMessage, "MQTT topic '\(message.topic)' cannot be sent (MQTT strings exclude NUL and control characters)")
            logRefusedPublish(topic: message.topic, error)
            throw error
        }
        let deadline = ContinuousClock.now + configuration.operationTimeout
        let result = await withCheckedContinuation { (continuation: Completion) in
            let action = shared.withLock { shared -> Machine.PublishRequestAction in
                let id = shared.completions.insert(continuation)
                let action = shared.machine.publishRequested(waiter: id, message: message, deadline: deadline)
                if case .fail = action { _ = shared.completions.remove(id) }
                return action
            }
            switch action {
            case .queued: driver.wake()
            case .fail(let error): continuation.resume(returning: .failure(error))
            }
        }
        try result.get()
    }

    /// Loop thread: publishes the queued messages while connected. A message libmosquitto
    /// refuses fails at once; one refused for want of a connection waits for the next.
    private func submitPublishes() {
        let requests = shared.withLock { $0.machine.takeQueuedPublishes() }
        guard !requests.isEmpty else { return }
        var written: [(Int32, Machine.InFlightPublish)] = []
        written.reserveCapacity(requests.count)
        var failed: [(ContinuationID, TransportError)] = []
        var unsent: ArraySlice<Machine.QueuedPublish> = []
        for (index, request) in requests.enumerated() {
            let message = request.message
            var properties = MosquittoProperties()
            do { try properties.add(message, version: configuration.protocolVersion) } catch {
                logRefusedPublish(topic: message.topic, error)
                failed.append((request.waiter, error))
                continue
            }
            var mid: Int32 = 0
            let rc = message.payload.withUnsafeBytes { payload in
                mosquitto_publish_v5(
                    handle, &mid, message.topic, Int32(payload.count), payload.baseAddress, Int32(message.qos.rawValue),
                    message.retain, properties.list)
            }
            if rc == Mosquitto.noConnection {
                unsent = requests[index...]
                break
            }
            guard rc == Mosquitto.success else {
                let error = TransportError(
                    .invalidMessage, "publishing to MQTT topic '\(message.topic)': \(Mosquitto.describe(rc))")
                logRefusedPublish(topic: message.topic, error)
                failed.append((request.waiter, error))
                continue
            }
            written.append(
                (
                    mid,
                    Machine.InFlightPublish(
                        waiter: request.waiter, topic: message.topic, qos: message.qos, deadline: request.deadline)
                ))
        }
        let failures = shared.withLock { shared in
            shared.machine.publishesWritten(written, unsent: unsent)
            return failed.compactMap { failure in shared.completions.remove(failure.0).map { ($0, failure.1) } }
        }
        for (continuation, error) in failures { continuation.resume(returning: .failure(error)) }
    }

    private func publishResult(reason: Int32, topic: String) -> Result<Void, TransportError> {
        guard reason >= 0x80 else { return .success(()) }
        let code: TransportError.Code = reason == 0x87 ? .notAuthorized : .rejected
        let error = TransportError(
            code, "the broker refused the message for '\(topic)': \(Mosquitto.describeReason(reason)) (reason code \(reason))")
        logRefusedPublish(topic: topic, error)
        return .failure(error)
    }

    /// Returns when connected; waits (up to `deadline`) while the client reconnects.
    private func waitForConnection(until deadline: ContinuousClock.Instant) async throws(TransportError) {
        let result = await withCheckedContinuation { (continuation: Completion) in
            let (wait, closed) = shared.withLock { shared in
                let id = shared.completions.insert(continuation)
                let wait = shared.machine.connectionWaitRequested(waiter: id, deadline: deadline)
                if wait != .wait { _ = shared.completions.remove(id) }
                return (wait, shared.machine.closedError())
            }
            switch wait {
            case .ready: continuation.resume(returning: .success(()))
            case .closed: continuation.resume(returning: .failure(closed))
            case .wait: break
            }
        }
        try result.get()
    }

    // MARK: Subscribing

    func subscribe(
        filter: String, qos: MQTTQoS, formats: EventFormatRegistry, extensionTypes: ExtensionTypes
    ) async throws(TransportError) -> DeliveryStream {
        guard !filter.isEmpty, !filter.utf8.contains(0), mosquitto_sub_topic_check(filter) == Mosquitto.success else {
            throw TransportError(.invalidEndpoint, "'\(filter)' is not a valid MQTT topic filter")
        }
        if filter.hasPrefix("$share/"), configuration.protocolVersion != .v5 {
            throw TransportError(.invalidEndpoint, "shared subscription '\(filter)' needs MQTT 5")
        }
        let deadline = ContinuousClock.now + configuration.operationTimeout
        let (stream, continuation) = DeliveryStream.makeStream(capacity: configuration.receiveBufferCapacity)
        let consumer = Consumer(
            filter: filter, continuation: continuation, formats: formats, extensionTypes: extensionTypes,
            settle: MQTTSettlement.settle(filter: filter, logger: logger))
        let id = shared.withLock { shared -> Int32 in
            let id = shared.machine.addSubscription(filter: filter, qos: qos)
            shared.consumers[id] = consumer
            return id
        }
        do throws(TransportError) {
            try await waitForConnection(until: deadline)
            let granted = try await sendSubscribe(id, deadline: deadline)
            guard granted < 0x80 else {
                let code: TransportError.Code = granted == 0x87 ? .notAuthorized : .rejected
                let error = TransportError(
                    code,
                    "the broker refused the subscription to '\(filter)': \(Mosquitto.describeReason(granted)) (reason code \(granted))"
                )
                logger.warning(
                    "MQTT subscription refused",
                    metadata: metadata([
                        "topic": "\(filter)", "reason": "\(Mosquitto.describeReason(granted))", "reason_code": "\(granted)"
                    ]))
                throw error
            }
            return stream
        } catch {
            shared.withLock { shared in
                _ = shared.machine.removeSubscription(id)
                shared.consumers[id] = nil
            }
            continuation.finish(throwing: error)
            throw error
        }
    }

    /// Asks the loop thread to send the SUBSCRIBE, and waits for its SUBACK.
    private func sendSubscribe(_ id: Int32, deadline: ContinuousClock.Instant) async throws(TransportError) -> Int32 {
        let result = await withCheckedContinuation { (continuation: SubscribeCompletion) in
            let outcome = shared.withLock { shared -> Result<(ContinuationID, Machine.Subscription), TransportError> in
                let waiter = shared.subscribeCompletions.insert(continuation)
                let request = shared.machine.subscribeRequested(waiter: waiter, subscription: id, deadline: deadline)
                if case .failure = request { _ = shared.subscribeCompletions.remove(waiter) }
                return request.map { (waiter, $0) }
            }
            switch outcome {
            case .failure(let error):
                continuation.resume(returning: .failure(error))
            case .success(let (waiter, subscription)):
                // If the loop is ending, its end fails the waiter.
                driver.submit { [weak self] in self?.sendSubscribeOnLoop(waiter: waiter, subscription) }
            }
        }
        return try result.get()
    }

    /// Loop thread: the SUBSCRIBE, unless its caller stopped waiting. Its SUBACK can only be
    /// read after the message id is recorded, on this same thread.
    private func sendSubscribeOnLoop(waiter: ContinuationID, _ subscription: Machine.Subscription) {
        guard shared.withLock({ $0.machine.isSubscribePending(waiter) }) else { return }
        var mid: Int32 = 0
        let rc = subscribeCall(subscription, mid: &mid, resubscribing: false)
        if rc == Mosquitto.success {
            shared.withLock { $0.machine.subscribeSent(waiter: waiter, messageID: mid) }
        } else {
            let error = TransportError(.connectionFailed, "subscribing to '\(subscription.filter)': \(Mosquitto.describe(rc))")
            handle { $0.machine.subscribeFailed(waiter: waiter, error: error) }
        }
    }

    /// `mosquitto_subscribe_v5` with the subscription's id as its MQTT 5 Subscription
    /// Identifier (so each message is routed by the broker's own matching). A
    /// resubscription after a reconnect asks for retained messages only if the session lost
    /// the subscription.
    private func subscribeCall(_ subscription: Machine.Subscription, mid: inout Int32, resubscribing: Bool) -> Int32 {
        var properties = MosquittoProperties()
        var options: Int32 = 0
        if configuration.protocolVersion == .v5 {
            _ = properties.addVarint(MQTT_PROP_SUBSCRIPTION_IDENTIFIER, UInt32(subscription.id))
            if resubscribing { options = Int32(MQTT_SUB_OPT_SEND_RETAIN_NEW.rawValue) }
        }
        return mosquitto_subscribe_v5(
            handle, &mid, subscription.filter, Int32(subscription.qos.rawValue), options, properties.list)
    }

    /// Loop thread: a consumer stopped; the broker's subscription goes when no other uses it.
    /// `alsoDropped` counts held deliveries already taken out of the state machine.
    private func unsubscribe(id: Int32, alsoDropped: Int = 0) {
        let removed = shared.withLock { shared -> (Machine.RemovedSubscription, Consumer?)? in
            guard let removed = shared.machine.removeSubscription(id) else { return nil }
            return (removed, shared.consumers.removeValue(forKey: id))
        }
        guard let (removed, consumer) = removed else { return }
        consumer?.continuation.finish()
        let dropped = removed.droppedDeliveries + alsoDropped
        if dropped > 0 {
            logger.error(
                "MQTT deliveries dropped: their consumer stopped",
                metadata: metadata(["filter": "\(removed.subscription.filter)", "count": "\(dropped)"]))
        }
        if !removed.filterStillUsed { _ = mosquitto_unsubscribe_v5(handle, nil, removed.subscription.filter, nil) }
    }

    // MARK: The loop thread

    /// The first connection (the loop's first command).
    private func connect() {
        var properties = MosquittoProperties()
        if configuration.protocolVersion == .v5 {
            if !configuration.cleanStart {
                _ = properties.addInt32(
                    MQTT_PROP_SESSION_EXPIRY_INTERVAL, UInt32(clamping: configuration.sessionExpiry.components.seconds))
            }
            _ = properties.addInt16(MQTT_PROP_RECEIVE_MAXIMUM, UInt16(clamping: configuration.receiveMaximum))
        }
        let keepAlive = Int32(clamping: configuration.keepAlive.components.seconds)
        let rc = mosquitto_connect_bind_v5(
            handle, configuration.host, Int32(configuration.effectivePort), keepAlive, nil, properties.list)
        if rc != Mosquitto.success {
            let error = connectError(rc)
            handle { $0.machine.connectCallFailed(error) }
        }
    }

    /// Loop thread only (it reads the loop's state without a lock).
    private func connectError(_ rc: Int32) -> TransportError {
        let detail = loop.lastLogError.map { " (\($0))" } ?? ""
        let reason = rc == Mosquitto.code(MOSQ_ERR_ERRNO) ? String(cString: strerror(errno)) : Mosquitto.describe(rc)
        return TransportError(
            .connectionFailed,
            "cannot connect to MQTT broker \(configuration.host):\(configuration.effectivePort): \(reason)\(detail)")
    }

    func runTurn(until deadline: ContinuousClock.Instant?) {
        let now = ContinuousClock.now
        var socket = mosquitto_socket(handle)
        let lastResult = loop.lastResult
        handle { shared in
            shared.machine.loopTurn(
                now: now, socketOpen: socket >= 0,
                connectError: self.connectError(lastResult == Mosquitto.success ? Mosquitto.connectionRefused : lastResult))
        }
        if driver.isStopRequested { return }
        socket = mosquitto_socket(handle)
        guard socket >= 0 else {
            // Disconnected: sleep until the reconnect timer (the driver's deadline) or a wake-up.
            var wake = pollfd(fd: wakePipe.readFD, events: Int16(POLLIN), revents: 0)
            _ = poll(&wake, 1, Self.pollTimeout(until: deadline, now: now, cap: 250))
            if wake.revents != 0 { wakePipe.drain() }
            return
        }
        if loop.paused { moveOverflow() }
        submitPublishes()
        // A tuple, not an array: no allocation per turn of the loop.
        var fds = (
            pollfd(
                fd: socket, events: Int16(loop.paused ? 0 : POLLIN) | Int16(mosquitto_want_write(handle) ? POLLOUT : 0),
                revents: 0),
            pollfd(fd: wakePipe.readFD, events: Int16(POLLIN), revents: 0)
        )
        // Paused, the loop is woken by the consumer making room (wakeOnRoom); the short
        // timeout only paces keepAliveWhilePaused.
        let timeout = Self.pollTimeout(until: deadline, now: now, cap: loop.paused ? 20 : 250)
        _ = withUnsafeMutableBytes(of: &fds) { poll($0.baseAddress!.assumingMemoryBound(to: pollfd.self), 2, timeout) }
        if fds.1.revents != 0 { wakePipe.drain() }
        if !loop.paused, fds.0.revents != 0 || loop.resumed {
            loop.resumed = false
            readAvailable(socket)
        }
        socket = mosquitto_socket(handle)
        if socket >= 0, mosquitto_want_write(handle) { loop.lastResult = mosquitto_loop_write(handle, 1) }
        if mosquitto_socket(handle) >= 0 {
            if loop.paused { keepAliveWhilePaused() } else { _ = mosquitto_loop_misc(handle) }
        }
    }

    /// Milliseconds until `deadline` (rounded up, so a timer is never judged early), at most `cap`.
    private static func pollTimeout(until deadline: ContinuousClock.Instant?, now: ContinuousClock.Instant, cap: Int32) -> Int32 {
        guard let deadline else { return cap }
        guard deadline > now else { return 0 }
        let left = deadline - now
        let milliseconds = left.milliseconds + (left == .milliseconds(left.milliseconds) ? 0 : 1)
        return Int32(clamping: min(Int64(cap), milliseconds))
    }

    /// The loop has ended: everything still waiting fails with `.closed`, every
    /// subscription's deliveries end.
    func loopDidEnd() {
        let (completions, subscribes, consumers, closed) = shared.withLock { shared in
            _ = shared.machine.loopEnded()
            defer { shared.consumers = [:] }
            return (
                shared.completions.removeAll(), shared.subscribeCompletions.removeAll(), shared.consumers,
                shared.machine.closedError()
            )
        }
        for continuation in completions { continuation.resume(returning: .failure(closed)) }
        for continuation in subscribes { continuation.resume(returning: .failure(closed)) }
        for id in consumers.keys.sorted() { consumers[id]?.continuation.finish() }
        loop.paused = false
    }

    /// Reads the packets waiting on the socket (libmosquitto reads about one per call),
    /// stopping when a consumer's buffer fills.
    ///
    /// libmosquitto reports a drained socket as success, leaving `EAGAIN` in `errno`. A call
    /// that read a whole packet without touching an empty socket leaves `errno` as it was
    /// (cleared here), so the next packet is read without asking the kernel first; only an
    /// `EAGAIN`, which may also come from libmosquitto's own wake-up socket pair when it
    /// queues a PUBACK, is checked with `FIONREAD`. That spares a system call per message.
    private func readAvailable(_ socket: Int32) {
        for _ in 0..<256 {
            errno = 0
            loop.lastResult = mosquitto_loop_read(handle, 1)
            guard loop.lastResult == Mosquitto.success else { return }
            guard !loop.paused, mosquitto_socket(handle) >= 0 else { return }
            if errno == EAGAIN || errno == EWOULDBLOCK, ce_mosquitto_bytes_available(socket) <= 0 { return }
        }
    }

    /// While reading is paused, libmosquitto cannot see the broker's PINGRESP (it waits
    /// behind unread messages), so its own keepalive check is not run; instead the client
    /// sends the broker a packet every half keepalive: an UNSUBSCRIBE from a filter it never
    /// subscribes to, which changes nothing and resets the broker's keepalive timer.
    private func keepAliveWhilePaused() {
        let now = ContinuousClock.now
        guard shared.withLock({ $0.machine.pausedKeepAliveDue(now: now) }) else { return }
        _ = mosquitto_unsubscribe_v5(handle, nil, "$ce/keepalive-while-paused", nil)
    }

    /// Sends `delivery` to a subscription's consumer without waiting; when the buffer is
    /// full, the consumer wakes the loop once it has taken half of it (weakly: a paused
    /// stream must not keep the engine alive).
    private func trySend(_ delivery: Delivery, to consumer: Consumer) -> DeliveryStream.TrySendResult {
        if loop.wakeOnRoom == nil { loop.wakeOnRoom = { [weak self] in self?.driver.wake() } }
        return consumer.continuation.trySend(delivery, onRoom: loop.wakeOnRoom!)
    }

    /// Hands held-back deliveries to consumers that made room; resumes reading once all of
    /// them are handed over.
    private func moveOverflow() {
        let (waiting, consumers) = shared.withLock { ($0.machine.takeOverflow(), $0.consumers) }
        var remaining: [Int32: [Delivery]] = [:]
        var stopped: [(id: Int32, dropped: Int)] = []
        handing: for (id, deliveries) in waiting {
            guard let consumer = consumers[id] else { continue }
            var sent = 0
            for delivery in deliveries {
                switch trySend(delivery, to: consumer) {
                case .enqueued:
                    sent += 1
                case .full:
                    remaining[id] = Array(deliveries[sent...])
                    continue handing
                case .terminated:
                    stopped.append((id, deliveries.count - sent))
                    continue handing
                }
            }
        }
        // Ended subscriptions go first, so that what they held does not keep reading paused.
        for (id, dropped) in stopped { unsubscribe(id: id, alsoDropped: dropped) }
        handle { $0.machine.overflowHandedOver(remaining: remaining) }
    }

    // MARK: Callbacks (on the loop thread, from MosquittoCallbacks.swift)

    func didConnect(reason: Int32) {
        handle { shared in
            shared.machine.connackReceived(reasonCode: reason, refusal: self.connectRefusal(reason))
        }
    }

    private func connectRefusal(_ reason: Int32) -> TransportError {
        let where_ = "MQTT broker \(configuration.host):\(configuration.effectivePort)"
        if configuration.protocolVersion == .v311 {
            let code: TransportError.Code = reason == 4 || reason == 5 ? .notAuthorized : .connectionFailed
            return TransportError(code, "\(where_) refused the connection: \(Mosquitto.describeConnack(reason))")
        }
        let notAuthorized: Set<Int32> = [0x86, 0x87, 0x8C, 0x85]
        let code: TransportError.Code = notAuthorized.contains(reason) ? .notAuthorized : .connectionFailed
        return TransportError(
            code, "\(where_) refused the connection: \(Mosquitto.describeReason(reason)) (reason code \(reason))")
    }

    func didDisconnect(rc: Int32) {
        handle { shared in
            shared.machine.disconnected(
                returnCode: rc, connectError: self.connectError(rc == Mosquitto.success ? Mosquitto.connectionRefused : rc))
        }
    }

    func didPublish(mid: Int32, reason: Int32) {
        // An acknowledgement without a waiter belongs to a publish that timed out: dropped.
        let taken = shared.withLock { shared -> (Machine.InFlightPublish, Completion?)? in
            guard let publish = shared.machine.publishAcknowledged(messageID: mid) else { return nil }
            return (publish, shared.completions.remove(publish.waiter))
        }
        guard let (publish, continuation) = taken, let continuation else { return }
        continuation.resume(returning: publishResult(reason: reason, topic: publish.topic))
    }

    func didSubscribe(mid: Int32, granted: Int32) {
        handle { $0.machine.subackReceived(messageID: mid, granted: granted) }
    }

    func didReceive(_ message: MQTTMessage, subscriptionIdentifiers: [Int32]) {
        let targets = shared.withLock { shared -> [(Int32, Consumer, overflowing: Bool)] in
            if !subscriptionIdentifiers.isEmpty {
                return subscriptionIdentifiers.compactMap { id in
                    shared.consumers[id].map { (id, $0, shared.machine.isOverflowing(id)) }
                }
            }
            return shared.consumers.filter { Self.filter($0.value.filter, matches: message.topic) }.sorted { $0.key < $1.key }
                .map { ($0.key, $0.value, shared.machine.isOverflowing($0.key)) }
        }
        guard !targets.isEmpty else { return }
        let cloudEventsMessage = MQTTMessageReader(message, protocolVersion: configuration.protocolVersion).message()
        for (id, consumer, overflowing) in targets {
            let delivery = Delivery(
                message: cloudEventsMessage, formats: consumer.formats, extensionTypes: consumer.extensionTypes,
                settle: consumer.settle)
            if overflowing {
                shared.withLock { $0.machine.appendOverflow(id, delivery) }
                continue
            }
            switch trySend(delivery, to: consumer) {
            case .enqueued:
                break
            case .full:
                let now = ContinuousClock.now
                handle { $0.machine.deliveryBufferFull(id, delivery, now: now) }
            case .terminated:
                logger.error(
                    "MQTT message dropped: its consumer stopped", metadata: metadata(["topic": "\(message.topic)"]))
                unsubscribe(id: id)
            }
        }
    }

    /// MQTT topic matching, for messages without subscription identifiers (MQTT 3.1.1; a
    /// broker may also leave them out). A shared subscription `$share/group/filter` matches
    /// by its filter.
    private static func filter(_ filter: String, matches topic: String) -> Bool {
        var filter = Substring(filter)
        if filter.hasPrefix("$share/") {
            let afterGroup = filter.dropFirst("$share/".count).drop { $0 != "/" }.dropFirst()
            filter = afterGroup
        }
        var result = false
        return mosquitto_topic_matches_sub(String(filter), topic, &result) == Mosquitto.success && result
    }

    func didLog(_ text: String) {
        loop.lastLogError = text
    }

    // MARK: Logging

    private func metadata(_ extra: Logger.Metadata = [:]) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "endpoint": "\(configuration.host):\(configuration.effectivePort)", "client_id": "\(configuration.clientID)"
        ]
        metadata.merge(extra) { _, new in new }
        return metadata
    }

    private func logRefusedPublish(topic: String, _ error: TransportError) {
        logger.warning(
            "MQTT publish refused",
            metadata: metadata(["topic": "\(topic)", "reason": "\(error.message)", "status": "\(error.code)"]))
    }

    private func log(_ event: Machine.LogEvent) {
        switch event {
        case .connected:
            logger.info(
                "MQTT connection established",
                metadata: metadata(["protocol_version": "\(configuration.protocolVersion)", "tls": "\(configuration.tls != nil)"])
            )
        case .connectionLost(let rc):
            logger.warning("MQTT connection lost", metadata: metadata(["reason": "\(Mosquitto.describe(rc))"]))
        case .reconnectScheduled(let attempt, let delay):
            logger.warning(
                "MQTT reconnect scheduled", metadata: metadata(["attempt": "\(attempt)", "delay_ms": "\(delay.milliseconds)"]))
        case .reconnected(let count):
            logger.notice("MQTT reconnected", metadata: metadata(["connection_count": "\(count)"]))
        case .connectionRefused(let error):
            logger.warning("MQTT broker refused the connection", metadata: metadata(["reason": "\(error.message)"]))
        case .reconnectFailed(let error):
            logger.warning("MQTT reconnect failed", metadata: metadata(["reason": "\(error.message)"]))
        case .publishesDropped(let count):
            logger.error(
                "MQTT QoS 0 publishes dropped with the connection", metadata: metadata(["count": "\(count)"]))
        }
    }
}
