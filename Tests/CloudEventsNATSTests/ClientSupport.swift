import CloudEvents
import CloudEventsNATS
import CloudEventsTestSupport
import Foundation
import Logging
import Synchronization
import Testing

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
