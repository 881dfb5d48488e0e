import CQpidProton
import CloudEvents
import CloudEventsLoopDriver
import Logging

/// The glue behind ``AMQPConnection`` and ``AMQPListener``: one `pn_proactor_t`, driven by a
/// ``LoopDriver`` thread that alone touches proton's objects (connections, sessions, links,
/// deliveries). Swift callers reach it through the driver's mailbox (`submit`/`suspend`),
/// which wakes `pn_proactor_wait` with `pn_proactor_interrupt`; a command that changes a
/// connection outside an event batch marks it dirty, and the next turn calls
/// `pn_connection_wake` so the proactor writes its output.
///
/// A client engine has one connection at a time (reconnected with backoff, its links
/// attached again); a listener engine has the connections peers open to it.
final class ProtonEngine: LoopDriverAdapter {
    enum Role: Sendable {
        case client(AMQPConnectionConfiguration)
        case listener(ListenerSettings)
    }

    struct ListenerSettings: Sendable {
        var host: String
        var port: Int
        var sasl: AMQPSASL
        var credit: Int
        var containerID: String
        var consumer: AMQPDeliveryConsumer
    }

    /// What other threads read without the loop.
    struct Status {
        var connected = false
        var connectionCount = 0
        var listeningPort: Int?
    }

    let role: Role
    let logger: Logger
    /// `host:port`, in messages.
    let peer: String
    let operationTimeout: Duration
    let driver: LoopDriver
    let waker: ProactorWaker
    let tlsDomain: ProtonTLSDomain?
    /// `pn_proactor_t *`: used by the loop thread only, freed in ``loopDidEnd()``.
    nonisolated(unsafe) let proactor: OpaquePointer
    /// Touched only by the loop thread.
    nonisolated(unsafe) let loop: LoopState
    let status = Locked(Status())

    /// A client engine (not connected yet: ``connect()``).
    init(client configuration: AMQPConnectionConfiguration) throws(TransportError) {
        peer = configuration.peerDescription
        logger = configuration.logger
        operationTimeout = configuration.operationTimeout
        guard configuration.operationTimeout > .zero else {
            throw TransportError(.invalidEndpoint, "AMQP connection to \(peer): operationTimeout must be positive")
        }
        guard (1...65535).contains(configuration.effectivePort) else {
            throw TransportError(.invalidEndpoint, "AMQP connection to \(peer): the port must be 1 to 65535")
        }
        let peer = peer
        tlsDomain = try configuration.tls.map { settings throws(TransportError) in
            try ProtonTLSDomain(settings, server: false, peer: peer)
        }
        guard let proactor = pn_proactor() else {
            throw TransportError(.connectionFailed, "AMQP \(peer): cannot create a proton proactor")
        }
        self.role = .client(configuration)
        self.proactor = proactor
        self.loop = LoopState(proactor: proactor)
        self.waker = ProactorWaker(proactor)
        self.driver = LoopDriver(name: "AMQP \(peer)", waker: waker)
    }

    /// A listener engine with its own TLS domain (server mode).
    init(listener settings: ListenerSettings, tls: TLSSettings?, logger: Logger) throws(TransportError) {
        peer = "\(settings.host):\(settings.port)"
        self.logger = logger
        operationTimeout = .seconds(30)
        guard settings.credit >= 1 else {
            throw TransportError(.invalidEndpoint, "AMQP listener on \(peer): credit must be at least 1")
        }
        if case .plain = settings.sasl {
            // Offering ANONYMOUS instead would let in peers the caller meant to authenticate.
            throw TransportError(
                .invalidEndpoint,
                "AMQP listener on \(peer): SASL PLAIN is not available to a listener (qpid-proton's built-in SASL serves ANONYMOUS only); use .anonymous or .none"
            )
        }
        let peer = peer
        tlsDomain = try tls.map { tls throws(TransportError) in try ProtonTLSDomain(tls, server: true, peer: peer) }
        guard let proactor = pn_proactor() else {
            throw TransportError(.connectionFailed, "AMQP \(peer): cannot create a proton proactor")
        }
        self.role = .listener(settings)
        self.proactor = proactor
        self.loop = LoopState(proactor: proactor)
        self.waker = ProactorWaker(proactor)
        self.driver = LoopDriver(name: "AMQP listener \(peer)", waker: waker)
    }

    /// Starts the loop thread.
    func start() throws(TransportError) {
        do {
            try driver.start(self)
        } catch {
            throw TransportError(.connectionFailed, "AMQP \(peer): cannot start the network thread: \(error)")
        }
    }

    var closedError: TransportError { TransportError(.closed, "the AMQP connection to \(peer) is closed") }

    // MARK: Waiting for the loop

    /// Runs `start` on the loop thread with a continuation id; returns what the loop
    /// resumes that id with (``finish(_:_:)``).
    func request<Value: Sendable>(
        _ type: Value.Type, _ start: @escaping @Sendable (ContinuationID) -> Void
    ) async throws(TransportError) -> Value {
        let result: Result<Value, TransportError>
        do {
            result = try await driver.suspend(Result<Value, TransportError>.self) { id in
                if !driver.submit({ start(id) }) {
                    driver.resume(id, returning: Result<Value, TransportError>.failure(closedError))
                }
            }
        } catch {
            throw closedError
        }
        return try result.get()
    }

    /// Resumes a ``request(_:_:)``.
    func finish<Value: Sendable>(_ id: ContinuationID, _ result: Result<Value, TransportError>) {
        driver.resume(id, returning: result)
    }

    /// Runs `action` on the loop thread after the operation timeout.
    @discardableResult
    func afterTimeout(_ action: @escaping @Sendable () -> Void) -> TimerID {
        driver.schedule(at: .now + operationTimeout, action)
    }

    // MARK: The loop thread

    func runTurn(until deadline: ContinuousClock.Instant?, now: ContinuousClock.Instant) {
        loop.pump.turn(until: deadline, now: now) { event in
            loop.inBatch = true
            handle(event)
            loop.inBatch = false
        }
    }

    /// Asks the proactor to write `connection`'s output (needed only outside an event batch).
    func touch(_ connection: OpaquePointer?) {
        guard let connection, !loop.inBatch else { return }
        loop.pump.markDirty(connection)
    }

    func loopDidEnd() {
        waker.invalidate()
        let closed = closedError
        for state in loop.senders.values { state.failAll(closed, engine: self) }
        // A listener's links share its consumer, which is finished once below.
        let consumers = loop.receivers.values.filter(\.ownsConsumer).map(\.consumer)
        loop.senders = [:]
        loop.receivers = [:]
        loop.linkIDs = [:]
        loop.connection = nil
        loop.session = nil
        loop.listener = nil
        pn_proactor_free(proactor)
        status.withLock { $0.connected = false }
        for consumer in consumers { consumer.finish(nil) }
        if case .listener(let settings) = role { settings.consumer.finish(nil) }
    }

    func handle(_ event: OpaquePointer) {
        switch pn_event_type(event) {
        case PN_CONNECTION_REMOTE_OPEN:
            connectionRemoteOpen(pn_event_connection(event))
        case PN_CONNECTION_REMOTE_CLOSE:
            let connection = pn_event_connection(event)
            if let condition = Proton.describe(pn_connection_remote_condition(connection)) {
                logger.warning(
                    "AMQP peer closed the connection", metadata: ["peer": "\(peer)", "reason": "\(Proton.text(condition))"])
            }
            pn_connection_close(connection)
        case PN_SESSION_REMOTE_OPEN:
            let session = pn_event_session(event)
            if pn_session_state(session) & PN_LOCAL_UNINIT != 0 { pn_session_open(session) }
        case PN_SESSION_REMOTE_CLOSE:
            let session = pn_event_session(event)
            let condition = Proton.describe(pn_session_remote_condition(session))
            pn_session_close(session)
            if case .client = role, session == loop.session { sessionEnded(condition: condition) }
        case PN_LINK_REMOTE_OPEN:
            if let link = pn_event_link(event) { linkRemoteOpen(link) }
        case PN_LINK_REMOTE_CLOSE, PN_LINK_REMOTE_DETACH:
            if let link = pn_event_link(event) { linkRemoteClose(link) }
        case PN_LINK_FLOW:
            if let link = pn_event_link(event), pn_link_is_sender(link), let id = loop.linkIDs[link] {
                loop.senders[id]?.flush(engine: self)
            }
        case PN_DELIVERY:
            if let delivery = pn_event_delivery(event) { deliveryUpdated(delivery) }
        case PN_TRANSPORT_ERROR:
            transportError(event)
        case PN_TRANSPORT_CLOSED:
            if let connection = pn_event_connection(event) { connectionGone(connection, transport: pn_event_transport(event)) }
        case PN_LISTENER_OPEN:
            listenerOpened(event)
        case PN_LISTENER_ACCEPT:
            accept(event)
        case PN_LISTENER_CLOSE:
            listenerClosed(event)
        default:
            break
        }
    }

    func deliveryUpdated(_ delivery: OpaquePointer) {
        let link = pn_delivery_link(delivery)!
        guard let id = loop.linkIDs[link] else {
            // A link this engine no longer tracks: settle what the peer sends on it.
            if pn_link_is_receiver(link) {
                if !pn_delivery_partial(delivery) {
                    pn_delivery_update(delivery, UInt64(PN_RELEASED))
                    pn_delivery_settle(delivery)
                }
            } else if pn_delivery_remote_state(delivery) != 0 {
                pn_delivery_settle(delivery)
            }
            return
        }
        if pn_link_is_sender(link) {
            loop.senders[id]?.outcome(of: delivery, engine: self)
        } else {
            loop.receivers[id]?.received(delivery, engine: self)
        }
    }

    func linkRemoteOpen(_ link: OpaquePointer) {
        guard let id = loop.linkIDs[link] else {
            if case .listener = role { acceptLink(link) }
            return
        }
        if pn_link_is_sender(link) {
            loop.senders[id]?.remoteOpened(engine: self)
        } else {
            loop.receivers[id]?.remoteOpened(engine: self)
        }
    }

    func linkRemoteClose(_ link: OpaquePointer) {
        let condition = Proton.describe(pn_link_remote_condition(link))
        if pn_link_state(link) & PN_LOCAL_CLOSED == 0 { pn_link_close(link) }
        guard let id = loop.linkIDs.removeValue(forKey: link) else { return }
        if let sender = loop.senders[id] {
            sender.detached(condition: condition, engine: self)
        } else if let receiver = loop.receivers[id] {
            receiver.detached(condition: condition, engine: self)
        }
    }

    func transportError(_ event: OpaquePointer) {
        let error = Proton.connectionError(
            transport: pn_event_transport(event), connection: pn_event_connection(event), peer: peer,
            fallback: "transport error")
        if case .client = role, loop.lastError == nil { loop.lastError = error }
    }

    /// The error for a link the peer refused or detached.
    func linkError(address: String, condition: (name: String, description: String)?) -> TransportError {
        guard let condition else {
            return TransportError(.connectionFailed, "AMQP link to '\(address)' on \(peer) was detached by the peer")
        }
        let text = Proton.text(condition)
        switch condition.name {
        case "amqp:not-found":
            return TransportError(.invalidEndpoint, "AMQP address '\(address)' not found on \(peer): \(text)")
        case "amqp:unauthorized-access":
            return TransportError(.notAuthorized, "AMQP link to '\(address)' on \(peer) refused: \(text)")
        default:
            return TransportError(.connectionFailed, "AMQP link to '\(address)' on \(peer) detached: \(text)")
        }
    }
}

/// The loop thread's state (a class, so that handlers can change it while others hold it).
final class LoopState {
    let pump: ProactorPump
    /// Whether the loop is handling an event batch (output is then written when it ends).
    var inBatch = false

    // A client's connection.
    var connection: OpaquePointer?
    var session: OpaquePointer?
    var remoteOpen = false
    /// Counts connections: a delivery remembers the one it came on.
    var generation: UInt64 = 0
    var connectWaiter: ContinuationID?
    var lastError: TransportError?
    var reconnectAttempt = 0
    var closing = false
    var closeWaiters: [ContinuationID] = []
    /// The peer is RabbitMQ 3.x, whose AMQP 1.0 plugin ends the session on a `modified`
    /// disposition (`amqp:invalid-field`): `released` is sent instead.
    var peerRefusesModified = false
    /// The send-timeout sweep is scheduled.
    var sweepScheduled = false

    // Links, by the id their Swift handle holds.
    var nextLinkID = 0
    var senders: [Int: SenderLinkState] = [:]
    var receivers: [Int: ReceiverLinkState] = [:]
    var linkIDs: [OpaquePointer: Int] = [:]

    // A listener's state.
    var listener: OpaquePointer?
    var listenWaiter: ContinuationID?
    var serverConnections: Set<OpaquePointer> = []

    init(proactor: OpaquePointer) {
        pump = ProactorPump(proactor: proactor)
    }

    func makeLinkID() -> Int {
        nextLinkID += 1
        return nextLinkID
    }
}
