import ArgumentParser
import Foundation
import Logging

/// `--verbose`: what the bindings log, on stderr.
struct LoggingOptions: ParsableArguments {
    @Flag(
        help:
            "Print everything the bindings log from level info (connections, retries) on stderr. Without it, listen prints notices and warnings (refused requests, reconnects) and send prints nothing beyond its own result."
    )
    var verbose = false

    /// A logger that writes each record as one `ce: ` line on stderr, from level `quiet`
    /// (info with `--verbose`).
    ///
    /// - Parameter quiet: the level shown without `--verbose`.
    func logger(quiet: Logger.Level) -> Logger {
        let level: Logger.Level = verbose ? .info : quiet
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
