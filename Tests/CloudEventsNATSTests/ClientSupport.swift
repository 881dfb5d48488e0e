import CloudEvents
import CloudEventsNATS
import CloudEventsTestSupport
import Foundation
import Logging
import Synchronization
import Testing

/// The nats-server of `Scripts/brokers` for the client's suites: skipped loudly outside the
/// scripts, failing when `CE_TEST_BROKERS=1` or `CI=true` and it is missing.
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
    static var password: String { environment["CE_TEST_NATS_PASSWORD"] ?? "" }

    /// The shared server, short reconnect backoff, 30 s bounds.
    static func configuration(port: Int? = nil) -> NATSClientConfiguration {
        var configuration = NATSClientConfiguration(host: host, port: port ?? self.port)
        configuration.reconnect = .exponential(initial: .milliseconds(50), maximum: .milliseconds(500))
        configuration.operationTimeout = .seconds(30)
        return configuration
    }

    /// A subject no other test uses.
    static func uniqueSubject(_ test: String = #function) -> String {
        let stem = test.prefix { $0.isLetter || $0.isNumber }
        return "ce.test.\(stem).\(UUID().uuidString.prefix(8))"
    }
}

/// A consumer that records what it takes (thread-safe), for tests.
final class RecordingConsumer: Sendable {
    private let state = Mutex<(messages: [NATSMessage], finished: Bool, failure: String?)>(([], false, nil))

    var consumer: NATSMessageConsumer {
        NATSMessageConsumer(
            deliver: { message, _ in
                self.state.withLock { $0.messages.append(message) }
                return .taken
            },
            finish: { error in
                self.state.withLock {
                    $0.finished = true
                    $0.failure = error.map { "\($0)" }
                }
            })
    }

    var messages: [NATSMessage] { state.withLock { $0.messages } }
    var count: Int { state.withLock { $0.messages.count } }
    var finished: Bool { state.withLock { $0.finished } }
    var failure: String? { state.withLock { $0.failure } }
}

/// A fresh temporary directory for a private server (removed by the caller).
func temporaryDirectory(_ name: String = #function) throws -> String {
    let stem = name.prefix { $0.isLetter || $0.isNumber }
    let path = NSTemporaryDirectory() + "ce-nats-\(stem)-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

extension Array where Element == UInt8 {
    /// The bytes of `text`.
    static func text(_ text: String) -> [UInt8] { Array(text.utf8) }
}
