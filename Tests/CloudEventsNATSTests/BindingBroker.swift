import CloudEvents
import CloudEventsNATS
import CloudEventsTestSupport
import Foundation
import Testing

/// The nats-server of `Scripts/brokers` for the binding's suites (endpoint, sender, receiver,
/// request-reply): skipped loudly outside the scripts, failing when `CE_TEST_BROKERS=1` or
/// `CI=true` and it is missing.
enum BindingBroker {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    static let requirement = BrokerRequirement.decide(
        broker: "the NATS server (nats-server of Scripts/brokers)",
        listeners: [("CE_TEST_NATS_PORT", "plain"), ("CE_TEST_NATS_AUTH_PORT", "user/password")],
        hostVariable: "CE_TEST_NATS_HOST", in: ProcessInfo.processInfo.environment)

    static let gate = BrokerRequirement.gate(
        skipComment: BrokerRequirement.skipComment(broker: "NATS server", variable: "CE_TEST_NATS_PORT")
    ) { requirement }

    static var host: String { environment["CE_TEST_NATS_HOST"] ?? "127.0.0.1" }
    static var port: Int { Int(environment["CE_TEST_NATS_PORT"] ?? "") ?? 4222 }
    static var authPort: Int { Int(environment["CE_TEST_NATS_AUTH_PORT"] ?? "") ?? 4223 }
    static var user: String { environment["CE_TEST_NATS_USERNAME"] ?? "cetest" }
    static var password: String { environment["CE_TEST_NATS_PASSWORD"] ?? "cetest-secret" }

    /// The plain listener, a 30 s bound on every operation.
    static func configuration() -> NATSClientConfiguration {
        var configuration = NATSClientConfiguration(host: host, port: port)
        configuration.operationTimeout = .seconds(30)
        return configuration
    }

    /// `nats://host:port/subject` (options appended as given).
    static func url(_ subject: String, _ options: String = "") -> String {
        "nats://\(host):\(port)/\(subject)\(options.isEmpty ? "" : "?" + options)"
    }

    /// A subject no other test uses.
    static func uniqueSubject(_ test: String = #function) -> String {
        let stem = test.prefix { $0.isLetter || $0.isNumber }
        return "ce.test.\(stem).\(UUID().uuidString.prefix(8))"
    }

    /// A valid event with text data, a time, a subject to percent-encode and string extensions
    /// (binary mode carries extensions as strings), with the given id.
    static func event(_ id: String) -> CloudEvent {
        CloudEvent(
            id: id, source: "/binding/tests", type: "com.example.nats", dataContentType: "text/plain",
            subject: "orders/1 ü", time: try? Timestamp(rfc3339: "2026-12-03T15:00:00.5Z"),
            extensions: ["note": "100% \"quoted\", spaced", "priority": "5"], data: .text("hello \(id)"))
    }
}

/// A wait that took longer than its bound.
struct DeadlineExceeded: Error, CustomStringConvertible {
    let seconds: Int
    var description: String { "not done within \(seconds) s" }
}

/// Runs `body`, failing with ``DeadlineExceeded`` (and cancelling it) when it takes longer
/// than `seconds`: it ends as soon as `body` does.
func within<T: Sendable>(_ seconds: Int = 60, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw DeadlineExceeded(seconds: seconds) }
        return value
    }
}

/// The next delivery, or `nil` when none arrives within `seconds` (for a short negative
/// wait: a wait that runs out cancels the iteration, which ends the stream).
func nextDelivery(of stream: DeliveryStream, within seconds: Int) async throws -> Delivery? {
    do {
        return try await within(seconds) {
            var iterator = stream.makeAsyncIterator()
            return try await iterator.next()
        }
    } catch is DeadlineExceeded {
        return nil
    }
}
