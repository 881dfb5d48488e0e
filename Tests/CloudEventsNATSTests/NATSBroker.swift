import CloudEvents
import CloudEventsNATS
import CloudEventsTestSupport
import Foundation
import Testing

/// The nats-server of `Scripts/brokers`, for every suite of this target that uses it (the
/// plain port; the authenticated one for credentials): skipped loudly outside the scripts,
/// failing when `CE_TEST_BROKERS=1` or `CI=true` and it is missing.
enum NATSBroker {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    static func requirement(in environment: [String: String] = environment) -> BrokerRequirement {
        BrokerRequirement.decide(
            broker: "the NATS server (nats-server of Scripts/brokers)",
            listeners: [("CE_TEST_NATS_PORT", "plain"), ("CE_TEST_NATS_AUTH_PORT", "user/password")],
            hostVariable: "CE_TEST_NATS_HOST", in: environment)
    }

    static let gate = BrokerRequirement.gate(
        skipComment: BrokerRequirement.skipComment(broker: "NATS server", variable: "CE_TEST_NATS_PORT")
    ) { requirement() }

    static var host: String { environment["CE_TEST_NATS_HOST"] ?? "127.0.0.1" }
    static var port: Int { Int(environment["CE_TEST_NATS_PORT"] ?? "") ?? 4222 }
    static var authPort: Int { Int(environment["CE_TEST_NATS_AUTH_PORT"] ?? "") ?? 4223 }
    static var username: String { environment["CE_TEST_NATS_USERNAME"] ?? "cetest" }
    static var password: String { environment["CE_TEST_NATS_PASSWORD"] ?? "cetest-secret" }

    /// The shared server (or `port`), short reconnect backoff, 30 s bounds.
    static func configuration(port: Int? = nil) -> NATSClientConfiguration {
        var configuration = NATSClientConfiguration(host: host, port: port ?? self.port)
        configuration.reconnect = .exponential(initial: .milliseconds(50), maximum: .milliseconds(500))
        configuration.operationTimeout = .seconds(30)
        return configuration
    }

    /// `nats://host:port/subject` (options appended as given).
    static func url(_ subject: String, _ options: String = "") -> String {
        "nats://\(host):\(port)/\(subject)\(options.isEmpty ? "" : "?" + options)"
    }

    /// Our endpoint for `subject` on the plain port, in `mode`.
    static func endpoint(subject: String, mode: String = "binary") throws -> Endpoint {
        try Endpoint("nats://\(host):\(port)/\(subject)?mode=\(mode)")
    }

    /// A subject no other test uses (`ce.test.<stem>.<random>`).
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
