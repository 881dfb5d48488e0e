import CMosquitto
import CloudEvents
import CloudEventsLoopDriver
import Logging

#if canImport(Glibc)
    import Glibc
#endif

// Subscribing: the SUBSCRIBE goes out on the loop thread; its caller waits for the SUBACK.
extension MosquittoEngine {
    /// Returns when connected; waits (up to `deadline`) while the client reconnects.
    func waitForConnection(until deadline: ContinuousClock.Instant) async throws(TransportError) {
        let result = await withCheckedContinuation { (continuation: Completion) in
            let (wait, closed) = shared.withLock { shared in
                let id = shared.completions.insert(continuation)
                let wait = shared.machine.connectionWaitRequested(waiter: id, deadline: deadline)
                if wait != .wait { _ = shared.completions.remove(id) }
                return (wait, shared.machine.closedError())
            }
            switch wait {
            case .ready: continuation.resume(returning: .success(()))
            case .closed: continuation.resume(returning: .failure(closed))
            case .wait: break
            }
        }
        try result.get()
    }

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
        let consumer = Consumer(
            filter: filter, continuation: continuation, formats: formats, extensionTypes: extensionTypes,
            settle: MQTTSettlement.settle(filter: filter, logger: logger))
        let (id, replay) = shared.withLock { shared -> (Int32, Bool) in
            let id = shared.machine.addSubscription(filter: filter, qos: qos)
            shared.consumers[id] = consumer
            // Messages that came before this subscription (a persistent session's) go to it
            // now, on the loop thread, before anything that arrives later.
            let replay = !shared.unclaimed.isEmpty && !shared.replayPending
            if replay { shared.replayPending = true }
            return (id, replay)
        }
        if replay { driver.submit { [weak self] in self?.replayUnclaimed() } }
        do throws(TransportError) {
            try await waitForConnection(until: deadline)
            let granted = try await sendSubscribe(id, deadline: deadline)
            guard granted < 0x80 else {
                let code: TransportError.Code = granted == 0x87 ? .notAuthorized : .rejected
                let error = TransportError(
                    code,
                    "the broker refused the subscription to '\(filter)': \(Mosquitto.describeReason(granted)) (reason code \(granted))"
                )
                logger.warning(
                    "MQTT subscription refused",
                    metadata: metadata([
                        "topic": "\(filter)", "reason": "\(Mosquitto.describeReason(granted))", "reason_code": "\(granted)"
                    ]))
                throw error
            }
            return stream
        } catch {
            shared.withLock { shared in
                _ = shared.machine.removeSubscription(id)
                shared.consumers[id] = nil
            }
            continuation.finish(throwing: error)
            throw error
        }
    }

    /// Asks the loop thread to send the SUBSCRIBE, and waits for its SUBACK.
    func sendSubscribe(_ id: Int32, deadline: ContinuousClock.Instant) async throws(TransportError) -> Int32 {
        let result = await withCheckedContinuation { (continuation: SubscribeCompletion) in
            let outcome = shared.withLock { shared -> Result<(ContinuationID, Machine.Subscription), TransportError> in
                let waiter = shared.subscribeCompletions.insert(continuation)
                let request = shared.machine.subscribeRequested(waiter: waiter, subscription: id, deadline: deadline)
                if case .failure = request { _ = shared.subscribeCompletions.remove(waiter) }
                return request.map { (waiter, $0) }
            }
            switch outcome {
            case .failure(let error):
                continuation.resume(returning: .failure(error))
            case .success(let (waiter, subscription)):
                // If the loop is ending, its end fails the waiter.
                driver.submit { [weak self] in self?.sendSubscribeOnLoop(waiter: waiter, subscription) }
            }
        }
        return try result.get()
    }

    /// Loop thread: the SUBSCRIBE, unless its caller stopped waiting. Its SUBACK can only be
    /// read after the message id is recorded, on this same thread.
    func sendSubscribeOnLoop(waiter: ContinuationID, _ subscription: Machine.Subscription) {
        guard shared.withLock({ $0.machine.isSubscribePending(waiter) }) else { return }
        var mid: Int32 = 0
        let rc = subscribeCall(subscription, mid: &mid, resubscribing: false)
        if rc == Mosquitto.success {
            shared.withLock { $0.machine.subscribeSent(waiter: waiter, messageID: mid) }
        } else {
            let error = TransportError(.connectionFailed, "subscribing to '\(subscription.filter)': \(Mosquitto.describe(rc))")
            feed { $0.machine.subscribeFailed(waiter: waiter, error: error) }
        }
    }

    /// `mosquitto_subscribe_v5` with the subscription's id as its MQTT 5 Subscription
    /// Identifier (so each message is routed by the broker's own matching). A
    /// resubscription after a reconnect asks for retained messages only if the session lost
    /// the subscription.
    func subscribeCall(_ subscription: Machine.Subscription, mid: inout Int32, resubscribing: Bool) -> Int32 {
        var properties = MosquittoProperties()
        var options: Int32 = 0
        if configuration.protocolVersion == .v5 {
            _ = properties.addVarint(MQTT_PROP_SUBSCRIPTION_IDENTIFIER, UInt32(subscription.id))
            if resubscribing { options = Int32(MQTT_SUB_OPT_SEND_RETAIN_NEW.rawValue) }
        }
        return mosquitto_subscribe_v5(
            handle, &mid, subscription.filter, Int32(subscription.qos.rawValue), options, properties.list)
    }

    /// Loop thread: a consumer stopped; the broker's subscription goes when no other uses it.
    /// `alsoDropped` counts held deliveries already taken out of the state machine.
    func unsubscribe(id: Int32, alsoDropped: Int = 0) {
        let removed = shared.withLock { shared -> (Machine.RemovedSubscription, Consumer?)? in
            guard let removed = shared.machine.removeSubscription(id) else { return nil }
            return (removed, shared.consumers.removeValue(forKey: id))
        }
        guard let (removed, consumer) = removed else { return }
        consumer?.continuation.finish()
        let dropped = removed.droppedDeliveries + alsoDropped
        if dropped > 0 {
            logger.error(
                "MQTT deliveries dropped: their consumer stopped",
                metadata: metadata(["filter": "\(removed.subscription.filter)", "count": "\(dropped)"]))
        }
        if !removed.filterStillUsed { _ = mosquitto_unsubscribe_v5(handle, nil, removed.subscription.filter, nil) }
    }
}
