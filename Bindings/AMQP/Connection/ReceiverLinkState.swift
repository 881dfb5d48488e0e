import CQpidProton
import CloudEvents
import CloudEventsLoopDriver
import Logging

/// One receiver link, on the loop thread: the deliveries handed to its consumer and not yet
/// settled (by key, for the connection they came on), the ones held while the consumer is
/// full, and the credit that bounds them.
///
/// Credit is the back-pressure: the peer may have at most `window` deliveries unsettled or
/// on their way. Credit is given back as deliveries are settled (in steps of a quarter of
/// the window, so that a busy link sends few flow frames), and none while the consumer is
/// full.
final class ReceiverLinkState {
    let id: Int
    let address: String
    let name: String
    let window: Int
    let consumer: AMQPDeliveryConsumer
    /// Whether the consumer is this link's alone (a client's receiver), or shared by every
    /// link of a listener (then a peer detaching one link does not end it).
    let ownsConsumer: Bool
    var link: OpaquePointer?
    var connection: OpaquePointer?
    var attached = false
    var openWaiter: ContinuationID?
    /// The connection the link is attached on: a delivery from an earlier one can no longer
    /// be settled.
    var generation: UInt64 = 0
    private var unsettled: [UInt64: OpaquePointer] = [:]
    private var nextKey: UInt64 = 0
    private var held: [AMQPIncomingDelivery] = []
    private var heldHead = 0
    private var paused = false
    private var onRoom: (@Sendable () -> Void)?

    /// Whether the source terminus is durable (``AMQPConnectionConfiguration/durableTermini``);
    /// a listener's links take the peer's termini instead.
    let durable: Bool

    init(
        id: Int, address: String, name: String, window: Int, consumer: AMQPDeliveryConsumer, ownsConsumer: Bool,
        durable: Bool = false
    ) {
        self.durable = durable
        self.id = id
        self.address = address
        self.name = name
        self.window = window
        self.consumer = consumer
        self.ownsConsumer = ownsConsumer
    }

    /// Creates the link on a client's current session.
    func attach(engine: ProtonEngine) {
        guard let session = engine.loop.session else { return }
        let link = pn_receiver(session, name)!
        pn_terminus_set_address(pn_link_source(link), address)
        pn_terminus_set_address(pn_link_target(link), address)
        if durable { pn_terminus_set_durability(pn_link_source(link), PN_CONFIGURATION) }
        pn_link_set_snd_settle_mode(link, PN_SND_UNSETTLED)
        pn_link_set_rcv_settle_mode(link, PN_RCV_FIRST)
        pn_link_open(link)
        adopt(link, connection: engine.loop.connection, generation: engine.loop.generation, engine: engine)
        engine.touch(engine.loop.connection)
    }

    /// Takes `link` as this state's link.
    func adopt(_ link: OpaquePointer, connection: OpaquePointer?, generation: UInt64, engine: ProtonEngine) {
        self.link = link
        self.connection = connection
        self.generation = generation
        attached = false
        engine.loop.linkIDs[link] = id
    }

    func remoteOpened(engine: ProtonEngine) {
        guard let link else { return }
        // A refusing peer (RabbitMQ: an unknown queue) attaches with no source, then detaches.
        guard pn_terminus_get_type(pn_link_remote_source(link)) != PN_UNSPECIFIED else { return }
        attached = true
        if let waiter = openWaiter {
            openWaiter = nil
            engine.finish(waiter, Result<Int, TransportError>.success(id))
        }
        topUp(engine: engine)
    }

    /// Gives the peer credit up to the window (loop thread).
    func topUp(engine: ProtonEngine) {
        guard attached, !paused, let link else { return }
        let credit = Int(pn_link_credit(link))
        let want = window - unsettled.count - credit
        guard want > 0, credit == 0 || want >= Swift.max(1, window / 4) else { return }
        pn_link_flow(link, Int32(clamping: want))
        engine.touch(connection)
    }

    /// A delivery arrived (or more of it).
    func received(_ delivery: OpaquePointer, engine: ProtonEngine) {
        guard let link, pn_delivery_link(delivery) == link else { return }
        if pn_delivery_aborted(delivery) {
            pn_delivery_settle(delivery)
            topUp(engine: engine)
            return
        }
        guard pn_delivery_readable(delivery), !pn_delivery_partial(delivery) else { return }
        let size = pn_delivery_pending(delivery)
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            let read =
                size == 0
                ? 0 : pn_link_recv(link, UnsafeMutableRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self), size)
            count = Swift.max(0, read)
        }
        pn_link_advance(link)
        nextKey += 1
        let incoming: AMQPIncomingDelivery
        if pn_delivery_settled(delivery) {
            // Sent pre-settled: there is nothing to answer.
            pn_delivery_settle(delivery)
            incoming = AMQPIncomingDelivery(bytes: bytes, address: address) { _, completion in completion(.local) }
        } else {
            unsettled[nextKey] = delivery
            incoming = AMQPIncomingDelivery(
                bytes: bytes, address: address,
                settler: Self.settler(engine: engine, link: id, generation: generation, key: nextKey))
        }
        offer(incoming, engine: engine)
        topUp(engine: engine)
    }

    private static func settler(
        engine: ProtonEngine, link: Int, generation: UInt64, key: UInt64
    ) -> @Sendable (AMQPDisposition, @escaping @Sendable (AMQPDispositionOutcome) -> Void) -> Void {
        // Weak: a consumer that keeps an unsettled delivery after the connection ended must
        // not keep the engine (and, through its consumer, itself) alive: a cycle the address
        // sanitizer found when a listener closed with a delivery still held.
        let peer = engine.peer
        return { [weak engine] disposition, completion in
            guard let engine else {
                completion(.failed(Self.lostError(peer: peer)))
                return
            }
            let submitted = engine.driver.submit {
                guard let state = engine.loop.receivers[link], state.generation == generation else {
                    completion(.failed(Self.lostError(engine: engine)))
                    return
                }
                state.settle(key: key, disposition, engine: engine, completion: completion)
            }
            if !submitted { completion(.failed(Self.lostError(engine: engine))) }
        }
    }

    static func lostError(engine: ProtonEngine) -> TransportError { lostError(peer: engine.peer) }

    static func lostError(peer: String) -> TransportError {
        TransportError(
            .connectionFailed,
            "the AMQP link on \(peer) was gone before the settlement was sent: the peer delivers the message again (a broker) or has lost it"
        )
    }

    private func settle(
        key: UInt64, _ disposition: AMQPDisposition, engine: ProtonEngine,
        completion: @Sendable (AMQPDispositionOutcome) -> Void
    ) {
        guard let delivery = unsettled.removeValue(forKey: key) else {
            completion(.failed(Self.lostError(engine: engine)))
            return
        }
        switch disposition {
        case .accepted:
            pn_delivery_update(delivery, UInt64(PN_ACCEPTED))
        case .rejected(let condition, let description):
            Proton.set(
                pn_disposition_condition(pn_delivery_local(delivery)), name: condition, description: description)
            pn_delivery_update(delivery, UInt64(PN_REJECTED))
        case .released:
            pn_delivery_update(delivery, UInt64(PN_RELEASED))
        case .modified where engine.loop.peerRefusesModified:
            pn_delivery_update(delivery, UInt64(PN_RELEASED))
        case .modified(let deliveryFailed, let undeliverableHere):
            let local = pn_delivery_local(delivery)
            pn_disposition_set_failed(local, deliveryFailed)
            pn_disposition_set_undeliverable(local, undeliverableHere)
            pn_delivery_update(delivery, UInt64(PN_MODIFIED))
        }
        pn_delivery_settle(delivery)
        engine.touch(connection)
        topUp(engine: engine)
        completion(.reachedPeer)
    }

    private func offer(_ delivery: AMQPIncomingDelivery, engine: ProtonEngine) {
        if paused || heldHead < held.count {
            held.append(delivery)
            return
        }
        switch consumer.deliver(delivery, roomCallback(engine: engine)) {
        case .taken:
            break
        case .full:
            held.append(delivery)
            paused = true
        case .terminated:
            consumerGone(engine: engine)
        }
    }

    private func roomCallback(engine: ProtonEngine) -> @Sendable () -> Void {
        if let onRoom { return onRoom }
        // Weak, as the settle handles: this link state keeps the callback, and the engine
        // keeps this link state.
        let callback: @Sendable () -> Void = { [id, weak engine] in
            guard let engine else { return }
            engine.driver.submit { engine.loop.receivers[id]?.resume(engine: engine) }
        }
        onRoom = callback
        return callback
    }

    /// The consumer has room again: the held deliveries first, in order, then credit.
    private func resume(engine: ProtonEngine) {
        paused = false
        while heldHead < held.count {
            let delivery = held[heldHead]
            switch consumer.deliver(delivery, roomCallback(engine: engine)) {
            case .taken:
                heldHead += 1
            case .full:
                paused = true
                return
            case .terminated:
                consumerGone(engine: engine)
                return
            }
        }
        held.removeAll(keepingCapacity: true)
        heldHead = 0
        topUp(engine: engine)
    }

    /// The consumer stopped: the link is detached (the peer takes back what was not settled).
    private func consumerGone(engine: ProtonEngine) {
        if let link {
            engine.loop.linkIDs[link] = nil
            pn_link_close(link)
            engine.touch(connection)
        }
        link = nil
        attached = false
        engine.loop.receivers[id] = nil
    }

    /// The peer detached the link.
    func detached(condition: (name: String, description: String)?, engine: ProtonEngine) {
        link = nil
        attached = false
        engine.loop.receivers[id] = nil
        if let waiter = openWaiter {
            openWaiter = nil
            engine.finish(waiter, Result<Int, TransportError>.failure(engine.linkError(address: address, condition: condition)))
            return
        }
        guard ownsConsumer else { return }
        let error = engine.linkError(address: address, condition: condition)
        engine.logger.error(
            "AMQP receiver link detached by the peer",
            metadata: ["peer": "\(engine.peer)", "address": "\(address)", "reason": "\(error.message)"])
        consumer.finish(error)
    }

    /// The connection went: nothing received on it can be settled any more.
    func connectionLost() {
        link = nil
        connection = nil
        attached = false
        unsettled = [:]
        held = []
        heldHead = 0
        paused = false
    }

    /// Detaches the link because its handle closed it.
    func close(engine: ProtonEngine) {
        consumerGone(engine: engine)
        if ownsConsumer { consumer.finish(nil) }
    }
}
