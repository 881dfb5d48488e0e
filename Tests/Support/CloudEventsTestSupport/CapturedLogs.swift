public import Logging
import Synchronization

/// Log records kept in memory, for tests that check what a binding logs (levels, messages,
/// `snake_case` metadata, and that no secret appears).
public final class CapturedLogs: Sendable {
    /// One log record, its metadata merged and printed.
    public struct Record: Sendable {
        public var level: Logger.Level
        public var message: String
        public var metadata: [String: String]
    }

    /// An empty collection.
    public init() {}

    private let records = Mutex<[Record]>([])

    /// Every record so far, oldest first.
    public var all: [Record] { records.withLock { $0 } }

    /// A logger that records everything from `trace` up here.
    public func logger(label: String = "test") -> Logger {
        var logger = Logger(label: label) { _ in Handler(sink: self) }
        logger.logLevel = .trace
        return logger
    }

    private func append(_ record: Record) { records.withLock { $0.append(record) } }

    private struct Handler: LogHandler {
        let sink: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var merged = metadata
            merged.merge(event.metadata ?? [:]) { $1 }
            sink.append(
                Record(
                    level: event.level, message: "\(event.message)", metadata: merged.mapValues { "\($0)" }))
        }
    }
}
