import CQpidProton
import CloudEvents
import CloudEventsLoopDriver
import Logging

/// One sender link, on the loop thread: the sends waiting for credit, those waiting for
/// their outcome (by `pn_delivery_t`), and the link it is attached as on the current
/// connection (attached again after a reconnect).
final class SenderLinkState {
    struct PendingSend {
        let waiter: ContinuationID
        let bytes: [UInt8]
        /// When the send fails with `.timedOut` if it has no outcome yet (checked by the
        /// engine's once-a-second sweep: no timer per message).
        let deadline: ContinuousClock.Instant
    }

    let id: Int
    let address: String
    let name: String
    var link: OpaquePointer?
    /// The peer attached its end (sends may go out when it grants credit).
    var attached = false
    /// The peer detached the link, or its handle closed it: sends fail at once.
    var ended: TransportError?
    var openWaiter: ContinuationID?
    private var queue: [PendingSend] = []
    private var head = 0
    private var inFlight: [OpaquePointer: PendingSend] = [:]
    private var nextTag: UInt64 = 0

    /// Whether the target terminus is durable (``AMQPConnectionConfiguration/durableTermini``).
    let durable: Bool

    init(id: Int, address: String, name: String, durable: Bool) {
        self.id = id
        self.address = address
        self.name = name
        self.durable = durable
    }

    /// Creates the link on the engine's current session (the connection is open, or opening).
    func attach(engine: ProtonEngine) {
        guard ended == nil, let session = engine.loop.session else { return }
        let link = pn_sender(session, name)!
        pn_terminus_set_address(pn_link_target(link), address)
        if durable { pn_terminus_set_durability(pn_link_target(link), PN_CONFIGURATION) }
        pn_link_set_snd_settle_mode(link, PN_SND_UNSETTLED)
        pn_link_set_rcv_settle_mode(link, PN_RCV_FIRST)
        pn_link_open(link)
        self.link = link
        attached = false
        engine.loop.linkIDs[link] = id
        engine.touch(engine.loop.connection)
    }

    func remoteOpened(engine: ProtonEngine) {
        guard let link else { return }
        // A refusing peer (RabbitMQ: an unknown address) attaches with no target, then detaches.
        guard pn_terminus_get_type(pn_link_remote_target(link)) != PN_UNSPECIFIED else { return }
        attached = true
        if let waiter = openWaiter {
            openWaiter = nil
            engine.finish(waiter, Result<Int, TransportError>.success(id))
        }
        flush(engine: engine)
    }

    func detached(condition: (name: String, description: String)?, engine: ProtonEngine) {
        let error = engine.linkError(address: address, condition: condition)
        link = nil
        attached = false
        if let waiter = openWaiter {
            openWaiter = nil
            engine.loop.senders[id] = nil
            engine.finish(waiter, Result<Int, TransportError>.failure(error))
            return
        }
        engine.logger.error(
            "AMQP sender link detached by the peer",
            metadata: ["peer": "\(engine.peer)", "address": "\(address)", "reason": "\(error.message)"])
        ended = error
        failAll(error, engine: engine)
    }

    /// Queues a send (it goes out when the link has credit) with its timeout.
    func enqueue(_ bytes: [UInt8], waiter: ContinuationID, engine: ProtonEngine) {
        if let ended {
            engine.finish(waiter, Result<Bool, TransportError>.failure(ended))
            return
        }
        queue.append(PendingSend(waiter: waiter, bytes: bytes, deadline: .now + engine.operationTimeout))
        engine.scheduleSendSweep()
        flush(engine: engine)
    }

    /// Sends what the credit allows.
    func flush(engine: ProtonEngine) {
        guard attached, let link else { return }
        var sent = false
        while head < queue.count, pn_link_credit(link) > 0 {
            let pending = queue[head]
            head += 1
            nextTag &+= 1
            let delivery = withUnsafeBytes(of: &nextTag) { tag in
                pn_delivery(link, pn_dtag(tag.baseAddress!.assumingMemoryBound(to: CChar.self), tag.count))!
            }
            pending.bytes.withUnsafeBytes { bytes in
                _ = pn_link_send(link, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
            }
            pn_link_advance(link)
            inFlight[delivery] = pending
            sent = true
        }
        compact()
        if sent { engine.touch(engine.loop.connection) }
    }

    private func compact() {
        if head == queue.count {
            queue.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 64, head * 2 > queue.count {
            queue.removeFirst(head)
            head = 0
        }
    }

    /// The peer's disposition for a delivery: the send's outcome.
    func outcome(of delivery: OpaquePointer, engine: ProtonEngine) {
        let state = pn_delivery_remote_state(delivery)
        let result: Result<Bool, TransportError>
        switch state {
        case UInt64(PN_ACCEPTED):
            result = .success(true)
        case UInt64(PN_REJECTED):
            let condition = Proton.describe(pn_disposition_condition(pn_delivery_remote(delivery)))
            result = .failure(AMQPOutcomeError.rejected(address: address, peer: engine.peer, condition: condition))
        case UInt64(PN_RELEASED):
            result = .failure(AMQPOutcomeError.released(address: address, peer: engine.peer))
        case UInt64(PN_MODIFIED):
            let disposition = pn_delivery_remote(delivery)
            result = .failure(
                AMQPOutcomeError.modified(
                    address: address, peer: engine.peer, deliveryFailed: pn_disposition_is_failed(disposition),
                    undeliverableHere: pn_disposition_is_undeliverable(disposition)))
        default:
            // `received` or nothing yet: not an outcome, unless the peer settled it so.
            guard pn_delivery_settled(delivery) else { return }
            result = .failure(
                TransportError(
                    .protocolError, "AMQP peer \(engine.peer) settled a message to '\(address)' without an outcome"))
        }
        pn_delivery_settle(delivery)
        guard let pending = inFlight.removeValue(forKey: delivery) else { return }
        engine.finish(pending.waiter, result)
    }

    /// Fails the sends whose deadline has passed; returns whether sends are still waiting.
    func expire(now: ContinuousClock.Instant, engine: ProtonEngine) -> Bool {
        let error = TransportError(
            .timedOut, "no outcome for a message to '\(address)' on \(engine.peer) within \(engine.operationTimeout)")
        // The queue is in deadline order (every send has the same timeout).
        var expired: [ContinuationID] = []
        while head < queue.count, queue[head].deadline <= now {
            expired.append(queue[head].waiter)
            head += 1
        }
        compact()
        for (delivery, pending) in inFlight where pending.deadline <= now {
            // The delivery stays on the link: its outcome, if it ever comes, is settled and dropped.
            inFlight[delivery] = nil
            expired.append(pending.waiter)
        }
        for waiter in expired { engine.finish(waiter, Result<Bool, TransportError>.failure(error)) }
        return head < queue.count || !inFlight.isEmpty
    }

    /// The connection went: sends in flight have an unknown outcome; queued ones wait for
    /// the next connection (up to their timeout).
    func connectionLost(_ error: TransportError, engine: ProtonEngine) {
        link = nil
        attached = false
        failInFlight(error, engine: engine)
    }

    private func failInFlight(_ error: TransportError, engine: ProtonEngine) {
        let pending = inFlight.values
        inFlight = [:]
        for send in pending {
            engine.finish(send.waiter, Result<Bool, TransportError>.failure(error))
        }
    }

    func failQueued(_ error: TransportError, engine: ProtonEngine) {
        let pending = queue[head...]
        queue = []
        head = 0
        for send in pending {
            engine.finish(send.waiter, Result<Bool, TransportError>.failure(error))
        }
    }

    func failAll(_ error: TransportError, engine: ProtonEngine) {
        failQueued(error, engine: engine)
        failInFlight(error, engine: engine)
        if let waiter = openWaiter {
            openWaiter = nil
            engine.finish(waiter, Result<Int, TransportError>.failure(error))
        }
    }
}
