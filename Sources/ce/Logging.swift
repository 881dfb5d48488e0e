import ArgumentParser
import Foundation
import Logging

/// `--verbose`: what the bindings log, on stderr.
struct LoggingOptions: ParsableArguments {
    @Flag(help: "Also print the bindings' info-level messages (connections) on stderr, besides notices and warnings.")
    var verbose = false

    /// A logger that writes each record as one `ce: ` line on stderr, from level notice
    /// (info with `--verbose`).
    var logger: Logger {
        let level: Logger.Level = verbose ? .info : .notice
        return Logger(label: "ce", factory: { _ in StderrLogHandler(logLevel: level) })
    }
}

/// Writes one line per record on stderr: `ce: <message> key=value …`, metadata sorted by key.
struct StderrLogHandler: LogHandler {
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let given = event.metadata { all.merge(given) { _, new in new } }
        let pairs = all.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        Console.error("\(event.message)\(pairs)")
    }
}
