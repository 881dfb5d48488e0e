import CQpidProton
import CloudEvents
import CloudEventsLoopDriver
import Logging

// Peer mode: accepting connections, answering their opens, taking every sender link a peer
// attaches (to any address) as a receiver of ours with credit.
extension ProtonEngine {
    var listenerSettings: ListenerSettings? {
        if case .listener(let settings) = role { return settings }
        return nil
    }

    /// Starts listening and returns the bound port once the socket listens.
    func listen() async throws(TransportError) -> Int {
        try await request(Int.self) { waiter in
            guard let settings = self.listenerSettings else { return }
            let listener = pn_listener()!
            self.loop.listener = listener
            self.loop.listenWaiter = waiter
            pn_proactor_listen(self.proactor, listener, Proton.address(host: settings.host, port: settings.port), 64)
        }
    }

    func listenerOpened(_ event: OpaquePointer) {
        guard let listener = pn_event_listener(event), let waiter = loop.listenWaiter else { return }
        loop.listenWaiter = nil
        var port = listenerSettings?.port ?? 0
        if let address = pn_listener_addr(listener) {
            var host = [CChar](repeating: 0, count: 256)
            var service = [CChar](repeating: 0, count: 32)
            if pn_netaddr_host_port(address, &host, host.count, &service, service.count) == 0 {
                port = Int(String(decoding: service.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)) ?? port
            }
        }
        status.withLock { $0.listeningPort = port }
        logger.info("AMQP listener listening", metadata: ["address": "\(listenerSettings?.host ?? ""):\(port)"])
        finish(waiter, Result<Int, TransportError>.success(port))
    }

    func listenerClosed(_ event: OpaquePointer) {
        let listener = pn_event_listener(event)
        let condition = Proton.describe(listener.flatMap { pn_listener_condition($0) })
        if let waiter = loop.listenWaiter {
            loop.listenWaiter = nil
            let reason = condition.map { Proton.text($0) } ?? "closed"
            finish(
                waiter,
                Result<Int, TransportError>.failure(TransportError(.connectionFailed, "AMQP listener on \(peer): \(reason)")))
        } else if let condition, !loop.closing {
            logger.error("AMQP listener closed", metadata: ["address": "\(peer)", "reason": "\(Proton.text(condition))"])
        }
        if loop.listener == listener { loop.listener = nil }
        if loop.closing, loop.serverConnections.isEmpty { closeFinished() }
    }

    func accept(_ event: OpaquePointer) {
        guard let listener = pn_event_listener(event), let settings = listenerSettings else { return }
        let connection = pn_connection()!
        let transport = pn_transport()!
        pn_transport_set_server(transport)
        pn_connection_set_container(connection, settings.containerID)
        if let tlsDomain, !tlsDomain.apply(to: transport, hostName: nil) {
            logger.error("AMQP TLS could not be set up on an accepted transport", metadata: ["address": "\(peer)"])
        }
        settings.sasl.applyServer(transport: transport)
        loop.serverConnections.insert(connection)
        pn_listener_accept2(listener, connection, transport)
    }

    /// A peer attached a link: its sender links become receivers of ours, with credit; we
    /// send nothing, so a link the peer wants to receive from is refused.
    func acceptLink(_ link: OpaquePointer) {
        guard let settings = listenerSettings else { return }
        guard pn_link_is_receiver(link) else {
            // Attached with no source (a null terminus), then detached with the reason.
            pn_terminus_set_type(pn_link_source(link), PN_UNSPECIFIED)
            Proton.set(
                pn_link_condition(link), name: "amqp:not-implemented",
                description: "this CloudEvents listener only receives messages")
            pn_link_open(link)
            pn_link_close(link)
            return
        }
        pn_terminus_copy(pn_link_source(link), pn_link_remote_source(link))
        pn_terminus_copy(pn_link_target(link), pn_link_remote_target(link))
        pn_link_set_rcv_settle_mode(link, PN_RCV_FIRST)
        pn_link_open(link)
        let id = loop.makeLinkID()
        let address = Proton.address(pn_link_remote_target(link)) ?? ""
        let connection = pn_session_connection(pn_link_session(link))
        let state = ReceiverLinkState(
            id: id, address: address, name: String(cString: pn_link_name(link)), window: settings.credit,
            consumer: settings.consumer, ownsConsumer: false)
        loop.receivers[id] = state
        state.adopt(link, connection: connection, generation: 0, engine: self)
        state.attached = true
        state.topUp(engine: self)
    }

    func serverConnectionGone(_ connection: OpaquePointer) {
        loop.serverConnections.remove(connection)
        for (id, state) in loop.receivers where state.connection == connection {
            if let link = state.link { loop.linkIDs[link] = nil }
            state.connectionLost()
            loop.receivers[id] = nil
        }
        if loop.closing, loop.serverConnections.isEmpty, loop.listener == nil { closeFinished() }
    }

    /// Stops listening and closes every accepted connection (loop thread).
    func closeListener() {
        if let listener = loop.listener { pn_listener_close(listener) }
        for connection in loop.serverConnections {
            pn_connection_close(connection)
            touch(connection)
        }
        if loop.serverConnections.isEmpty, loop.listener == nil { closeFinished() }
    }
}
