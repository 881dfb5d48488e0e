import CQpidProton
import CloudEvents
import CloudEventsLoopDriver
import Logging

// A client's one connection: the first connect, losing it, reconnecting with backoff (links
// attached again), and closing.
extension ProtonEngine {
    var clientConfiguration: AMQPConnectionConfiguration? {
        if case .client(let configuration) = role { return configuration }
        return nil
    }

    /// Connects and returns once the peer's open frame arrived.
    ///
    /// - Throws: ``TransportError``: `.notAuthorized` when SASL failed, `.connectionFailed`
    ///   (refused, TLS, closed by the peer), `.timedOut`.
    func connect() async throws(TransportError) {
        let _: Bool = try await request(Bool.self) { id in
            self.loop.connectWaiter = id
            self.openConnection()
            self.afterTimeout {
                guard self.loop.connectWaiter == id else { return }
                self.loop.connectWaiter = nil
                self.loop.closing = true
                if let connection = self.loop.connection {
                    pn_connection_close(connection)
                    self.touch(connection)
                }
                self.finish(
                    id,
                    Result<Bool, TransportError>.failure(
                        TransportError(
                            .timedOut, "AMQP connection to \(self.peer): no open frame within \(self.operationTimeout)")))
            }
        }
    }

    /// Starts a connection (loop thread): connection, transport (SASL, TLS), session.
    func openConnection() {
        guard let configuration = clientConfiguration, !loop.closing else { return }
        let connection = pn_connection()!
        let transport = pn_transport()!
        pn_connection_set_container(connection, configuration.containerID)
        pn_connection_set_hostname(connection, configuration.virtualHost ?? configuration.host)
        configuration.sasl.applyClient(transport: transport, connection: connection)
        let idle =
            configuration.idleTimeout.components.seconds * 1000 + configuration.idleTimeout.components.attoseconds
            / 1_000_000_000_000_000
        if idle > 0 { pn_transport_set_idle_timeout(transport, pn_millis_t(clamping: idle)) }
        if let tlsDomain, !tlsDomain.apply(to: transport, hostName: configuration.host) {
            logger.error("AMQP TLS could not be set up on the transport", metadata: ["peer": "\(peer)"])
        }
        pn_connection_open(connection)
        let session = pn_session(connection)!
        pn_session_open(session)
        loop.connection = connection
        loop.session = session
        loop.remoteOpen = false
        loop.lastError = nil
        loop.generation += 1
        pn_proactor_connect2(
            proactor, connection, transport, Proton.address(host: configuration.host, port: configuration.effectivePort))
    }

    func connectionRemoteOpen(_ connection: OpaquePointer?) {
        guard let connection else { return }
        guard case .client = role else {
            if pn_connection_state(connection) & PN_LOCAL_UNINIT != 0 { pn_connection_open(connection) }
            return
        }
        guard connection == loop.connection else { return }
        loop.remoteOpen = true
        loop.peerRefusesModified = Proton.isRabbitMQ3(pn_connection_remote_properties(connection))
        let count = status.withLock { status in
            status.connected = true
            status.connectionCount += 1
            return status.connectionCount
        }
        let attempts = loop.reconnectAttempt
        loop.reconnectAttempt = 0
        if let waiter = loop.connectWaiter {
            loop.connectWaiter = nil
            logger.info("AMQP connected", metadata: ["peer": "\(peer)"])
            finish(waiter, Result<Bool, TransportError>.success(true))
        } else {
            logger.notice(
                "AMQP reconnected", metadata: ["peer": "\(peer)", "attempts": "\(attempts)", "connection": "\(count)"])
        }
        for id in loop.senders.keys.sorted() { loop.senders[id]?.attach(engine: self) }
        for id in loop.receivers.keys.sorted() { loop.receivers[id]?.attach(engine: self) }
    }

    /// The transport closed: the proactor frees the connection and everything in it after
    /// this batch, so nothing may keep a pointer into it.
    func connectionGone(_ connection: OpaquePointer, transport: OpaquePointer?) {
        loop.pump.forget(connection)
        if case .listener = role {
            serverConnectionGone(connection)
            return
        }
        guard connection == loop.connection else { return }
        let error =
            loop.lastError
            ?? Proton.connectionError(transport: transport, connection: connection, peer: peer, fallback: "connection closed")
        let wasOpen = loop.remoteOpen
        loop.connection = nil
        loop.session = nil
        loop.remoteOpen = false
        loop.linkIDs = [:]
        status.withLock { $0.connected = false }
        let lost = TransportError(
            .connectionFailed,
            "the AMQP connection to \(peer) was lost before the outcome arrived: the message may or may not have arrived (\(error.message))"
        )
        for state in loop.senders.values { state.connectionLost(lost, engine: self) }
        for state in loop.receivers.values { state.connectionLost() }
        if let waiter = loop.connectWaiter {
            loop.connectWaiter = nil
            loop.closing = true
            finish(waiter, Result<Bool, TransportError>.failure(error))
            return
        }
        if loop.closing {
            closeFinished()
            return
        }
        scheduleReconnect(after: error, wasOpen: wasOpen)
    }

    /// The peer ended the session (RabbitMQ 3.10 ends it, instead of detaching the link, for
    /// an unknown queue): the links being attached fail with its condition; the others are
    /// attached again on a new session.
    func sessionEnded(condition: (name: String, description: String)?) {
        guard let connection = loop.connection else { return }
        logger.warning(
            "AMQP peer ended the session",
            metadata: ["peer": "\(peer)", "reason": "\(condition.map { Proton.text($0) } ?? "none given")"])
        let session = pn_session(connection)!
        pn_session_open(session)
        loop.session = session
        loop.generation += 1
        loop.linkIDs = [:]
        let lost = TransportError(
            .connectionFailed,
            "the AMQP session on \(peer) ended before the outcome arrived: the message may or may not have arrived")
        for id in loop.senders.keys.sorted() {
            guard let state = loop.senders[id] else { continue }
            if let waiter = state.openWaiter {
                state.openWaiter = nil
                loop.senders[id] = nil
                finish(waiter, Result<Int, TransportError>.failure(linkError(address: state.address, condition: condition)))
                continue
            }
            state.connectionLost(lost, engine: self)
            if loop.remoteOpen { state.attach(engine: self) }
        }
        for id in loop.receivers.keys.sorted() {
            guard let state = loop.receivers[id] else { continue }
            if let waiter = state.openWaiter {
                state.openWaiter = nil
                loop.receivers[id] = nil
                finish(waiter, Result<Int, TransportError>.failure(linkError(address: state.address, condition: condition)))
                continue
            }
            state.connectionLost()
            if loop.remoteOpen { state.attach(engine: self) }
        }
        touch(connection)
    }

    func scheduleReconnect(after error: TransportError, wasOpen: Bool) {
        guard let configuration = clientConfiguration else { return }
        loop.reconnectAttempt += 1
        let delay = configuration.reconnect.delay(beforeRetry: loop.reconnectAttempt)
        let level: Logger.Level = wasOpen || loop.reconnectAttempt == 1 ? .warning : .info
        logger.log(
            level: level, "AMQP connection lost; reconnecting",
            metadata: [
                "peer": "\(peer)", "reason": "\(error.message)", "attempt": "\(loop.reconnectAttempt)",
                "delay": "\(delay)"
            ])
        driver.schedule(at: .now + delay) { self.openConnection() }
    }

    /// Closes the connection (links detached, sends still waiting fail with `.closed`) and
    /// returns once the peer answered or after a short wait.
    func close() async {
        let _: Bool? = try? await request(Bool.self) { id in
            self.loop.closeWaiters.append(id)
            guard !self.loop.closing || self.loop.connection != nil else {
                self.closeFinished()
                return
            }
            self.loop.closing = true
            let closed = self.closedError
            for state in self.loop.senders.values { state.failQueued(closed, engine: self) }
            switch self.role {
            case .client:
                guard let connection = self.loop.connection else {
                    self.closeFinished()
                    return
                }
                pn_connection_close(connection)
                self.touch(connection)
            case .listener:
                self.closeListener()
            }
            // A peer that does not answer the close does not hold the caller.
            self.driver.schedule(at: .now + .seconds(2)) { self.closeFinished() }
        }
        await driver.shutdown()
    }

    func closeFinished() {
        let waiters = loop.closeWaiters
        loop.closeWaiters = []
        for waiter in waiters { finish(waiter, Result<Bool, TransportError>.success(true)) }
    }
}
