import CloudEvents
import CloudEventsLoopDriver

/// The rules of one MQTT client connection, as a value that takes events and returns actions
/// (the shape of postgres-nio's `ConnectionStateMachine`).
///
/// It owns the connection's phase, the connect and reconnect sequence with its backoff, the
/// waiters (by ``ContinuationID``: the continuations stay with the caller), the publishes
/// queued for the loop thread and those waiting for their acknowledgement, the subscribes
/// waiting for their SUBACK, the operation deadlines, the drain before a shutdown, and the
/// deliveries held back while a consumer is full (pause and overflow). It takes no lock, makes
/// no C call and resumes nothing: ``MosquittoEngine`` feeds it events under its one lock and
/// performs the actions it returns after releasing the lock.
///
/// Errors whose text needs libmosquitto (a return code's description) come in with the event
/// that causes them; the others are made here.
struct MQTTConnectionStateMachine {
    /// What the rules depend on.
    struct Configuration: Sendable {
        /// `host:port`, for error messages.
        var broker: String
        var operationTimeout: Duration
        var reconnect: Backoff
        var keepAlive: Duration
        /// How long the loop waits for the broker to close the connection after a DISCONNECT.
        var disconnectGrace: Duration = .seconds(2)

        init(_ configuration: MQTTClientConfiguration) {
            broker = "\(configuration.host):\(configuration.effectivePort)"
            operationTimeout = configuration.operationTimeout
            reconnect = configuration.reconnect
            keepAlive = configuration.keepAlive
        }

        init(broker: String, operationTimeout: Duration, reconnect: Backoff, keepAlive: Duration) {
            self.broker = broker
            self.operationTimeout = operationTimeout
            self.reconnect = reconnect
            self.keepAlive = keepAlive
        }
    }

    /// Where the connection is.
    enum Phase: Equatable {
        /// Not started yet.
        case idle
        /// Waiting for the first CONNACK, until the deadline.
        case starting(deadline: ContinuousClock.Instant)
        case connected
        /// Lost (or refused after having been connected); reconnecting.
        case disconnected
        /// The loop has ended.
        case stopped
    }

    /// Where reconnection is while disconnected.
    enum Reconnection: Equatable {
        /// Not needed, or not noticed yet.
        case idle
        /// A reconnect is due at the timer.
        case scheduled(at: ContinuousClock.Instant)
        /// `mosquitto_reconnect` was called; the socket is open or the next turn sees it closed.
        case attempted
    }

    /// A publish handed to the loop thread.
    struct QueuedPublish {
        var waiter: ContinuationID
        var message: MQTTMessage
        var deadline: ContinuousClock.Instant
    }

    /// A publish written to libmosquitto, waiting for its acknowledgement.
    struct InFlightPublish {
        var waiter: ContinuationID
        var topic: String
        var qos: MQTTQoS
        var deadline: ContinuousClock.Instant
    }

    /// A live subscription, as resubscribing needs it.
    struct Subscription: Equatable {
        var id: Int32
        var filter: String
        var qos: MQTTQoS
    }

    private struct PendingSubscribe {
        var subscription: Int32
        var deadline: ContinuousClock.Instant
        /// The SUBSCRIBE's message id once it is sent.
        var messageID: Int32?
    }

    /// Something worth a log line; ``MosquittoEngine`` chooses the level and the metadata.
    enum LogEvent {
        case connected
        case connectionLost(returnCode: Int32)
        case reconnectScheduled(attempt: Int, delay: Duration)
        case reconnected(connectionCount: Int)
        case connectionRefused(TransportError)
        case reconnectFailed(TransportError)
        /// QoS 0 publishes libmosquitto dropped with the connection before writing them.
        case publishesDropped(count: Int)
    }

    /// What ``MosquittoEngine`` must do, in order.
    enum Action {
        /// `mosquitto_connect_bind_v5` (the first connection).
        case connect
        /// `mosquitto_reconnect`; report the result with ``reconnectAttempted(error:)``.
        case reconnect
        /// Call ``reconnectTimerFired()`` at `at` (`delay` from now; attempt `attempt`, from 1).
        case scheduleReconnect(at: ContinuousClock.Instant, delay: Duration, attempt: Int)
        /// Resume the waiter (a start, a connection wait or a publish) with `result`.
        case complete(ContinuationID, Result<Void, TransportError>)
        /// Resume the subscribe waiter with the granted QoS or reason code, or an error.
        case completeSubscribe(ContinuationID, Result<Int32, TransportError>)
        /// Send SUBSCRIBE again for these subscriptions (after a reconnect), and report the
        /// message ids with ``resubscribed(messageIDs:)``.
        case resubscribe([Subscription])
        /// Turn libmosquitto's log callback on (connecting) or off (connected).
        case setLibraryLogging(Bool)
        /// `mosquitto_disconnect_v5`; call ``disconnectGraceEnded(now:)`` after `grace`.
        case disconnect(grace: Duration)
        /// Stop reading from the socket: a consumer's buffer is full, so the broker holds the
        /// rest (TCP and MQTT flow control).
        case pauseReading
        /// Read again, before judging the keepalive: every held delivery was handed over.
        case resumeReading
        /// End the network loop.
        case endLoop
        /// Log it.
        case log(LogEvent)
    }

    let configuration: Configuration
    private(set) var phase = Phase.idle
    private(set) var reconnection = Reconnection.idle
    private(set) var connectionCount = 0
    private(set) var reconnectAttempt = 0
    private var startWaiter: ContinuationID?
    private var connectionWaiters: [ContinuationID: ContinuousClock.Instant] = [:]
    /// Publishes waiting for the loop thread, in order.
    private var queuedPublishes: [QueuedPublish] = []
    private var inFlight: [Int32: InFlightPublish] = [:]
    private var subscriptions: [Int32: Subscription] = [:]
    private var nextSubscriptionID: Int32 = 1
    private var pendingSubscribes: [ContinuationID: PendingSubscribe] = [:]
    private var subscribeByMessageID: [Int32: ContinuationID] = [:]
    /// Message ids of the resubscriptions sent after a reconnect: nobody waits for their
    /// SUBACK, and it must not be taken for another subscribe's.
    private var resubscriptions: Set<Int32> = []
    private(set) var lastConnectError: TransportError?
    private(set) var stopRequested = false
    private var drainDeadline: ContinuousClock.Instant?
    private var disconnectSentAt: ContinuousClock.Instant?
    /// Deliveries that did not fit their subscription's buffer, by subscription id.
    private var overflow: [Int32: [Delivery]] = [:]
    /// Whether reading from the socket is paused (a consumer's buffer is full).
    private(set) var isPaused = false
    private var lastPausePing: ContinuousClock.Instant?

    init(configuration: Configuration) {
        self.configuration = configuration
    }

    var isConnected: Bool { phase == .connected }
    var isStopped: Bool { phase == .stopped }

    // MARK: Errors made here

    func closedError() -> TransportError {
        TransportError(.closed, "the MQTT client for \(configuration.broker) is shut down")
    }

    func timedOut(_ what: String) -> TransportError {
        TransportError(.timedOut, "\(what) on \(configuration.broker): no answer within \(configuration.operationTimeout)")
    }

    // MARK: Starting and connecting

    /// ``MQTTClient/connect(configuration:)`` began: connect, and fail after the operation
    /// timeout without a CONNACK.
    mutating func startRequested(waiter: ContinuationID, now: ContinuousClock.Instant) -> [Action] {
        guard phase == .idle else { return [.complete(waiter, .failure(closedError()))] }
        phase = .starting(deadline: now + configuration.operationTimeout)
        startWaiter = waiter
        return [.connect]
    }

    /// The start deadline, for a timer.
    var startDeadline: ContinuousClock.Instant? {
        if case .starting(let deadline) = phase { deadline } else { nil }
    }

    /// The first connect failed before anything was sent (`mosquitto_connect` refused).
    mutating func connectCallFailed(_ error: TransportError) -> [Action] {
        failStart(error)
    }

    private mutating func failStart(_ error: TransportError) -> [Action] {
        stopRequested = true
        var actions: [Action] = []
        if let waiter = startWaiter {
            startWaiter = nil
            actions.append(.complete(waiter, .failure(error)))
        }
        actions.append(.endLoop)
        return actions
    }

    /// A CONNACK. `refusal` describes a non-zero reason code.
    mutating func connackReceived(reasonCode: Int32, refusal: @autoclosure () -> TransportError) -> [Action] {
        guard reasonCode == 0 else {
            let refusal = refusal()
            lastConnectError = refusal
            if case .starting = phase { return [.log(.connectionRefused(refusal))] + failStart(refusal) }
            return [.log(.connectionRefused(refusal))]
        }
        let isReconnect = connectionCount > 0
        reconnectAttempt = 0
        reconnection = .idle
        phase = .connected
        connectionCount += 1
        lastConnectError = nil
        var actions: [Action] = [.setLibraryLogging(false)]
        if isReconnect {
            let live = subscriptions.values.sorted { $0.id < $1.id }
            if !live.isEmpty { actions.append(.resubscribe(live)) }
            actions.append(.log(.reconnected(connectionCount: connectionCount)))
        } else {
            actions.append(.log(.connected))
        }
        if let waiter = startWaiter {
            startWaiter = nil
            actions.append(.complete(waiter, .success(())))
        }
        for waiter in connectionWaiters.keys.sorted(by: { $0.rawValue < $1.rawValue }) {
            actions.append(.complete(waiter, .success(())))
        }
        connectionWaiters = [:]
        return actions
    }

    /// The SUBSCRIBEs of ``Action/resubscribe(_:)`` went out with these message ids.
    mutating func resubscribed(messageIDs: [Int32]) {
        resubscriptions.formUnion(messageIDs)
    }

    /// libmosquitto's disconnect callback. `connectError` explains a connection that failed
    /// while starting, when no CONNACK said why.
    mutating func disconnected(returnCode: Int32, connectError: @autoclosure () -> TransportError) -> [Action] {
        var actions: [Action] = [.setLibraryLogging(true)]
        if phase == .connected {
            phase = .disconnected
            if !stopRequested { actions.append(.log(.connectionLost(returnCode: returnCode))) }
        }
        // QoS 0 messages not yet written are dropped by libmosquitto with the connection.
        let lost = inFlight.filter { $0.value.qos == .atMostOnce }
        if !lost.isEmpty {
            let error = TransportError(
                .connectionFailed,
                "the connection to MQTT broker \(configuration.broker) was lost before the QoS 0 message was written")
            for (messageID, publish) in lost.sorted(by: { $0.key < $1.key }) {
                inFlight[messageID] = nil
                actions.append(.complete(publish.waiter, .failure(error)))
            }
            actions.append(.log(.publishesDropped(count: lost.count)))
        }
        if case .starting = phase { actions += failStart(lastConnectError ?? connectError()) }
        return actions
    }

    /// The top of a loop turn: whether the loop must disconnect, end, or reconnect.
    /// `connectError` explains a socket closed before the first CONNACK.
    mutating func loopTurn(
        now: ContinuousClock.Instant, socketOpen: Bool, connectError: @autoclosure () -> TransportError
    ) -> [Action] {
        if stopRequested {
            if !socketOpen { return [.endLoop] }
            if case .starting = phase { return [.endLoop] }
            if let sent = disconnectSentAt {
                return now - sent > configuration.disconnectGrace ? [.endLoop] : []
            }
            if (inFlight.isEmpty && queuedPublishes.isEmpty) || now >= drainDeadline ?? now {
                disconnectSentAt = now
                return [.disconnect(grace: configuration.disconnectGrace)]
            }
            return []
        }
        if case .starting(let deadline) = phase {
            // Lost before the first CONNACK (a refused TLS handshake, a reset): that is a
            // failed connect, reported to the caller, not a reason to retry.
            if now >= deadline { return failStart(timedOut("waiting for the CONNACK")) }
            if !socketOpen { return failStart(connectError()) }
            return []
        }
        guard !socketOpen else { return [] }
        switch reconnection {
        case .scheduled:
            return []
        case .idle, .attempted:
            if phase == .connected { phase = .disconnected }
            reconnectAttempt += 1
            let delay = configuration.reconnect.delay(beforeRetry: reconnectAttempt)
            let at = now + delay
            reconnection = .scheduled(at: at)
            return [
                .log(.reconnectScheduled(attempt: reconnectAttempt, delay: delay)),
                .scheduleReconnect(at: at, delay: delay, attempt: reconnectAttempt)
            ]
        }
    }

    /// The reconnect timer fired.
    mutating func reconnectTimerFired() -> [Action] {
        guard case .scheduled = reconnection, !stopRequested, phase != .stopped else { return [] }
        reconnection = .attempted
        return [.reconnect]
    }

    /// `mosquitto_reconnect` returned; `error` when it failed.
    mutating func reconnectAttempted(error: TransportError?) -> [Action] {
        guard let error else { return [] }
        lastConnectError = error
        return [.log(.reconnectFailed(error))]
    }

    /// How a connection wait starts.
    enum ConnectionWait { case ready, closed, wait }

    /// A subscribe waits (until `deadline`) for the connection.
    mutating func connectionWaitRequested(waiter: ContinuationID, deadline: ContinuousClock.Instant) -> ConnectionWait {
        switch phase {
        case .connected: return .ready
        case .stopped: return .closed
        case .idle, .starting, .disconnected:
            if stopRequested { return .closed }
            connectionWaiters[waiter] = deadline
            return .wait
        }
    }

    // MARK: Publishing (the hot path: no arrays of actions)

    /// What a publish request leads to.
    enum PublishRequestAction {
        /// Queued: wake the loop.
        case queued
        /// Fail it with this error.
        case fail(TransportError)
    }

    /// A caller publishes `message` (already checked): queued for the loop thread.
    mutating func publishRequested(
        waiter: ContinuationID, message: MQTTMessage, deadline: ContinuousClock.Instant
    ) -> PublishRequestAction {
        if phase == .stopped || stopRequested { return .fail(closedError()) }
        queuedPublishes.append(QueuedPublish(waiter: waiter, message: message, deadline: deadline))
        return .queued
    }

    /// Loop thread: the queued publishes to write now (none unless connected).
    mutating func takeQueuedPublishes() -> [QueuedPublish] {
        guard phase == .connected, !queuedPublishes.isEmpty else { return [] }
        defer { queuedPublishes.removeAll(keepingCapacity: true) }
        return queuedPublishes
    }

    /// Loop thread: these publishes were written (by message id); `unsent` found no
    /// connection and go back to the front of the queue, in order.
    mutating func publishesWritten(_ written: [(Int32, InFlightPublish)], unsent: ArraySlice<QueuedPublish>) {
        for (messageID, publish) in written { inFlight[messageID] = publish }
        if !unsent.isEmpty { queuedPublishes.insert(contentsOf: unsent, at: 0) }
    }

    /// The acknowledgement for message id `messageID`: its publish, unless it timed out.
    /// (The loop thread registered the id before it could write the message.)
    mutating func publishAcknowledged(messageID: Int32) -> InFlightPublish? {
        inFlight.removeValue(forKey: messageID)
    }

    /// Whether publishes are queued or waiting for their acknowledgement.
    var hasPublishesInFlight: Bool { !inFlight.isEmpty || !queuedPublishes.isEmpty }

    // MARK: Subscribing

    /// A new subscription, live from now on (resubscribed after a reconnect).
    mutating func addSubscription(filter: String, qos: MQTTQoS) -> Int32 {
        let id = nextSubscriptionID
        nextSubscriptionID += 1
        subscriptions[id] = Subscription(id: id, filter: filter, qos: qos)
        return id
    }

    /// What ending a subscription left behind.
    struct RemovedSubscription {
        var subscription: Subscription
        /// Whether another live subscription has the filter (the broker's must then stay).
        var filterStillUsed: Bool
        /// Deliveries held back for it, now dropped.
        var droppedDeliveries: Int
    }

    /// Ends a subscription (its consumer stopped, or its subscribe failed).
    mutating func removeSubscription(_ id: Int32) -> RemovedSubscription? {
        guard let removed = subscriptions.removeValue(forKey: id) else { return nil }
        let dropped = overflow.removeValue(forKey: id)?.count ?? 0
        return RemovedSubscription(
            subscription: removed, filterStillUsed: subscriptions.values.contains { $0.filter == removed.filter },
            droppedDeliveries: dropped)
    }

    /// The live subscriptions, by id.
    var liveSubscriptions: [Int32: Subscription] { subscriptions }

    /// A caller waits (until `deadline`) for the SUBACK of `subscription`, which the loop
    /// thread sends next. Returns the subscription to send, or an action that fails the wait.
    mutating func subscribeRequested(
        waiter: ContinuationID, subscription: Int32, deadline: ContinuousClock.Instant
    ) -> Result<Subscription, TransportError> {
        if phase == .stopped || stopRequested { return .failure(closedError()) }
        guard let live = subscriptions[subscription] else { return .failure(closedError()) }
        pendingSubscribes[waiter] = PendingSubscribe(subscription: subscription, deadline: deadline)
        return .success(live)
    }

    /// Loop thread: whether the subscribe `waiter` still waits (it may have timed out).
    func isSubscribePending(_ waiter: ContinuationID) -> Bool { pendingSubscribes[waiter] != nil }

    /// Loop thread: the SUBSCRIBE went out with `messageID`.
    mutating func subscribeSent(waiter: ContinuationID, messageID: Int32) {
        guard pendingSubscribes[waiter] != nil else { return }
        pendingSubscribes[waiter]?.messageID = messageID
        subscribeByMessageID[messageID] = waiter
    }

    /// Loop thread: libmosquitto refused to send the SUBSCRIBE.
    mutating func subscribeFailed(waiter: ContinuationID, error: TransportError) -> [Action] {
        guard pendingSubscribes.removeValue(forKey: waiter) != nil else { return [] }
        return [.completeSubscribe(waiter, .failure(error))]
    }

    /// A SUBACK with the first granted QoS or reason code.
    mutating func subackReceived(messageID: Int32, granted: Int32) -> [Action] {
        if let waiter = subscribeByMessageID.removeValue(forKey: messageID) {
            pendingSubscribes[waiter] = nil
            return [.completeSubscribe(waiter, .success(granted))]
        }
        resubscriptions.remove(messageID)
        return []
    }

    // MARK: Deadlines

    /// Fails the publishes, subscribes and connection waits whose deadline passed.
    mutating func deadlineReached(now: ContinuousClock.Instant) -> [Action] {
        var actions: [Action] = []
        let expiredInFlight = inFlight.filter { $0.value.deadline <= now }.sorted { $0.key < $1.key }
        for (messageID, publish) in expiredInFlight {
            inFlight[messageID] = nil
            actions.append(.complete(publish.waiter, .failure(timedOut("waiting for the acknowledgement of a publish"))))
        }
        if queuedPublishes.contains(where: { $0.deadline <= now }) {
            for publish in queuedPublishes where publish.deadline <= now {
                actions.append(.complete(publish.waiter, .failure(timedOut("waiting for the connection to publish"))))
            }
            queuedPublishes.removeAll { $0.deadline <= now }
        }
        let expiredSubscribes = pendingSubscribes.filter { $0.value.deadline <= now }.sorted { $0.key.rawValue < $1.key.rawValue }
        for (waiter, pending) in expiredSubscribes {
            pendingSubscribes[waiter] = nil
            if let messageID = pending.messageID { subscribeByMessageID[messageID] = nil }
            actions.append(.completeSubscribe(waiter, .failure(timedOut("waiting for a SUBACK"))))
        }
        let expiredWaiters = connectionWaiters.filter { $0.value <= now }.keys.sorted { $0.rawValue < $1.rawValue }
        for waiter in expiredWaiters {
            connectionWaiters[waiter] = nil
            actions.append(.complete(waiter, .failure(lastConnectError ?? timedOut("waiting for the connection"))))
        }
        return actions
    }

    // MARK: Back-pressure

    /// Receive path: whether deliveries for `subscription` are held back (they must join the
    /// overflow, in order, rather than overtake it).
    func isOverflowing(_ subscription: Int32) -> Bool { overflow[subscription] != nil }

    /// A delivery for a subscription that already overflows waits behind the others.
    mutating func appendOverflow(_ subscription: Int32, _ delivery: Delivery) {
        overflow[subscription, default: []].append(delivery)
    }

    /// A consumer's buffer is full: hold `delivery` and pause reading from the socket.
    mutating func deliveryBufferFull(_ subscription: Int32, _ delivery: Delivery, now: ContinuousClock.Instant) -> [Action] {
        overflow[subscription, default: []].append(delivery)
        guard !isPaused else { return [] }
        isPaused = true
        lastPausePing = now
        return [.pauseReading]
    }

    /// The deliveries held back, to hand to consumers that made room. Give back what is
    /// left with ``overflowHandedOver(remaining:)``.
    mutating func takeOverflow() -> [Int32: [Delivery]] {
        guard isPaused else { return [:] }
        defer { overflow = [:] }
        return overflow
    }

    /// What ``takeOverflow()`` could not hand over (for live subscriptions). Reading resumes
    /// once everything was handed over.
    mutating func overflowHandedOver(remaining: [Int32: [Delivery]]) -> [Action] {
        for (id, deliveries) in remaining where !deliveries.isEmpty && subscriptions[id] != nil {
            overflow[id, default: []].insert(contentsOf: deliveries, at: 0)
        }
        guard isPaused, overflow.isEmpty else { return [] }
        isPaused = false
        lastPausePing = nil
        return [.resumeReading]
    }

    /// While paused, libmosquitto cannot see the broker's PINGRESP; the loop sends a packet
    /// every half keepalive instead. Whether one is due now.
    mutating func pausedKeepAliveDue(now: ContinuousClock.Instant) -> Bool {
        guard isPaused else { return false }
        guard let last = lastPausePing, now - last < configuration.keepAlive / 2 else {
            lastPausePing = now
            return true
        }
        return false
    }

    // MARK: Stopping

    /// How a shutdown request goes on.
    enum ShutdownRequest { case alreadyStopped, requested }

    /// ``MQTTClient/shutdown(drainTimeout:)`` (or a dropped client, with no drain): drain the
    /// publishes until `drainDeadline`, then disconnect. A second request keeps the first's
    /// deadline.
    mutating func shutdownRequested(drainDeadline: ContinuousClock.Instant) -> ShutdownRequest {
        guard phase != .stopped else { return .alreadyStopped }
        if !stopRequested {
            stopRequested = true
            self.drainDeadline = drainDeadline
        }
        return .requested
    }

    /// The drain deadline of a requested shutdown, for a timer.
    var shutdownDrainDeadline: ContinuousClock.Instant? { stopRequested ? drainDeadline : nil }

    /// Everything still waiting when the loop ended, to fail with ``closedError()``.
    struct Leftovers {
        var waiters: [ContinuationID] = []
        var subscribeWaiters: [ContinuationID] = []
        var subscriptions: [Int32] = []
    }

    /// The loop has ended: every waiter fails, every subscription ends.
    mutating func loopEnded() -> Leftovers {
        phase = .stopped
        stopRequested = true
        var leftovers = Leftovers()
        if let startWaiter { leftovers.waiters.append(startWaiter) }
        leftovers.waiters += inFlight.sorted { $0.key < $1.key }.map(\.value.waiter)
        leftovers.waiters += queuedPublishes.map(\.waiter)
        leftovers.waiters += connectionWaiters.keys.sorted { $0.rawValue < $1.rawValue }
        leftovers.subscribeWaiters = pendingSubscribes.keys.sorted { $0.rawValue < $1.rawValue }
        leftovers.subscriptions = subscriptions.keys.sorted()
        startWaiter = nil
        inFlight = [:]
        queuedPublishes = []
        connectionWaiters = [:]
        pendingSubscribes = [:]
        subscribeByMessageID = [:]
        subscriptions = [:]
        overflow = [:]
        isPaused = false
        return leftovers
    }
}
