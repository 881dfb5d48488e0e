import CloudEvents
import CloudEventsBridge
import Logging

/// The two buffers, for tests every ``EventBuffer`` must pass.
enum BufferKind: String, CaseIterable, Sendable {
    case memory
    case durable

    /// A fresh buffer of this kind in `directory`.
    func make(in directory: String, maximumBytes: Int = 1 << 20, sync: SyncPolicy = .off) throws -> any EventBuffer {
        let storage: BufferConfiguration.Storage = self == .memory ? .memory : .durable(directory: directory)
        return try makeEventBuffer(
            route: "route", configuration: BufferConfiguration(storage: storage, maximumBytes: maximumBytes, sync: sync),
            logger: BufferSamples.logger)
    }
}

/// Events for buffer tests.
enum BufferSamples {
    /// A logger that prints nothing, for buffers whose logs a test does not check.
    static let logger = Logger(label: "buffer-test") { _ in SwiftLogNoOpLogHandler() }

    /// A binary-mode event with `index` in its id and a data of `dataSize` bytes.
    static func event(_ index: Int, key: String = "k", dataSize: Int = 16, receivedAt: Int64? = nil) -> NewBufferedEvent {
        let message = Message(
            content: .binary(
                attributes: [
                    BinaryAttribute(name: "specversion", value: "1.0"), BinaryAttribute(name: "id", value: .string("e\(index)")),
                    BinaryAttribute(name: "source", value: .uriReference("/buffer-tests")),
                    BinaryAttribute(name: "type", value: "com.example.buffer")
                ], data: [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: dataSize)),
            metadata: ["topic": "sensors/\(key)"])
        return NewBufferedEvent(key: key, message: message, receivedAt: receivedAt ?? 1_000 + Int64(index))
    }

    /// The id attribute of a stored event.
    static func id(_ event: BufferedEvent) -> String? {
        guard case .binary(let attributes, _) = event.message.content else { return nil }
        return attributes.first { $0.name == "id" }?.value.stringValue
    }

    /// The sequence number of an append that must have been stored.
    static func sequence(_ result: BufferAppendResult) throws -> Int64 {
        guard case .appended(let sequence) = result else { throw BufferTestFailure("the append returned .full") }
        return sequence
    }
}

/// A test's own failure.
struct BufferTestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A small deterministic generator (SplitMix64), so that a failing generated case can be
/// replayed from its seed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Counts calls of a `whenRoom` callback across threads.
final class CallCounter: Sendable {
    private let count = Locked(0)

    var value: Int { count.withLock { $0 } }

    func increment() { count.withLock { $0 += 1 } }
}
