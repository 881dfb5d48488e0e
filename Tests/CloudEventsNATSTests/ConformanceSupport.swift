import CloudEvents
import CloudEventsTestSupport
import Foundation
import Testing

/// The nats-server of `Scripts/brokers` for the conformance, injection and peer suites
/// (the plain port; the authenticated one for the credentials row): skipped loudly outside
/// the scripts, failing when `CE_TEST_BROKERS=1` or `CI=true` and it is missing.
enum ConformanceNATSServer {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    static func requirement(in environment: [String: String] = environment) -> BrokerRequirement {
        BrokerRequirement.decide(
            broker: "the NATS server (nats-server of Scripts/brokers)",
            listeners: [("CE_TEST_NATS_PORT", "plain"), ("CE_TEST_NATS_AUTH_PORT", "user and password")],
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

    /// A subject no other test uses (`ce-test.<stem>.<random>`).
    static func uniqueSubject(_ test: String = #function) -> String {
        let stem = test.prefix { $0.isLetter || $0.isNumber }
        return "ce-test.\(stem).\(UUID().uuidString.prefix(8))"
    }

    /// Our endpoint for `subject` on the plain port, in `mode`.
    static func endpoint(subject: String, mode: String = "binary") throws -> Endpoint {
        try Endpoint("nats://\(host):\(port)/\(subject)?mode=\(mode)")
    }
}
