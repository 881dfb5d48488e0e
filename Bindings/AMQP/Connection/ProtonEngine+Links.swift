import CQpidProton
import CloudEvents
import CloudEventsLoopDriver
import Logging

// Links a client opens: attached now if the connection is open, else when it (re)opens.
extension ProtonEngine {
    /// Attaches a sender link to `address` and returns its id once the peer attached it.
    func openSender(address: String) async throws(TransportError) -> Int {
        try await request(Int.self) { waiter in
            guard !self.loop.closing, case .client(let configuration) = self.role else {
                self.finish(waiter, Result<Int, TransportError>.failure(self.closedError))
                return
            }
            let id = self.loop.makeLinkID()
            let state = SenderLinkState(
                id: id, address: address, name: "\(configuration.containerID)-sender-\(id)",
                durable: configuration.durableTermini)
            state.openWaiter = waiter
            self.loop.senders[id] = state
            if self.loop.remoteOpen { state.attach(engine: self) }
            self.afterTimeout { self.openTimedOut(waiter, address: address) }
        }
    }

    /// Attaches a receiver link from `address` whose deliveries go to `consumer`.
    func openReceiver(address: String, credit: Int, consumer: AMQPDeliveryConsumer) async throws(TransportError) -> Int {
        guard credit >= 1 else {
            throw TransportError(.invalidEndpoint, "AMQP receiver for '\(address)': credit must be at least 1")
        }
        return try await request(Int.self) { waiter in
            guard !self.loop.closing, case .client(let configuration) = self.role else {
                self.finish(waiter, Result<Int, TransportError>.failure(self.closedError))
                return
            }
            let id = self.loop.makeLinkID()
            let state = ReceiverLinkState(
                id: id, address: address, name: "\(configuration.containerID)-receiver-\(id)", window: credit,
                consumer: consumer, ownsConsumer: true, durable: configuration.durableTermini)
            state.openWaiter = waiter
            self.loop.receivers[id] = state
            if self.loop.remoteOpen { state.attach(engine: self) }
            self.afterTimeout { self.openTimedOut(waiter, address: address) }
        }
    }

    private func openTimedOut(_ waiter: ContinuationID, address: String) {
        let error = TransportError(
            .timedOut, "AMQP link to '\(address)' on \(peer): not attached within \(operationTimeout)")
        if let state = loop.senders.values.first(where: { $0.openWaiter == waiter }) {
            state.openWaiter = nil
            closeSender(state.id)
            finish(waiter, Result<Int, TransportError>.failure(error))
        } else if let state = loop.receivers.values.first(where: { $0.openWaiter == waiter }) {
            state.openWaiter = nil
            state.close(engine: self)
            finish(waiter, Result<Int, TransportError>.failure(error))
        }
    }

    /// Sends `bytes` on sender link `id`; returns on `accepted`.
    func send(_ bytes: [UInt8], link id: Int) async throws(TransportError) {
        let _: Bool = try await request(Bool.self) { waiter in
            guard let state = self.loop.senders[id] else {
                self.finish(
                    waiter,
                    Result<Bool, TransportError>.failure(
                        TransportError(.closed, "the AMQP sender link on \(self.peer) is closed")))
                return
            }
            state.enqueue(bytes, waiter: waiter, engine: self)
        }
    }

    /// Makes sure the send-timeout sweep runs (loop thread): once a second (or at half the
    /// operation timeout, if shorter) while sends wait, instead of a timer per message.
    func scheduleSendSweep() {
        guard !loop.sweepScheduled else { return }
        loop.sweepScheduled = true
        driver.schedule(at: .now + sweepInterval) { self.sweepSends() }
    }

    private var sweepInterval: Duration { min(.seconds(1), operationTimeout / 2) }

    private func sweepSends() {
        loop.sweepScheduled = false
        let now = ContinuousClock.now
        var waiting = false
        for id in loop.senders.keys.sorted() {
            if loop.senders[id]?.expire(now: now, engine: self) == true { waiting = true }
        }
        if waiting { scheduleSendSweep() }
    }

    /// Detaches sender link `id` (loop thread); sends still waiting fail with `.closed`.
    func closeSender(_ id: Int) {
        guard let state = loop.senders.removeValue(forKey: id) else { return }
        state.failAll(TransportError(.closed, "the AMQP sender link to '\(state.address)' was closed"), engine: self)
        if let link = state.link {
            loop.linkIDs[link] = nil
            pn_link_close(link)
            touch(loop.connection)
        }
        state.link = nil
    }

    /// Detaches receiver link `id` (loop thread) and ends its consumer.
    func closeReceiver(_ id: Int) {
        loop.receivers[id]?.close(engine: self)
    }
}
