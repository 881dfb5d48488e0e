import CMosquitto
import CloudEvents

#if canImport(Glibc)
    import Glibc
#endif

/// The machinery behind ``MQTTClient``: one `struct mosquitto *`, the network loop on a
/// thread of its own, and the bookkeeping that turns libmosquitto's callbacks into
/// finished publishes, granted subscriptions and deliveries.
///
/// Threads. The loop thread alone runs libmosquitto's connect, loop, reconnect and publish
/// functions, so every callback runs on it; publishers queue their messages for it and wake
/// it through a pipe. Other threads call only `mosquitto_subscribe_v5` (and the loop's
/// `mosquitto_unsubscribe_v5`), which libmosquitto guards with its own mutexes once
/// `mosquitto_threaded_set` is on.
/// No lock of ours is held across a libmosquitto call, so its callback lock and ours can
/// never be taken in opposite orders.
final class MosquittoEngine: Sendable {
    let configuration: MQTTClientConfiguration
    /// `struct mosquitto *`. Shared as described above; destroyed in `deinit`, when neither
    /// the loop thread nor any caller can hold the engine any more.
    nonisolated(unsafe) private let handle: OpaquePointer
    private let wakeReadFD: Int32
    private let wakeWriteFD: Int32
    private let state = Locked(State())
    /// Touched only by the loop thread (the callbacks run on it too).
    nonisolated(unsafe) private var loop = LoopState()

    private typealias Completion = CheckedContinuation<Result<Void, TransportError>, Never>

    private struct State {
        var phase = Phase.starting
        var connectionCount = 0
        var started: Completion?
        var connectionWaiters: [UInt64: Waiter] = [:]
        var nextWaiterID: UInt64 = 0
        /// Messages waiting for the loop thread to publish them, in order.
        var publishRequests: [PublishRequest] = []
        /// Whether a wake-up byte is in the pipe that the loop has not acted on yet.
        var wakePending = false
        var publishes: [Int32: PendingPublish] = [:]
        var subscribeRequests: [Int32: PendingSubscribe] = [:]
        var earlySubacks: [Int32: Int32] = [:]
        /// Message ids of the resubscriptions sent after a reconnect: nobody waits for their
        /// SUBACK, and it must not be taken for another subscribe's.
        var resubscriptions: Set<Int32> = []
        var subscriptions: [Int32: Subscription] = [:]
        var nextSubscriptionID: Int32 = 1
        var stopRequested = false
        var drainDeadline: ContinuousClock.Instant?
        var exitWaiters: [CheckedContinuation<Void, Never>] = []
        var lastLogError: String?
        var lastConnectError: TransportError?
    }

    private enum Phase { case starting, connected, disconnected, stopped }

    private struct Waiter {
        var deadline: ContinuousClock.Instant
        var continuation: Completion
    }

    private struct PublishRequest {
        var message: MQTTMessage
        var deadline: ContinuousClock.Instant
        var continuation: Completion
    }

    private struct PendingPublish {
        var topic: String
        var qos: Int32
        var deadline: ContinuousClock.Instant
        var continuation: Completion
    }

    private struct PendingSubscribe {
        var deadline: ContinuousClock.Instant
        var continuation: CheckedContinuation<Result<Int32, TransportError>, Never>
    }

    struct Subscription {
        var filter: String
        var qos: MQTTQoS
        var continuation: DeliveryStream.Continuation
        var formats: EventFormatRegistry
        var extensionTypes: ExtensionTypes
    }

    private struct LoopState {
        /// Deliveries that did not fit their subscription's buffer, by subscription id.
        var overflow: [Int32: [Delivery]] = [:]
        var paused = false
        /// Set when reading resumes: read before `mosquitto_loop_misc` judges keepalive.
        var resumed = false
        var lastPausePing = ContinuousClock.now
        var reconnectAttempt = 0
        var nextExpiryScan = ContinuousClock.now
        /// The last loop function's result, to explain a connection that failed while starting.
        var lastResult = Mosquitto.success
        /// When the first CONNACK must have arrived.
        var startDeadline = ContinuousClock.now
        /// Given to a full subscription buffer, which calls it once the consumer has made
        /// room: reading resumes then, not at the next poll timeout. Made once, not per message.
        var wakeOnRoom: (@Sendable () -> Void)?
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
        var fds: [Int32] = [0, 0]
        guard ce_mosquitto_wake_pipe(&fds) == 0 else {
            throw invalid("cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        guard
            let handle = mosquitto_new(
                configuration.clientID.isEmpty ? nil : configuration.clientID, configuration.cleanStart, nil)
        else {
            close(fds[0])
            close(fds[1])
            throw invalid("mosquitto_new failed: \(String(cString: strerror(errno)))")
        }
        self.configuration = configuration
        self.handle = handle
        self.wakeReadFD = fds[0]
        self.wakeWriteFD = fds[1]
        try configure()
    }

    deinit {
        mosquitto_destroy(handle)
        close(wakeReadFD)
        close(wakeWriteFD)
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

    // MARK: Starting and stopping

    /// Starts the loop thread and waits for the first CONNACK.
    func start() async throws(TransportError) {
        loop.startDeadline = ContinuousClock.now + configuration.operationTimeout
        let result = await withCheckedContinuation { (continuation: Completion) in
            state.withLock { $0.started = continuation }
            let retained = Unmanaged.passRetained(self).toOpaque()
            var thread = pthread_t()
            let rc = pthread_create(
                &thread, nil,
                { context in
                    let engine = Unmanaged<MosquittoEngine>.fromOpaque(context!).takeRetainedValue()
                    engine.runLoop()
                    return nil
                }, retained)
            if rc == 0 {
                pthread_detach(thread)
            } else {
                Unmanaged<MosquittoEngine>.fromOpaque(retained).release()
                state.withLock { $0.started = nil }
                continuation.resume(
                    returning: .failure(TransportError(.connectionFailed, "cannot start the MQTT network thread")))
            }
        }
        try result.get()
    }

    /// Asks the loop to drain, disconnect and end; returns when the loop thread has ended.
    func shutdown(drainTimeout: Duration) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let exited = state.withLock { state -> Bool in
                guard state.phase != .stopped else { return true }
                if !state.stopRequested {
                    state.stopRequested = true
                    state.drainDeadline = .now + drainTimeout
                }
                state.exitWaiters.append(continuation)
                return false
            }
            if exited { continuation.resume() } else { wake() }
        }
    }

    /// Stops without waiting (the client was dropped without a shutdown).
    func requestStop() {
        state.withLock { state in
            if !state.stopRequested {
                state.stopRequested = true
                state.drainDeadline = .now
            }
        }
        wake()
    }

    /// Closes the socket under libmosquitto, as a network failure would (tests use it to
    /// see wills published and reconnection at work).
    func simulateConnectionLoss() {
        let socket = mosquitto_socket(handle)
        if socket >= 0 { _ = Glibc.shutdown(socket, Int32(SHUT_RDWR)) }
    }

    var isConnected: Bool { state.withLock { $0.phase == .connected } }
    var connectionCount: Int { state.withLock { $0.connectionCount } }

    /// Makes the loop look at its queues now.
    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWriteFD, &byte, 1)  // a full pipe is already a pending wake-up
    }

    // MARK: Publishing

    /// Hands `message` to the loop thread, which alone calls `mosquitto_publish_v5`, and
    /// waits for its acknowledgement. Publishing on the loop thread keeps libmosquitto
    /// single-threaded for its busiest path, and registers each message id before the loop
    /// can read the acknowledgement for it.
    func publish(_ message: MQTTMessage) async throws(TransportError) {
        guard MosquittoProperties.isMQTTString(message.topic) else {
            throw TransportError(
                .invalidMessage, "MQTT topic '\(message.topic)' cannot be sent (MQTT strings exclude NUL and control characters)")
        }
        let deadline = ContinuousClock.now + configuration.operationTimeout
        let result = await withCheckedContinuation { (continuation: Completion) in
            enum Action { case wake, queued, closed }
            let action = state.withLock { state -> Action in
                if state.phase == .stopped || state.stopRequested { return .closed }
                state.publishRequests.append(PublishRequest(message: message, deadline: deadline, continuation: continuation))
                // One byte in the pipe is enough until the loop takes the queue.
                if state.wakePending { return .queued }
                state.wakePending = true
                return .wake
            }
            switch action {
            case .wake: wake()
            case .queued: break
            case .closed: continuation.resume(returning: .failure(closedError()))
            }
        }
        try result.get()
    }

    /// Loop thread: publishes the queued messages while connected. A message libmosquitto
    /// refuses fails at once; one refused for want of a connection waits for the next.
    private func submitPublishes() {
        let requests = state.withLock { state -> [PublishRequest] in
            state.wakePending = false
            guard state.phase == .connected, !state.publishRequests.isEmpty else { return [] }
            defer { state.publishRequests.removeAll(keepingCapacity: true) }
            return state.publishRequests
        }
        guard !requests.isEmpty else { return }
        var submitted: [(Int32, PendingPublish)] = []
        submitted.reserveCapacity(requests.count)
        var unsent: ArraySlice<PublishRequest> = []
        for (index, request) in requests.enumerated() {
            let message = request.message
            var properties = MosquittoProperties()
            do { try properties.add(message, version: configuration.protocolVersion) } catch {
                request.continuation.resume(returning: .failure(error))
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
                request.continuation.resume(
                    returning: .failure(
                        TransportError(
                            .invalidMessage, "publishing to MQTT topic '\(message.topic)': \(Mosquitto.describe(rc))")))
                continue
            }
            submitted.append(
                (
                    mid,
                    PendingPublish(
                        topic: message.topic, qos: Int32(message.qos.rawValue), deadline: request.deadline,
                        continuation: request.continuation)
                ))
        }
        state.withLock { state in
            for (mid, pending) in submitted { state.publishes[mid] = pending }
            if !unsent.isEmpty { state.publishRequests.insert(contentsOf: unsent, at: 0) }
        }
    }

    private func publishResult(reason: Int32, topic: String) -> Result<Void, TransportError> {
        guard reason >= 0x80 else { return .success(()) }
        let code: TransportError.Code = reason == 0x87 ? .notAuthorized : .rejected
        return .failure(
            TransportError(
                code, "the broker refused the message for '\(topic)': \(Mosquitto.describeReason(reason)) (reason code \(reason))"
            ))
    }

    private func timedOut(_ what: String) -> TransportError {
        TransportError(
            .timedOut,
            "\(what) on \(configuration.host):\(configuration.effectivePort): no answer within \(configuration.operationTimeout)")
    }

    /// Returns when connected; waits (up to `deadline`) while the client reconnects.
    private func waitForConnection(until deadline: ContinuousClock.Instant) async throws(TransportError) {
        let result = await withCheckedContinuation { (continuation: Completion) in
            enum Action { case ready, closed, wait }
            let action = state.withLock { state -> Action in
                switch state.phase {
                case .connected: return .ready
                case .stopped: return .closed
                case .starting, .disconnected:
                    if state.stopRequested { return .closed }
                    state.nextWaiterID += 1
                    state.connectionWaiters[state.nextWaiterID] = Waiter(deadline: deadline, continuation: continuation)
                    return .wait
                }
            }
            switch action {
            case .ready: continuation.resume(returning: .success(()))
            case .closed: continuation.resume(returning: .failure(closedError()))
            case .wait: break
            }
        }
        try result.get()
    }

    private func closedError() -> TransportError {
        TransportError(.closed, "the MQTT client for \(configuration.host):\(configuration.effectivePort) is shut down")
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
        let subscription = Subscription(
            filter: filter, qos: qos, continuation: continuation, formats: formats, extensionTypes: extensionTypes)
        let id = state.withLock { state -> Int32 in
            let id = state.nextSubscriptionID
            state.nextSubscriptionID += 1
            state.subscriptions[id] = subscription
            return id
        }
        do throws(TransportError) {
            try await waitForConnection(until: deadline)
            let granted = try await sendSubscribe(id: id, subscription, deadline: deadline)
            guard granted < 0x80 else {
                let code: TransportError.Code = granted == 0x87 ? .notAuthorized : .rejected
                throw TransportError(
                    code,
                    "the broker refused the subscription to '\(filter)': \(Mosquitto.describeReason(granted)) (reason code \(granted))"
                )
            }
            return stream
        } catch {
            _ = state.withLock { $0.subscriptions.removeValue(forKey: id) }
            continuation.finish(throwing: error)
            throw error
        }
    }

    private func sendSubscribe(id: Int32, _ subscription: Subscription, deadline: ContinuousClock.Instant)
        async throws(TransportError) -> Int32
    {
        var mid: Int32 = 0
        let rc = subscribeCall(id: id, subscription, mid: &mid, resubscribing: false)
        guard rc == Mosquitto.success else {
            throw TransportError(.connectionFailed, "subscribing to '\(subscription.filter)': \(Mosquitto.describe(rc))")
        }
        wake()
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Int32, TransportError>, Never>) in
            let early = state.withLock { state -> Int32? in
                if let granted = state.earlySubacks.removeValue(forKey: mid) { return granted }
                state.subscribeRequests[mid] = PendingSubscribe(deadline: deadline, continuation: continuation)
                return nil
            }
            if let early { continuation.resume(returning: .success(early)) }
        }
        return try result.get()
    }

    /// `mosquitto_subscribe_v5` with the subscription's id as its MQTT 5 Subscription
    /// Identifier (so each message is routed by the broker's own matching). A
    /// resubscription after a reconnect asks for retained messages only if the session lost
    /// the subscription.
    private func subscribeCall(id: Int32, _ subscription: Subscription, mid: inout Int32, resubscribing: Bool) -> Int32 {
        var properties = MosquittoProperties()
        var options: Int32 = 0
        if configuration.protocolVersion == .v5 {
            _ = properties.addVarint(MQTT_PROP_SUBSCRIPTION_IDENTIFIER, UInt32(id))
            if resubscribing { options = Int32(MQTT_SUB_OPT_SEND_RETAIN_NEW.rawValue) }
        }
        return mosquitto_subscribe_v5(
            handle, &mid, subscription.filter, Int32(subscription.qos.rawValue), options, properties.list)
    }

    private func unsubscribe(id: Int32) {
        guard let subscription = state.withLock({ $0.subscriptions.removeValue(forKey: id) }) else { return }
        subscription.continuation.finish()
        loop.overflow[id] = nil
        if !state.withLock({ $0.subscriptions.values.contains { $0.filter == subscription.filter } }) {
            _ = mosquitto_unsubscribe_v5(handle, nil, subscription.filter, nil)
        }
    }

    // MARK: The loop thread

    private func runLoop() {
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
            failStart(connectError(rc))
        } else {
            runConnected()
        }
        finish()
    }

    private func connectError(_ rc: Int32) -> TransportError {
        let detail = state.withLock { $0.lastLogError }.map { " (\($0))" } ?? ""
        let reason = rc == Mosquitto.code(MOSQ_ERR_ERRNO) ? String(cString: strerror(errno)) : Mosquitto.describe(rc)
        return TransportError(
            .connectionFailed,
            "cannot connect to MQTT broker \(configuration.host):\(configuration.effectivePort): \(reason)\(detail)")
    }

    private func failStart(_ error: TransportError) {
        let started = state.withLock { state -> Completion? in
            state.stopRequested = true
            defer { state.started = nil }
            return state.started
        }
        started?.resume(returning: .failure(error))
    }

    private func runConnected() {
        var disconnectSentAt: ContinuousClock.Instant?
        while true {
            let now = ContinuousClock.now
            let (stopRequested, drained, phase) = state.withLock { state in
                (
                    state.stopRequested,
                    (state.publishes.isEmpty && state.publishRequests.isEmpty) || now >= state.drainDeadline ?? now, state.phase
                )
            }
            var socket = mosquitto_socket(handle)
            if stopRequested {
                if socket < 0 || phase == .starting { return }
                if disconnectSentAt == nil, drained {
                    _ = mosquitto_disconnect_v5(handle, 0, nil)
                    disconnectSentAt = now
                }
                if let sent = disconnectSentAt, now - sent > .seconds(2) { return }
            }
            if phase == .starting, now >= loop.startDeadline {
                failStart(timedOut("waiting for the CONNACK"))
                return
            }
            if socket < 0 {
                // Lost before the first CONNACK (a refused TLS handshake, a reset): that is
                // a failed connect, reported to the caller, not a reason to retry.
                if phase == .starting {
                    failStart(connectError(loop.lastResult == Mosquitto.success ? Mosquitto.connectionRefused : loop.lastResult))
                    return
                }
                reconnect()
                continue
            }
            moveOverflow()
            // A tuple, not an array: no allocation per turn of the loop.
            var fds = (
                pollfd(
                    fd: socket, events: Int16(loop.paused ? 0 : POLLIN) | Int16(mosquitto_want_write(handle) ? POLLOUT : 0),
                    revents: 0),
                pollfd(fd: wakeReadFD, events: Int16(POLLIN), revents: 0)
            )
            // Paused, the loop is woken by the consumer making room (wakeOnRoom); the short
            // timeout only paces keepAliveWhilePaused and the deadlines.
            let timeout: Int32 = loop.paused ? 20 : 250
            _ = withUnsafeMutableBytes(of: &fds) { poll($0.baseAddress!.assumingMemoryBound(to: pollfd.self), 2, timeout) }
            if fds.1.revents != 0 { drainWakePipe() }
            if !loop.paused, fds.0.revents != 0 || loop.resumed {
                loop.resumed = false
                readAvailable(socket)
            }
            submitPublishes()
            socket = mosquitto_socket(handle)
            if socket >= 0, mosquitto_want_write(handle) { loop.lastResult = mosquitto_loop_write(handle, 1) }
            if mosquitto_socket(handle) >= 0 {
                if loop.paused { keepAliveWhilePaused() } else { _ = mosquitto_loop_misc(handle) }
            }
            expireDeadlines()
        }
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

    /// Empties the wake pipe.
    private func drainWakePipe() {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { buffer in
            while read(wakeReadFD, buffer.baseAddress, buffer.count) > 0 {}
        }
    }

    /// Waits for the backoff delay (a wake-up from ``shutdown(drainTimeout:)`` cuts it
    /// short), then reconnects. libmosquitto reuses the CONNECT properties.
    private func reconnect() {
        let delay = configuration.reconnect.delay(attempt: loop.reconnectAttempt)
        loop.reconnectAttempt += 1
        // In slices, so that deadlines still expire on time during a long backoff.
        let end = ContinuousClock.now + delay
        while ContinuousClock.now < end {
            let left = min(end - ContinuousClock.now, .milliseconds(100))
            var fds = [pollfd(fd: wakeReadFD, events: Int16(POLLIN), revents: 0)]
            let milliseconds = Int32(
                clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)
            _ = poll(&fds, 1, max(1, milliseconds))
            drainWakePipe()
            expireDeadlines()
            if state.withLock({ $0.stopRequested }) { return }
        }
        let rc = mosquitto_reconnect(handle)
        if rc != Mosquitto.success {
            let error = connectError(rc)
            state.withLock { $0.lastConnectError = error }
        }
    }

    /// While reading is paused, libmosquitto cannot see the broker's PINGRESP (it waits
    /// behind unread messages), so its own keepalive check is not run; instead the client
    /// sends the broker a packet every half keepalive: an UNSUBSCRIBE from a filter it never
    /// subscribes to, which changes nothing and resets the broker's keepalive timer.
    private func keepAliveWhilePaused() {
        let now = ContinuousClock.now
        guard now - loop.lastPausePing >= configuration.keepAlive / 2 else { return }
        loop.lastPausePing = now
        _ = mosquitto_unsubscribe_v5(handle, nil, "$ce/keepalive-while-paused", nil)
    }

    /// Sends `delivery` to a subscription's consumer without waiting; when the buffer is
    /// full, the consumer wakes the loop once it has taken half of it (weakly: a paused
    /// stream must not keep the engine alive).
    private func trySend(_ delivery: Delivery, to subscription: Subscription) -> DeliveryStream.TrySendResult {
        if loop.wakeOnRoom == nil { loop.wakeOnRoom = { [weak self] in self?.wake() } }
        return subscription.continuation.trySend(delivery, onRoom: loop.wakeOnRoom!)
    }

    /// Hands buffered overflow to consumers that made room; resumes reading once all of it
    /// is handed over.
    private func moveOverflow() {
        guard loop.paused else { return }
        let subscriptions = state.withLock { $0.subscriptions }
        for (id, waiting) in loop.overflow {
            guard let subscription = subscriptions[id] else {
                loop.overflow[id] = nil
                continue
            }
            var sent = 0
            sending: for delivery in waiting {
                switch trySend(delivery, to: subscription) {
                case .enqueued: sent += 1
                case .full: break sending
                case .terminated:
                    unsubscribe(id: id)
                    sent = waiting.count
                    break sending
                }
            }
            if sent == waiting.count { loop.overflow[id] = nil } else { loop.overflow[id]!.removeFirst(sent) }
        }
        if loop.overflow.isEmpty {
            loop.paused = false
            loop.resumed = true
        }
    }

    /// Fails publishes, subscribes and connection waits whose deadline passed (checked a
    /// few times a second).
    private func expireDeadlines() {
        let now = ContinuousClock.now
        guard now >= loop.nextExpiryScan else { return }
        loop.nextExpiryScan = now + .milliseconds(100)
        let (publishes, queued, subscribes, waiters) = state.withLock { state in
            let publishes = state.publishes.filter { $0.value.deadline <= now }
            for mid in publishes.keys { state.publishes[mid] = nil }
            let queued = state.publishRequests.filter { $0.deadline <= now }
            if !queued.isEmpty { state.publishRequests.removeAll { $0.deadline <= now } }
            let subscribes = state.subscribeRequests.filter { $0.value.deadline <= now }
            for mid in subscribes.keys { state.subscribeRequests[mid] = nil }
            let waiters = state.connectionWaiters.filter { $0.value.deadline <= now }
            for id in waiters.keys { state.connectionWaiters[id] = nil }
            return (publishes, queued, subscribes, waiters)
        }
        for pending in publishes.values {
            pending.continuation.resume(returning: .failure(timedOut("waiting for the acknowledgement of a publish")))
        }
        for request in queued {
            request.continuation.resume(returning: .failure(timedOut("waiting for the connection to publish")))
        }
        for pending in subscribes.values { pending.continuation.resume(returning: .failure(timedOut("waiting for a SUBACK"))) }
        for waiter in waiters.values {
            let error = state.withLock { $0.lastConnectError }
            waiter.continuation.resume(returning: .failure(error ?? timedOut("waiting for the connection")))
        }
    }

    /// The loop has ended: everything still waiting fails with `.closed`, every
    /// subscription's deliveries end, shutdown callers return.
    private func finish() {
        let taken = state.withLock { state in
            state.phase = .stopped
            defer {
                state.publishes = [:]
                state.publishRequests = []
                state.subscribeRequests = [:]
                state.connectionWaiters = [:]
                state.subscriptions = [:]
                state.exitWaiters = []
                state.started = nil
            }
            return (
                state.publishes, state.subscribeRequests, state.connectionWaiters, state.subscriptions, state.exitWaiters,
                state.started, state.publishRequests
            )
        }
        let closed = closedError()
        taken.5?.resume(returning: .failure(closed))
        for pending in taken.0.values { pending.continuation.resume(returning: .failure(closed)) }
        for request in taken.6 { request.continuation.resume(returning: .failure(closed)) }
        for pending in taken.1.values { pending.continuation.resume(returning: .failure(closed)) }
        for waiter in taken.2.values { waiter.continuation.resume(returning: .failure(closed)) }
        for subscription in taken.3.values { subscription.continuation.finish() }
        loop.overflow = [:]
        for waiter in taken.4 { waiter.resume() }
    }

    // MARK: Callbacks (on the loop thread)

    fileprivate func didConnect(reason: Int32) {
        guard reason == 0 else {
            let refusal = connectRefusal(reason)
            let starting = state.withLock { state -> Bool in
                state.lastConnectError = refusal
                return state.phase == .starting
            }
            if starting { failStart(refusal) }
            return
        }
        loop.reconnectAttempt = 0
        setLogging(false)
        let (started, waiters, subscriptions, isReconnect) = state.withLock { state in
            let isReconnect = state.connectionCount > 0
            state.phase = .connected
            state.connectionCount += 1
            state.lastConnectError = nil
            defer {
                state.started = nil
                state.connectionWaiters = [:]
            }
            return (state.started, state.connectionWaiters, state.subscriptions, isReconnect)
        }
        if isReconnect {
            var mids: [Int32] = []
            for (id, subscription) in subscriptions.sorted(by: { $0.key < $1.key }) {
                var mid: Int32 = 0
                if subscribeCall(id: id, subscription, mid: &mid, resubscribing: true) == Mosquitto.success { mids.append(mid) }
            }
            state.withLock { $0.resubscriptions.formUnion(mids) }
        }
        started?.resume(returning: .success(()))
        for waiter in waiters.values { waiter.continuation.resume(returning: .success(())) }
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

    fileprivate func didDisconnect(rc: Int32) {
        setLogging(true)
        let (starting, lostPublishes) = state.withLock { state in
            let starting = state.phase == .starting
            if state.phase == .connected { state.phase = .disconnected }
            // QoS 0 messages not yet written are dropped by libmosquitto with the connection.
            let lost = state.publishes.filter { $0.value.qos == 0 }
            for mid in lost.keys { state.publishes[mid] = nil }
            return (starting, lost)
        }
        let error = TransportError(
            .connectionFailed,
            "the connection to MQTT broker \(configuration.host):\(configuration.effectivePort) was lost before the QoS 0 message was written"
        )
        for pending in lostPublishes.values { pending.continuation.resume(returning: .failure(error)) }
        if starting {
            let known = state.withLock { $0.lastConnectError }
            failStart(known ?? connectError(rc == Mosquitto.success ? Mosquitto.connectionRefused : rc))
        }
    }

    fileprivate func didPublish(mid: Int32, reason: Int32) {
        // The loop thread registered the id before it could write the message, so an
        // acknowledgement without a waiter belongs to a publish that timed out: dropped.
        let pending = state.withLock { $0.publishes.removeValue(forKey: mid) }
        if let pending { pending.continuation.resume(returning: publishResult(reason: reason, topic: pending.topic)) }
    }

    fileprivate func didSubscribe(mid: Int32, granted: Int32) {
        let pending = state.withLock { state -> PendingSubscribe? in
            if let pending = state.subscribeRequests.removeValue(forKey: mid) { return pending }
            if state.resubscriptions.remove(mid) == nil { state.earlySubacks[mid] = granted }
            return nil
        }
        pending?.continuation.resume(returning: .success(granted))
    }

    fileprivate func didReceive(_ message: MQTTMessage, subscriptionIdentifiers: [Int32]) {
        let targets = state.withLock { state -> [(Int32, Subscription)] in
            if !subscriptionIdentifiers.isEmpty {
                return subscriptionIdentifiers.compactMap { id in state.subscriptions[id].map { (id, $0) } }
            }
            return state.subscriptions.filter { Self.filter($0.value.filter, matches: message.topic) }.sorted { $0.key < $1.key }
        }
        guard !targets.isEmpty else { return }
        let cloudEventsMessage = MQTTMessageReader(message, protocolVersion: configuration.protocolVersion).message()
        for (id, subscription) in targets {
            let delivery = Delivery(
                message: cloudEventsMessage, formats: subscription.formats, extensionTypes: subscription.extensionTypes,
                settle: { _ in })
            if loop.overflow[id] != nil {
                loop.overflow[id]!.append(delivery)
                continue
            }
            switch trySend(delivery, to: subscription) {
            case .enqueued:
                break
            case .full:
                loop.overflow[id] = [delivery]
                loop.paused = true
            case .terminated:
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

    fileprivate func didLog(level: Int32, _ text: String) {
        guard level == MOSQ_LOG_ERR else { return }
        state.withLock { $0.lastLogError = text }
    }
}

// MARK: libmosquitto callbacks
// Global functions, not closures: a C thread calls them, and they must not inherit an
// actor's isolation. `context` is the engine, unretained: the loop thread that runs every
// callback holds a strong reference for as long as it runs.

private func engine(_ context: UnsafeMutableRawPointer?) -> MosquittoEngine {
    Unmanaged<MosquittoEngine>.fromOpaque(context!).takeUnretainedValue()
}

private func mosquittoOnConnect(
    _: OpaquePointer?, _ context: UnsafeMutableRawPointer?, _ reason: Int32, _: Int32, _: OpaquePointer?
) {
    engine(context).didConnect(reason: reason)
}

private func mosquittoOnDisconnect(_: OpaquePointer?, _ context: UnsafeMutableRawPointer?, _ rc: Int32, _: OpaquePointer?) {
    engine(context).didDisconnect(rc: rc)
}

private func mosquittoOnPublish(
    _: OpaquePointer?, _ context: UnsafeMutableRawPointer?, _ mid: Int32, _ reason: Int32, _: OpaquePointer?
) {
    engine(context).didPublish(mid: mid, reason: reason)
}

private func mosquittoOnSubscribe(
    _: OpaquePointer?, _ context: UnsafeMutableRawPointer?, _ mid: Int32, _ count: Int32, _ granted: UnsafePointer<Int32>?,
    _: OpaquePointer?
) {
    engine(context).didSubscribe(mid: mid, granted: count > 0 ? granted?.pointee ?? 0x80 : 0x80)
}

private func mosquittoOnMessage(
    _: OpaquePointer?, _ context: UnsafeMutableRawPointer?, _ message: UnsafePointer<mosquitto_message>?,
    _ properties: OpaquePointer?
) {
    guard let message = message?.pointee, let topic = message.topic else { return }
    // libmosquitto frees the message when the callback returns: copy everything now.
    let payload =
        message.payloadlen > 0 && message.payload != nil
        ? [UInt8](UnsafeRawBufferPointer(start: message.payload, count: Int(message.payloadlen))) : []
    let received = ReceivedProperties(properties)
    let mqttMessage = MQTTMessage(
        topic: String(cString: topic), payload: payload, qos: MQTTQoS(rawValue: Int(message.qos)) ?? .atMostOnce,
        retain: message.retain, contentType: received.contentType, userProperties: received.userProperties)
    engine(context).didReceive(mqttMessage, subscriptionIdentifiers: received.subscriptionIdentifiers)
}

private func mosquittoOnLog(_: OpaquePointer?, _ context: UnsafeMutableRawPointer?, _ level: Int32, _ text: UnsafePointer<CChar>?)
{
    guard level == MOSQ_LOG_ERR, let text else { return }
    engine(context).didLog(level: level, String(cString: text))
}
