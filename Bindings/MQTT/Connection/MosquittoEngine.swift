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
    let logger: Logger
    /// `struct mosquitto *`. Used by the loop thread only (plus `mosquitto_socket` in
    /// ``simulateConnectionLoss()``); destroyed in `deinit`, when neither the loop thread nor
    /// any caller can hold the engine any more.
    nonisolated(unsafe) let handle: OpaquePointer
    let wakePipe: WakePipe
    let driver: LoopDriver
    let shared: Locked<Shared>
    /// Touched only by the loop thread (the callbacks run on it too).
    nonisolated(unsafe) var loop = LoopState()

    typealias Completion = CheckedContinuation<Result<Void, TransportError>, Never>
    typealias SubscribeCompletion = CheckedContinuation<Result<Int32, TransportError>, Never>
    typealias Machine = MQTTConnectionStateMachine

    /// What the lock guards: the state machine, the continuations its ids name, and each
    /// subscription's consumer.
    struct Shared {
        var machine: Machine
        var completions = ContinuationRegistry<Result<Void, TransportError>>()
        var subscribeCompletions = ContinuationRegistry<Result<Int32, TransportError>>()
        var consumers: [Int32: Consumer] = [:]
        /// Messages that arrived while no subscription of this client matched them, in
        /// arrival order: a persistent session's queued messages come right after CONNACK,
        /// before the client has made its subscriptions again. The next subscription hands
        /// over those it matches (see ``MosquittoEngine/replayUnclaimed()``).
        var unclaimed: [(message: MQTTMessage, subscriptionIdentifiers: [Int32])] = []
        var unclaimedBytes = 0
        /// Unclaimed messages dropped over ``MosquittoEngine/unclaimedLimit`` (logged by the replay).
        var unclaimedOverLimit = 0
        /// A replay is queued on the loop thread: messages arriving meanwhile queue behind
        /// the unclaimed ones, so that a consumer sees them in order.
        var replayPending = false
    }

    /// The most messages, and bytes, held for a subscription not made yet; beyond that they
    /// are dropped and logged.
    static let unclaimedLimit = (messages: 10_000, bytes: 16 << 20)

    /// Where a subscription's deliveries go.
    struct Consumer {
        var filter: String
        var continuation: DeliveryStream.Continuation
        var formats: EventFormatRegistry
        var extensionTypes: ExtensionTypes
        /// What settling one of its deliveries does (``MQTTSettlement``).
        var settle: @Sendable (Settlement) -> Void
    }

    struct LoopState {
        /// Whether reading is paused: set by the state machine's `pauseReading` and
        /// `resumeReading` actions, read by every turn without the lock.
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
    enum Step {
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

    func configure() throws(TransportError) {
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
    func setLogging(_ on: Bool) {
        mosquitto_log_callback_set(handle, on ? mosquittoOnLog : nil)
    }

    // MARK: Feeding the state machine

    /// Runs `event` on the state machine under the lock, takes out the continuations its
    /// actions name, then performs the actions in order outside the lock.
    func feed(_ event: (inout Shared) -> [Machine.Action]) {
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

    func perform(_ step: Step) {
        switch step {
        case .resume(let continuation, let result): continuation.resume(returning: result)
        case .resumeSubscribe(let continuation, let result): continuation.resume(returning: result)
        case .act(let action): perform(action)
        }
    }

    func perform(_ action: Machine.Action) {
        switch action {
        case .connect:
            // Queued before the loop starts, so it is the loop's first work.
            driver.submit { [weak self] in self?.connect() }
        case .reconnect:
            let rc = mosquitto_reconnect(handle)
            let error = rc == Mosquitto.success ? nil : connectError(rc)
            feed { $0.machine.reconnectAttempted(error: error) }
        case .scheduleReconnect(let at, _, _):
            driver.schedule(at: at) { [weak self] in self?.feed { $0.machine.reconnectTimerFired() } }
        case .complete, .completeSubscribe:
            break  // taken out in feed(_:)
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
            feed { shared in
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
    func scheduleDeadlineScan() {
        driver.schedule(at: .now + .milliseconds(100)) { [weak self] in
            guard let self else { return }
            let now = ContinuousClock.now
            self.feed { $0.machine.deadlineReached(now: now) }
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
}
