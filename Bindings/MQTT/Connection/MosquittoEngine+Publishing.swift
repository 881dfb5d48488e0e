import CMosquitto
import CloudEvents
import CloudEventsLoopDriver
import Logging

#if canImport(Glibc)
    import Glibc
#endif

// Publishing: callers queue messages in the state machine; the loop thread alone writes them.
extension MosquittoEngine {
    /// Hands `message` to the loop thread, which alone calls `mosquitto_publish_v5`, and
    /// waits for its acknowledgement. Publishing on the loop thread keeps libmosquitto
    /// single-threaded for its busiest path, and registers each message id before the loop
    /// can read the acknowledgement for it.
    func publish(_ message: MQTTMessage) async throws(TransportError) {
        guard MosquittoProperties.isMQTTString(message.topic) else {
            let error = TransportError(
                .invalidMessage, "MQTT topic '\(message.topic)' cannot be sent (MQTT strings exclude NUL and control characters)")
            logRefusedPublish(topic: message.topic, error)
            throw error
        }
        let deadline = ContinuousClock.now + configuration.operationTimeout
        let result = await withCheckedContinuation { (continuation: Completion) in
            let action = shared.withLock { shared -> Machine.PublishRequestAction in
                let id = shared.completions.insert(continuation)
                let action = shared.machine.publishRequested(waiter: id, message: message, deadline: deadline)
                if case .fail = action { _ = shared.completions.remove(id) }
                return action
            }
            switch action {
            case .queued: driver.wake()
            case .fail(let error): continuation.resume(returning: .failure(error))
            }
        }
        try result.get()
    }

    /// Loop thread: publishes the queued messages while connected. A message libmosquitto
    /// refuses fails at once; one refused for want of a connection waits for the next.
    func submitPublishes() {
        let requests = shared.withLock { $0.machine.takeQueuedPublishes() }
        guard !requests.isEmpty else { return }
        var written: [(Int32, Machine.InFlightPublish)] = []
        written.reserveCapacity(requests.count)
        var failed: [(ContinuationID, TransportError)] = []
        var unsent: ArraySlice<Machine.QueuedPublish> = []
        for (index, request) in requests.enumerated() {
            let message = request.message
            var properties = MosquittoProperties()
            do { try properties.add(message, version: configuration.protocolVersion) } catch {
                logRefusedPublish(topic: message.topic, error)
                failed.append((request.waiter, error))
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
                let error = TransportError(
                    .invalidMessage, "publishing to MQTT topic '\(message.topic)': \(Mosquitto.describe(rc))")
                logRefusedPublish(topic: message.topic, error)
                failed.append((request.waiter, error))
                continue
            }
            written.append(
                (
                    mid,
                    Machine.InFlightPublish(
                        waiter: request.waiter, topic: message.topic, qos: message.qos, deadline: request.deadline)
                ))
        }
        let failures = shared.withLock { shared in
            shared.machine.publishesWritten(written, unsent: unsent)
            return failed.compactMap { failure in shared.completions.remove(failure.0).map { ($0, failure.1) } }
        }
        for (continuation, error) in failures { continuation.resume(returning: .failure(error)) }
    }

    func publishResult(reason: Int32, topic: String) -> Result<Void, TransportError> {
        guard reason >= 0x80 else { return .success(()) }
        let code: TransportError.Code = reason == 0x87 ? .notAuthorized : .rejected
        let error = TransportError(
            code, "the broker refused the message for '\(topic)': \(Mosquitto.describeReason(reason)) (reason code \(reason))")
        logRefusedPublish(topic: topic, error)
        return .failure(error)
    }
}
