import ArgumentParser
import CloudEvents
import CloudEventsBridge
import CloudEventsHTTP
import CloudEventsMQTT
import CloudEventsTransports
import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import UnixSignals

/// `ce bridge`: moves events from each route's source to its sink until SIGTERM or SIGINT.
struct BridgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bridge",
        abstract: "Move events from a source endpoint to a sink endpoint (MQTT to HTTP, or any binding to any binding).",
        discussion: """
            One route from the flags (--from and --to, named 'default' or --route), or the routes of \
            a YAML file (--config; its schema is in the CloudEventsBridge documentation, 'The \
            configuration file'). With --config, the flags below override the file for every route, \
            or only for the one --route names; --from and --to replace the endpoints of that route \
            (or of the file's only route).
            Events pass through a buffer (durable in ./ce-bridge-buffer by default; --no-buffer keeps \
            them in memory only) and count as delivered once the sink accepted them; failed sends are \
            retried with backoff, then sent to --dead-letter (or dropped, logged and counted). \
            ce logs one line per route at start: its endpoints (passwords masked), output mode, \
            buffer and the source's acknowledgement guarantee.
            SIGTERM or SIGINT stops the intake, delivers what is buffered within --shutdown-timeout \
            and exits 0. Exit 1 for an invalid configuration (one line: file:line:column: field: \
            problem), 3 when a route fails (its source or buffer cannot be opened).
            """
    )

    @Option(help: "Where events come from (mqtt://broker:1883/sensors/%23?version=5&qos=1). Required without --config.")
    var from: String?

    @Option(help: "Where events go (http://sink:8080/events). Required without --config.")
    var to: String?

    @Option(help: "The content mode sent: binary, structured, or the same as received (default).")
    var format: OutputModeOption?

    @Option(help: "Where undeliverable events go: any endpoint.")
    var deadLetter: String?

    @Option(help: "A YAML configuration file with one or more routes.")
    var config: String?

    @Option(help: "The route's name (without --config), or the one route of --config the flags apply to.")
    var route: String?

    @Option(name: .customLong("buffer-dir"), help: "The directory of the durable buffer (default ./ce-bridge-buffer).")
    var bufferDirectory: String?

    @Flag(help: "Keep events in memory only: what is held when the bridge stops or crashes is lost.")
    var noBuffer = false

    @Option(help: "The most the buffer holds before the source is paused: bytes, or KiB, MiB, GiB (default 256MiB).")
    var maxBufferBytes: String?

    @Option(help: "When the durable buffer syncs to disk: every-event, interval (default) or off.")
    var fsync: FsyncOption?

    @Option(help: "The sync interval with --fsync interval (default 200ms).")
    var fsyncInterval: String?

    @Option(help: "Events of a route sent at once, across ordering keys (default 64).")
    var maxInFlight: Int?

    @Option(help: "Attempts per event, the first included, before it is dead-lettered (default 8).")
    var maxAttempts: Int?

    @Option(help: "What orders deliveries: topic (default), subject or none.")
    var orderingKey: OrderingKeyOption?

    @Option(help: "Wrap messages that are not CloudEvents into events of this type (with --wrap-source).")
    var wrapType: String?

    @Option(help: "The source attribute of wrapped events (with --wrap-type).")
    var wrapSource: String?

    @Option(help: "Serve /healthz, /readyz and /metrics at HOST:PORT (port 0: any free port).")
    var metricsListen: String?

    @Option(help: "How long a stopping bridge goes on delivering what it holds (default 10s).")
    var shutdownTimeout: String?

    @Option(help: "A live progress line on stderr: auto (when stderr is a terminal), always or never.")
    var progress: ProgressOption = .auto

    @OptionGroup var tls: TLSOptions

    @OptionGroup var logging: LoggingOptions

    /// The bindings the bridge joins (see ``Bindings/bridgeRegistry``).
    static var registry: BindingRegistry { Bindings.bridgeRegistry }

    func run() async throws {
        let configuration: BridgeConfiguration
        do {
            configuration = try self.configuration(environment: ProcessInfo.processInfo.environment)
        } catch {
            throw Console.fail("\(error)", ExitStatus.invalidInput)
        }
        let terminal = ProgressTerminal()
        let level: Logger.Level = logging.verbose ? .info : .notice
        let logger = Logger(label: "ce") { _ in
            ProgressAwareLogHandler(inner: StderrLogHandler(logLevel: level), terminal: terminal)
        }
        let metrics = PrometheusCollectorRegistry()
        let options = BindingOptions(formats: Formats.registry, tls: tls.settings, logger: logger)
        let bridge: Bridge
        do {
            bridge = try Bridge(
                configuration: configuration, registry: Self.registry, options: options,
                metricsFactory: PrometheusMetricsFactory(registry: metrics), logger: logger)
        } catch {
            throw Console.fail("\(error)", ExitStatus.invalidInput)
        }
        for route in configuration.routes {
            let acknowledgement = try? Self.registry.binding(for: route.source).acknowledgementDetail
            logger.notice("\(Self.summary(of: route, acknowledgement: acknowledgement))")
        }
        // The group stops its services in reverse order: the bridge drains first, while the
        // progress line and the operations endpoints still report on it.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let operations = configuration.operations {
            let server: OperationsServer
            do {
                server = try await OperationsServer.bind(
                    configuration: operations, health: bridge.health, metrics: metrics, logger: logger)
            } catch {
                throw Console.fail("\(error)", ExitStatus.transportFailed)
            }
            logger.notice(
                "operations endpoints at http://\(Self.hostForURL(operations.host)):\(server.port) (/healthz /readyz /metrics)")
            services.append(.init(service: server))
        }
        if progress == .always
            || (progress == .auto && ProgressLine.isTerminal(fileDescriptor: FileHandle.standardError.fileDescriptor))
        {
            services.append(.init(service: ProgressService(bridge: bridge, terminal: terminal)))
        }
        services.append(.init(service: bridge))
        var groupConfiguration = ServiceGroupConfiguration(services: services, logger: logger)
        groupConfiguration.gracefulShutdownSignals = [.sigterm, .sigint]
        // A drain takes at most the shutdown timeout; closing connections and buffers gets a
        // margin before the group escalates to cancellation (a durable buffer keeps the rest).
        groupConfiguration.maximumGracefulShutdownDuration = configuration.shutdownTimeout + .seconds(15)
        do {
            try await ServiceGroup(configuration: groupConfiguration).run()
        } catch {
            terminal.finish()
            throw Console.fail("\(error)", ExitStatus.transportFailed)
        }
        terminal.finish()
    }

    /// The configuration to run: the file's (with the flags over it), or one route from the flags.
    ///
    /// - Parameter environment: where the file's `${NAME}` references are looked up.
    /// - Throws: ``ConfigurationError`` naming the file, line and field, or the flag.
    func configuration(environment: [String: String]) throws(ConfigurationError) -> BridgeConfiguration {
        var configuration: BridgeConfiguration
        let targets: [Int]
        if let config {
            configuration = try BridgeConfigurationFile.load(path: config, formats: Formats.registry, environment: environment)
            if let route {
                guard let index = configuration.routes.firstIndex(where: { $0.name == route }) else {
                    let names = configuration.routes.map(\.name).joined(separator: ", ")
                    throw Self.flagError("--route", "\(config) has no route named '\(route)' (its routes: \(names))")
                }
                targets = [index]
            } else {
                targets = Array(configuration.routes.indices)
            }
            if from != nil || to != nil {
                guard targets.count == 1 else {
                    throw Self.flagError(
                        from != nil ? "--from" : "--to",
                        "\(config) has \(targets.count) routes: name the one to change with --route")
                }
                if let from { configuration.routes[targets[0]].source = try Self.endpoint(from, flag: "--from") }
                if let to { configuration.routes[targets[0]].sink = try Self.endpoint(to, flag: "--to") }
            }
        } else {
            guard let from else { throw Self.flagError("--from", "required without --config") }
            guard let to else { throw Self.flagError("--to", "required without --config") }
            let name = route ?? "default"
            guard BridgeConfigurationFile.isValidRouteName(name) else {
                throw Self.flagError("--route", "expected a route name of letters, digits, '-' and '_', got '\(name)'")
            }
            let route = RouteConfiguration(
                name: name, source: try Self.endpoint(from, flag: "--from"), sink: try Self.endpoint(to, flag: "--to"))
            configuration = BridgeConfiguration(routes: [route])
            targets = [0]
        }
        for index in targets { try override(&configuration.routes[index]) }
        if let shutdownTimeout { configuration.shutdownTimeout = try Self.duration(shutdownTimeout, flag: "--shutdown-timeout") }
        if let metricsListen {
            guard let address = BridgeConfigurationFile.operationsAddress(metricsListen) else {
                throw Self.flagError("--metrics-listen", "expected HOST:PORT, such as 127.0.0.1:9090, got '\(metricsListen)'")
            }
            configuration.operations = address
        }
        return configuration
    }

    /// Applies the route flags given to `route`.
    private func override(_ route: inout RouteConfiguration) throws(ConfigurationError) {
        if let format { route.outputMode = format.mode }
        if let deadLetter { route.deadLetter = try Self.endpoint(deadLetter, flag: "--dead-letter") }
        if let maxInFlight {
            guard maxInFlight >= 1 else {
                throw Self.flagError("--max-in-flight", "expected a whole number ≥ 1, got \(maxInFlight)")
            }
            route.maximumInFlight = maxInFlight
        }
        if let maxAttempts {
            guard maxAttempts >= 1 else {
                throw Self.flagError("--max-attempts", "expected a whole number ≥ 1, got \(maxAttempts)")
            }
            route.retry.maximumAttempts = maxAttempts
        }
        if let orderingKey { route.orderingKey = orderingKey.key }
        if wrapType != nil || wrapSource != nil {
            var (type, source) = (wrapType, wrapSource)
            if case .wrap(let oldType, let oldSource) = route.nonCloudEvents {
                (type, source) = (type ?? oldType, source ?? oldSource)
            }
            guard let type, let source, !type.isEmpty, !source.isEmpty else {
                throw Self.flagError(
                    wrapType == nil ? "--wrap-type" : "--wrap-source",
                    "--wrap-type and --wrap-source go together (route '\(route.name)' does not wrap already)")
            }
            route.nonCloudEvents = .wrap(type: type, source: source)
        }
        try overrideBuffer(&route.buffer)
    }

    private func overrideBuffer(_ buffer: inout BufferConfiguration) throws(ConfigurationError) {
        if noBuffer {
            guard bufferDirectory == nil else {
                throw Self.flagError("--no-buffer", "--no-buffer and --buffer-dir contradict each other")
            }
            buffer.storage = .memory
        }
        if let bufferDirectory {
            guard !bufferDirectory.isEmpty else { throw Self.flagError("--buffer-dir", "expected a directory path, got nothing") }
            buffer.storage = .durable(directory: bufferDirectory)
        }
        if let maxBufferBytes {
            guard let bytes = ByteSizeParsing.bytes(maxBufferBytes), bytes > 0 else {
                throw Self.flagError(
                    "--max-buffer-bytes", "expected \(ByteSizeParsing.expected), more than zero, got '\(maxBufferBytes)'")
            }
            buffer.maximumBytes = bytes
        }
        let interval = try fsyncInterval.map { (text) throws(ConfigurationError) in
            let duration = try Self.duration(text, flag: "--fsync-interval")
            guard duration > .zero else {
                throw Self.flagError("--fsync-interval", "expected \(DurationParsing.expected), more than zero, got '\(text)'")
            }
            return duration
        }
        var currentInterval: Duration?
        if case .interval(let old) = buffer.sync { currentInterval = old }
        switch fsync {
        case .everyEvent?, .off?:
            guard interval == nil else { throw Self.flagError("--fsync-interval", "applies only with --fsync interval") }
            buffer.sync = fsync == .off ? .off : .everyEvent
        case .interval?, nil:
            if fsync != nil || interval != nil { buffer.sync = .interval(interval ?? currentInterval ?? .milliseconds(200)) }
        }
    }

    private static func endpoint(_ text: String, flag: String) throws(ConfigurationError) -> Endpoint {
        try BridgeConfigurationFile.endpoint(text, formats: Formats.registry, field: flag)
    }

    private static func duration(_ text: String, flag: String) throws(ConfigurationError) -> Duration {
        guard let duration = DurationParsing.duration(text) else {
            throw flagError(flag, "expected \(DurationParsing.expected), got '\(text)'")
        }
        return duration
    }

    private static func flagError(_ flag: String, _ message: String) -> ConfigurationError {
        ConfigurationError(file: "", field: flag, message: message)
    }

    /// The line logged for a route at start: `route sensors: mqtt://… → http://… (binary), buffer
    /// durable at DIR, at most 256 MiB (fsync every 200 ms), acknowledgement: broker before consumer`.
    static func summary(of route: RouteConfiguration, acknowledgement: String?) -> String {
        let mode =
            switch route.outputMode {
            case .binary: "binary"
            case .structured: "structured"
            case .same: "same mode as received"
            }
        let sync =
            switch route.buffer.sync {
            case .everyEvent: "fsync on every event"
            case .interval(let interval): "fsync every \(DurationParsing.text(interval))"
            case .off: "no fsync"
            }
        let buffer =
            switch route.buffer.storage {
            case .durable(let directory):
                "buffer durable at \(directory), at most \(ByteSizeParsing.text(route.buffer.maximumBytes)) (\(sync))"
            case .memory:
                "buffer in memory only, at most \(ByteSizeParsing.text(route.buffer.maximumBytes)) (lost if the bridge stops or crashes)"
            }
        var line =
            "route \(route.name): \(route.source.url(maskingPassword: true)) → \(route.sink.url(maskingPassword: true)) (\(mode))"
        if let deadLetter = route.deadLetter { line += ", dead letters → \(deadLetter.url(maskingPassword: true))" }
        line += ", \(buffer)"
        if let acknowledgement { line += ", acknowledgement: \(acknowledgement)" }
        return line
    }

    /// `host` as a URL writes it: an IPv6 address in brackets.
    private static func hostForURL(_ host: String) -> String {
        host.contains(":") ? "[\(host)]" : host
    }
}

/// `--format` values.
enum OutputModeOption: String, ExpressibleByArgument, CaseIterable {
    case binary
    case structured
    case same

    var mode: OutputMode {
        switch self {
        case .binary: .binary
        case .structured: .structured
        case .same: .same
        }
    }
}

/// `--fsync` values.
enum FsyncOption: String, ExpressibleByArgument, CaseIterable {
    case everyEvent = "every-event"
    case interval
    case off
}

/// `--ordering-key` values.
enum OrderingKeyOption: String, ExpressibleByArgument, CaseIterable {
    case topic
    case subject
    case none

    var key: OrderingKey {
        switch self {
        case .topic: .topic
        case .subject: .subject
        case .none: .none
        }
    }
}

/// `--progress` values.
enum ProgressOption: String, ExpressibleByArgument, CaseIterable {
    case auto
    case always
    case never
}

/// The progress line on stderr, and the log lines that cross it: a log line clears the
/// progress line, is written, and the progress line is drawn again under it.
final class ProgressTerminal: Sendable {
    /// The line drawn last, `nil` before the first and after ``finish()``.
    private let line = Locked<String?>(nil)

    /// Draws `text` over the current progress line.
    func draw(_ text: String) {
        line.withLock { line in
            line = text
            Self.write("\r\u{1B}[K" + text)
        }
    }

    /// Runs `write` (which writes whole lines to stderr) with the progress line out of its way.
    func interrupt(_ write: () -> Void) {
        line.withLock { line in
            if line != nil { Self.write("\r\u{1B}[K") }
            write()
            if let line { Self.write(line) }
        }
    }

    /// Ends the progress line with a newline, so that what follows starts on a line of its own.
    func finish() {
        line.withLock { line in
            if line != nil { Self.write("\n") }
            line = nil
        }
    }

    private static func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// ``StderrLogHandler``'s lines, written around the progress line.
struct ProgressAwareLogHandler: LogHandler {
    var inner: StderrLogHandler
    let terminal: ProgressTerminal

    var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { inner.metadataProvider }
        set { inner.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        terminal.interrupt { inner.log(event: event) }
    }
}

/// Redraws the progress line every 500 ms until the group stops it (after the bridge drained),
/// then draws it a last time and ends it with a newline.
struct ProgressService: Service {
    let bridge: Bridge
    let terminal: ProgressTerminal

    func run() async throws {
        var line = await cancelWhenGracefulShutdown { [bridge, terminal] in
            var line = ProgressLine()
            while !Task.isCancelled {
                terminal.draw(line.render(bridge.snapshots(), now: .now))
                try? await Task.sleep(for: .milliseconds(500))
            }
            return line
        }
        terminal.draw(line.render(bridge.snapshots(), now: .now))
        terminal.finish()
    }
}
