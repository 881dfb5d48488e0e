import CMosquitto
import CloudEvents
import CloudEventsLoopDriver
import Logging

#if canImport(Glibc)
    import Glibc
#endif

// The loop thread: one turn of libmosquitto's network loop (the LoopDriverAdapter half),
// the receive path, back-pressure, and libmosquitto's callbacks.
extension MosquittoEngine {
    /// The first connection (the loop's first command).
    func connect() {
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
            feed { $0.machine.connectCallFailed(error) }
        }
    }

    /// Loop thread only (it reads the loop's state without a lock).
    func connectError(_ rc: Int32) -> TransportError {
        let detail = loop.lastLogError.map { " (\($0))" } ?? ""
        let reason = rc == Mosquitto.code(MOSQ_ERR_ERRNO) ? String(cString: strerror(errno)) : Mosquitto.describe(rc)
        return TransportError(
            .connectionFailed,
            "cannot connect to MQTT broker \(configuration.host):\(configuration.effectivePort): \(reason)\(detail)")
    }

    func runTurn(until deadline: ContinuousClock.Instant?, now: ContinuousClock.Instant) {
        var socket = mosquitto_socket(handle)
        let lastResult = loop.lastResult
        feed { shared in
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
    static func pollTimeout(until deadline: ContinuousClock.Instant?, now: ContinuousClock.Instant, cap: Int32) -> Int32 {
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
    func readAvailable(_ socket: Int32) {
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
    func keepAliveWhilePaused() {
        let now = ContinuousClock.now
        guard shared.withLock({ $0.machine.pausedKeepAliveDue(now: now) }) else { return }
        _ = mosquitto_unsubscribe_v5(handle, nil, "$ce/keepalive-while-paused", nil)
    }

    /// Sends `delivery` to a subscription's consumer without waiting; when the buffer is
    /// full, the consumer wakes the loop once it has taken half of it (weakly: a paused
    /// stream must not keep the engine alive).
    func trySend(_ delivery: Delivery, to consumer: Consumer) -> DeliveryStream.TrySendResult {
        if loop.wakeOnRoom == nil { loop.wakeOnRoom = { [weak self] in self?.driver.wake() } }
        return consumer.continuation.trySend(delivery, onRoom: loop.wakeOnRoom!)
    }

    /// Hands held-back deliveries to consumers that made room; resumes reading once all of
    /// them are handed over.
    func moveOverflow() {
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
        feed { $0.machine.overflowHandedOver(remaining: remaining) }
    }

    // MARK: Callbacks (on the loop thread, from MosquittoCallbacks.swift)

    func didConnect(reason: Int32) {
        feed { shared in
            shared.machine.connackReceived(reasonCode: reason, refusal: self.connectRefusal(reason))
        }
    }

    func connectRefusal(_ reason: Int32) -> TransportError {
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
        feed { shared in
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
        feed { $0.machine.subackReceived(messageID: mid, granted: granted) }
    }

    func didReceive(_ message: MQTTMessage, subscriptionIdentifiers: [Int32]) {
        let targets = shared.withLock { shared -> [(Int32, Consumer, overflowing: Bool)]? in
            // Behind unclaimed messages waiting for their replay: queued, to keep the order.
            if shared.replayPending || (shared.consumers.isEmpty && !shared.unclaimed.isEmpty) {
                Self.holdUnclaimed(message, subscriptionIdentifiers, in: &shared)
                return nil
            }
            let targets = Self.targets(of: message, subscriptionIdentifiers: subscriptionIdentifiers, in: shared)
            if targets.isEmpty {
                Self.holdUnclaimed(message, subscriptionIdentifiers, in: &shared)
                return nil
            }
            return targets
        }
        guard let targets else { return }
        deliver(message, to: targets)
    }

    /// The consumers `message` goes to: those its MQTT 5 Subscription Identifiers name (when
    /// their filter matches the topic: an identifier from a previous session's subscription
    /// may name another filter now), else every consumer whose filter matches.
    static func targets(
        of message: MQTTMessage, subscriptionIdentifiers: [Int32], in shared: Shared
    ) -> [(Int32, Consumer, overflowing: Bool)] {
        if !subscriptionIdentifiers.isEmpty {
            let named = subscriptionIdentifiers.compactMap { id in
                shared.consumers[id].flatMap {
                    filter($0.filter, matches: message.topic) ? (id, $0, shared.machine.isOverflowing(id)) : nil
                }
            }
            if !named.isEmpty { return named }
        }
        return shared.consumers.filter { filter($0.value.filter, matches: message.topic) }.sorted { $0.key < $1.key }
            .map { ($0.key, $0.value, shared.machine.isOverflowing($0.key)) }
    }

    /// Keeps a message no subscription takes yet, within ``unclaimedLimit``.
    static func holdUnclaimed(_ message: MQTTMessage, _ subscriptionIdentifiers: [Int32], in shared: inout Shared) {
        guard shared.unclaimed.count < unclaimedLimit.messages,
            shared.unclaimedBytes + message.payload.count <= unclaimedLimit.bytes
        else {
            // Logged by the replay, which counts what it could not hand over.
            shared.unclaimedOverLimit += 1
            return
        }
        shared.unclaimed.append((message, subscriptionIdentifiers))
        shared.unclaimedBytes += message.payload.count
    }

    /// Loop thread, after a subscription was added: hands the unclaimed messages to the
    /// consumers they match now, in order; drops (and logs) those none matches, and those
    /// held past the limit.
    func replayUnclaimed() {
        let (held, overLimit) = shared.withLock { shared in
            defer {
                shared.unclaimed = []
                shared.unclaimedBytes = 0
                shared.unclaimedOverLimit = 0
                shared.replayPending = false
            }
            return (shared.unclaimed, shared.unclaimedOverLimit)
        }
        var unmatched: [String: Int] = [:]
        for (message, identifiers) in held {
            let targets = shared.withLock { Self.targets(of: message, subscriptionIdentifiers: identifiers, in: $0) }
            if targets.isEmpty {
                unmatched[message.topic, default: 0] += 1
            } else {
                deliver(message, to: targets)
            }
        }
        for (topic, count) in unmatched {
            logger.error(
                "MQTT messages dropped: no subscription of this client matches them (the broker sent them for a subscription of an earlier session)",
                metadata: metadata(["topic": "\(topic)", "count": "\(count)"]))
        }
        if overLimit > 0 {
            logger.error(
                "MQTT messages dropped: more arrived before their subscription was made than can be held",
                metadata: metadata([
                    "count": "\(overLimit)", "limit_messages": "\(Self.unclaimedLimit.messages)",
                    "limit_bytes": "\(Self.unclaimedLimit.bytes)"
                ]))
        }
    }

    /// Hands `message` to `targets`, holding it back for a consumer that is full.
    ///
    /// An ordinary binary-mode event is decoded here, in one pass from the User Properties
    /// (most consumers only ask for the event), and the delivery's message is built only if
    /// the consumer asks for it. Anything else gets the message read now, and its event (or
    /// the reason it is none) is decoded from that message, as the consumer asks.
    private func deliver(_ message: MQTTMessage, to targets: [(Int32, Consumer, overflowing: Bool)]) {
        let reader = MQTTMessageReader(message, protocolVersion: configuration.protocolVersion)
        // The message layer's reading, made once for every consumer that needs it.
        var read: (message: Message, conflict: MessageError?)?
        for (id, consumer, overflowing) in targets {
            let delivery: Delivery
            if let event = reader.binaryModeEvent(extensionTypes: consumer.extensionTypes) {
                delivery = Delivery(
                    formats: consumer.formats, extensionTypes: consumer.extensionTypes, decodedEvents: [event],
                    message: { reader.message() }, settle: consumer.settle)
            } else {
                let (cloudEventsMessage, conflict) = read ?? reader.messageAndConflict()
                read = (cloudEventsMessage, conflict)
                delivery =
                    if let conflict {
                        Delivery(
                            message: cloudEventsMessage, formats: consumer.formats, extensionTypes: consumer.extensionTypes,
                            decodingError: conflict, settle: consumer.settle)
                    } else {
                        Delivery(
                            message: cloudEventsMessage, formats: consumer.formats, extensionTypes: consumer.extensionTypes,
                            settle: consumer.settle)
                    }
            }
            if overflowing {
                shared.withLock { $0.machine.appendOverflow(id, delivery) }
                continue
            }
            switch trySend(delivery, to: consumer) {
            case .enqueued:
                break
            case .full:
                let now = ContinuousClock.now
                feed { $0.machine.deliveryBufferFull(id, delivery, now: now) }
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
    static func filter(_ filter: String, matches topic: String) -> Bool {
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
}
