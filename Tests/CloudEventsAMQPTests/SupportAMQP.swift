import CQpidProton
import CloudEvents
import CloudEventsAMQP
import CloudEventsTestSupport
import Foundation
import Logging
import Testing

/// The RabbitMQ of `Scripts/brokers` for the engine's suites: skipped loudly outside the
/// scripts, failing when `CE_TEST_BROKERS=1` or `CI=true` and it is missing.
enum AMQPBroker {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    static func requirement(in environment: [String: String] = environment) -> BrokerRequirement {
        BrokerRequirement.decide(
            broker: "the AMQP broker (RabbitMQ of Scripts/brokers)",
            listeners: [("CE_TEST_AMQP_PORT", "AMQP 1.0")], hostVariable: "CE_TEST_AMQP_HOST", in: environment)
    }

    static let gate = BrokerRequirement.gate(
        skipComment: BrokerRequirement.skipComment(broker: "AMQP broker", variable: "CE_TEST_AMQP_PORT")
    ) { requirement() }

    static var host: String { environment["CE_TEST_AMQP_HOST"] ?? "127.0.0.1" }
    static var port: Int { Int(environment["CE_TEST_AMQP_PORT"] ?? "") ?? 5672 }

    /// guest/guest over SASL PLAIN, short backoff, a 30 s bound on every wait.
    static func configuration(
        sasl: AMQPSASL? = nil, operationTimeout: Duration = .seconds(30)
    ) -> AMQPConnectionConfiguration {
        AMQPConnectionConfiguration(
            host: host, port: port,
            sasl: sasl
                ?? .plain(
                    username: environment["CE_TEST_AMQP_USERNAME"] ?? "guest",
                    password: environment["CE_TEST_AMQP_PASSWORD"] ?? "guest"),
            reconnect: .exponential(initial: .milliseconds(50), maximum: .seconds(1)),
            operationTimeout: operationTimeout)
    }

    /// A queue name no other test uses.
    static func uniqueQueue(_ test: String = #function) -> String {
        let stem = test.prefix { $0.isLetter || $0.isNumber }
        return "ce-test-\(stem)-\(UUID().uuidString.prefix(8))"
    }
}

/// Encodes and reads test messages with raw proton (independent of the binding's mapping).
enum RawMessage {
    /// A message whose body is one Data section holding `text`.
    static func encode(_ text: String, durable: Bool = true) -> [UInt8] {
        let message = pn_message()!
        defer { pn_message_free(message) }
        pn_message_set_inferred(message, true)
        pn_message_set_durable(message, durable)
        let body = pn_message_body(message)
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { raw in
            _ = pn_data_put_binary(body, pn_bytes(raw.count, raw.baseAddress?.assumingMemoryBound(to: CChar.self)))
        }
        var size = 4096 + text.utf8.count
        var buffer = [UInt8](repeating: 0, count: size)
        let rc = buffer.withUnsafeMutableBytes {
            pn_message_encode(message, $0.baseAddress!.assumingMemoryBound(to: CChar.self), &size)
        }
        precondition(rc == 0, "pn_message_encode failed: \(rc)")
        return Array(buffer.prefix(size))
    }

    /// The body text and header delivery-count of an encoded message (`nil` if it does not decode).
    static func decode(_ bytes: [UInt8]) -> (text: String, deliveryCount: UInt32)? {
        let message = pn_message()!
        defer { pn_message_free(message) }
        let rc = bytes.withUnsafeBytes {
            pn_message_decode(message, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count)
        }
        guard rc == 0 else { return nil }
        let body = pn_message_body(message)
        pn_data_rewind(body)
        guard pn_data_next(body) else { return ("", pn_message_get_delivery_count(message)) }
        let text: String
        switch pn_data_type(body) {
        case PN_BINARY:
            let value = pn_data_get_binary(body)
            text = String(decoding: UnsafeRawBufferPointer(start: value.start, count: value.size), as: UTF8.self)
        case PN_STRING:
            let value = pn_data_get_string(body)
            text = String(decoding: UnsafeRawBufferPointer(start: value.start, count: value.size), as: UTF8.self)
        default:
            text = "<type \(pn_data_type(body).rawValue)>"
        }
        return (text, pn_message_get_delivery_count(message))
    }
}

/// A consumer that queues raw deliveries for a test to take, with a bounded wait; `capacity`
/// makes it answer `.full` (back-pressure) once that many wait untaken.
final class RawInbox: Sendable {
    private struct State {
        var deliveries: [AMQPIncomingDelivery] = []
        var waiters: [CheckedContinuation<Void, Never>] = []
        var onRoom: (@Sendable () -> Void)?
        var finished = false
        var finishError: String?
        var offered = 0
    }

    private let state = Locked(State())  // pthread mutex: the thread sanitizer sees it
    let capacity: Int

    init(capacity: Int = .max) {
        self.capacity = capacity
    }

    var consumer: AMQPDeliveryConsumer {
        AMQPDeliveryConsumer(
            deliver: { delivery, onRoom in
                let (intake, waiters) = self.state.withLock { state -> (AMQPIntakeResult, [CheckedContinuation<Void, Never>]) in
                    state.offered += 1
                    guard state.deliveries.count < self.capacity else {
                        state.onRoom = onRoom
                        return (.full, [])
                    }
                    state.deliveries.append(delivery)
                    defer { state.waiters = [] }
                    return (.taken, state.waiters)
                }
                for waiter in waiters { waiter.resume() }
                return intake
            },
            finish: { error in
                let waiters = self.state.withLock { state in
                    state.finished = true
                    state.finishError = error.map { "\($0)" }
                    defer { state.waiters = [] }
                    return state.waiters
                }
                for waiter in waiters { waiter.resume() }
            })
    }

    /// How many deliveries wait untaken.
    var count: Int { state.withLock { $0.deliveries.count } }
    /// How many times the link offered a delivery (taken or refused).
    var offered: Int { state.withLock { $0.offered } }
    var isFinished: Bool { state.withLock { $0.finished } }
    var finishError: String? { state.withLock { $0.finishError } }

    /// The next delivery, or `nil` after `timeout`.
    func next(timeout: Duration = .seconds(30)) async -> AMQPIncomingDelivery? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let (delivery, onRoom) = state.withLock { state -> (AMQPIncomingDelivery?, (@Sendable () -> Void)?) in
                guard !state.deliveries.isEmpty else { return (nil, nil) }
                let delivery = state.deliveries.removeFirst()
                defer { state.onRoom = nil }
                return (delivery, state.onRoom)
            }
            onRoom?()
            if let delivery { return delivery }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    /// Waits until nothing arrives for `quiet` (to check that nothing more comes).
    func nothingArrives(within quiet: Duration) async -> Bool {
        try? await Task.sleep(for: quiet)
        return count == 0
    }
}

/// Settles and waits for the outcome.
func settle(_ delivery: AMQPIncomingDelivery, _ disposition: AMQPDisposition) async -> AMQPDispositionOutcome {
    await withCheckedContinuation { continuation in
        delivery.settle(disposition) { continuation.resume(returning: $0) }
    }
}

extension AMQPDispositionOutcome {
    var reachedPeer: Bool {
        if case .reachedPeer = self { return true }
        return false
    }
}

/// The error a send task failed with (`nil` when it succeeded or failed otherwise).
func sendError(_ task: Task<Void, any Error>) async -> TransportError? {
    if case .failure(let error) = await task.result { return error as? TransportError }
    return nil
}

/// Runs `body`, then closes `listener` and waits until it has, whether `body` returns or throws
/// (a `defer` cannot await, and a closing task left running would outlive the test).
func closing<Result>(_ listener: AMQPListener, _ body: () async throws -> Result) async throws -> Result {
    do {
        let result = try await body()
        await listener.close()
        return result
    } catch {
        await listener.close()
        throw error
    }
}
