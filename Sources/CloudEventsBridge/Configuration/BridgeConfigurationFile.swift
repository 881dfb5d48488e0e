public import CloudEvents
import Foundation
import Yams

/// The bridge's configuration file: YAML with `snake_case` keys, read into a
/// ``BridgeConfiguration`` and checked whole before anything starts.
///
/// ```yaml
/// shutdown_timeout: 10s
/// operations:
///   listen: 127.0.0.1:9090
/// routes:
///   - name: sensors
///     from: mqtt://broker:1883/sensors/%23?version=5&qos=1
///     to: http://sink:8080/events
///     format: binary
/// ```
///
/// Every error names the file, the line and column, and the field
/// (`bridge.yaml:14:5: routes[1].retry.max_attempts: expected a whole number ≥ 1, got 'many'`);
/// a key the schema does not have is an error naming the known ones. `${NAME}` anywhere in a
/// value is replaced by the environment variable `NAME` (`$${` is a literal `${`), so that
/// passwords need not be written in the file; error messages show the reference, never the
/// value. The schema is documented in the catalog's "The configuration file" article.
public enum BridgeConfigurationFile {
    /// The keys of the file's top level.
    static let topLevelKeys = ["shutdown_timeout", "operations", "defaults", "routes"]
    /// The keys a route and the `defaults` block share.
    static let settingKeys = [
        "format", "dead_letter", "non_cloudevents", "wrap", "successful_on", "ordering_key", "max_in_flight", "retry", "buffer"
    ]
    /// The keys of a route.
    static let routeKeys = ["name", "from", "to"] + settingKeys
    static let retryKeys = [
        "max_attempts", "backoff", "initial_delay", "max_delay", "multiplier", "jitter", "max_retry_after", "retryable_statuses",
        "count_unreachable"
    ]
    static let bufferKeys = ["enabled", "directory", "max_bytes", "fsync", "fsync_interval"]

    /// Parses a configuration file's text.
    ///
    /// - Parameters:
    ///   - text: the YAML.
    ///   - path: the file's path, as errors name it.
    ///   - formats: the formats endpoints' `format=` options may name.
    ///   - environment: where `${NAME}` references are looked up.
    /// - Returns: the configuration, every field checked.
    /// - Throws: ``ConfigurationError`` for the first problem found, in file order.
    public static func parse(_ text: String, path: String, formats: EventFormatRegistry, environment: [String: String])
        throws(ConfigurationError) -> BridgeConfiguration
    {
        let reader = ConfigurationReader(file: path, environment: environment, formats: formats)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw Self.error(error, reader: reader)
        } catch {
            throw reader.error("not valid YAML: \(error)", at: nil as Mark?, field: "")
        }
        guard let root else {
            throw reader.error("the file is empty; expected a mapping with 'routes'", at: nil as Mark?, field: "")
        }
        return try configuration(root, reader: reader)
    }

    /// Reads and parses a configuration file, resolving `${NAME}` in the process's environment.
    ///
    /// - Parameters:
    ///   - path: the file's path.
    ///   - formats: the formats endpoints' `format=` options may name.
    /// - Returns: the configuration, every field checked.
    /// - Throws: ``ConfigurationError`` when the file cannot be read or is not a valid
    ///   configuration.
    public static func load(path: String, formats: EventFormatRegistry) throws(ConfigurationError) -> BridgeConfiguration {
        try load(path: path, formats: formats, environment: ProcessInfo.processInfo.environment)
    }

    /// Reads and parses a configuration file.
    ///
    /// - Parameters:
    ///   - path: the file's path.
    ///   - formats: the formats endpoints' `format=` options may name.
    ///   - environment: where `${NAME}` references are looked up.
    /// - Returns: the configuration, every field checked.
    /// - Throws: ``ConfigurationError`` when the file cannot be read or is not a valid
    ///   configuration.
    public static func load(path: String, formats: EventFormatRegistry, environment: [String: String])
        throws(ConfigurationError) -> BridgeConfiguration
    {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription
            throw ConfigurationError(file: path, field: "", message: "cannot read the file: \(reason)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(file: path, field: "", message: "the file is not UTF-8 text")
        }
        return try parse(text, path: path, formats: formats, environment: environment)
    }

    // MARK: Top level

    private static func configuration(_ root: Node, reader: ConfigurationReader) throws(ConfigurationError)
        -> BridgeConfiguration
    {
        let top = try reader.fields(root, field: "", keys: topLevelKeys)
        var configuration = BridgeConfiguration(routes: [])
        if let timeout = try top.duration("shutdown_timeout") { configuration.shutdownTimeout = timeout }
        if let operations = try top.fields("operations", keys: ["listen"]) {
            configuration.operations = try Self.operations(operations)
        }
        // The defaults are checked once, on a route that is never run, so that an error in
        // them is reported at their line even when no route uses the key.
        let defaults = try top.fields("defaults", keys: settingKeys)
        if let defaults {
            let placeholder = try! Endpoint("memory://defaults")
            var route = RouteConfiguration(name: "defaults", source: placeholder, sink: placeholder)
            try applySettings(defaults, to: &route, formats: reader.formats)
        }
        guard let routesNode = top.node("routes") else {
            throw top.missing("routes", "required: a list of routes, each with a name, from and to")
        }
        guard let routes = routesNode.sequence, !routes.isEmpty else {
            throw top.error("routes", "expected a list of at least one route, got \(ConfigurationReader.kind(of: routesNode))")
        }
        var names: [String: Int] = [:]
        for (index, node) in routes.enumerated() {
            let fields = try reader.fields(node, field: "routes[\(index)]", keys: routeKeys)
            let route = try self.route(fields, defaults: defaults, formats: reader.formats)
            if let first = names[route.name] {
                throw fields.error("name", "route name '\(route.name)' is already used by routes[\(first)]")
            }
            names[route.name] = index
            configuration.routes.append(route)
        }
        return configuration
    }

    /// `operations.listen`: `host:port` or `[v6]:port`, port 0 for any.
    private static func operations(_ fields: ConfigurationFields) throws(ConfigurationError) -> OperationsConfiguration? {
        let expected = "host:port, such as 127.0.0.1:9090 ([::1]:9090 for IPv6, port 0 for any free port)"
        guard let text = try fields.string("listen", expected: expected) else { throw fields.missing("listen") }
        guard let address = operationsAddress(text) else { throw fields.error("listen", "expected \(expected), got '\(text)'") }
        return address
    }

    // MARK: Routes

    private static func route(_ fields: ConfigurationFields, defaults: ConfigurationFields?, formats: EventFormatRegistry)
        throws(ConfigurationError) -> RouteConfiguration
    {
        guard let name = try fields.string("name", expected: "a route name") else { throw fields.missing("name") }
        guard isValidRouteName(name) else {
            throw fields.error("name", "expected a route name of letters, digits, '-' and '_', got '\(name)'")
        }
        guard let source = try fields.endpoint("from", formats: formats) else { throw fields.missing("from") }
        guard let source else { throw fields.error("from", "expected an endpoint URL, got nothing") }
        guard let sink = try fields.endpoint("to", formats: formats) else { throw fields.missing("to") }
        guard let sink else { throw fields.error("to", "expected an endpoint URL, got nothing") }
        var route = RouteConfiguration(name: name, source: source, sink: sink)
        if let defaults { try applySettings(defaults, to: &route, formats: formats) }
        try applySettings(fields, to: &route, formats: formats)
        return route
    }

    /// Applies what a route (or the `defaults` block) sets onto `route`, keeping the rest.
    private static func applySettings(
        _ fields: ConfigurationFields, to route: inout RouteConfiguration, formats: EventFormatRegistry
    )
        throws(ConfigurationError)
    {
        if let mode = try fields.choice("format", OutputMode.allCases.map { ($0.rawValue, $0) }) { route.outputMode = mode }
        if let deadLetter = try fields.endpoint("dead_letter", formats: formats) { route.deadLetter = deadLetter }
        try applyNonCloudEvents(fields, to: &route)
        if let statuses = try fields.statuses("successful_on") { route.successfulOn = statuses }
        if let key = try fields.choice("ordering_key", OrderingKey.allCases.map { ($0.rawValue, $0) }) { route.orderingKey = key }
        if let inFlight = try fields.integer("max_in_flight", in: 1...Int.max) { route.maximumInFlight = inFlight }
        if let retry = try fields.fields("retry", keys: retryKeys) { try applyRetry(retry, to: &route.retry) }
        if let buffer = try fields.fields("buffer", keys: bufferKeys) { try applyBuffer(buffer, to: &route.buffer) }
    }

    /// `non_cloudevents` and `wrap`: `wrap` needs a type and a source, and means nothing
    /// with `dead_letter`.
    private static func applyNonCloudEvents(_ fields: ConfigurationFields, to route: inout RouteConfiguration)
        throws(ConfigurationError)
    {
        let wrapping = try fields.choice("non_cloudevents", [("dead_letter", false), ("wrap", true)])
        let wrap = try fields.fields("wrap", keys: ["type", "source"])
        var (type, source): (String?, String?) = (nil, nil)
        if case .wrap(let oldType, let oldSource) = route.nonCloudEvents { (type, source) = (oldType, oldSource) }
        let wraps = wrapping ?? (type != nil)
        guard wraps else {
            if wrap != nil { throw fields.error("wrap", "applies only with non_cloudevents: wrap") }
            route.nonCloudEvents = .deadLetter
            return
        }
        guard let wrap else {
            guard let type, let source else {
                throw fields.error("non_cloudevents", "non_cloudevents: wrap needs a 'wrap' mapping with type and source")
            }
            route.nonCloudEvents = .wrap(type: type, source: source)
            return
        }
        type = try wrap.string("type", expected: "a CloudEvents type") ?? type
        source = try wrap.string("source", expected: "a CloudEvents source (a URI reference)") ?? source
        guard let type else { throw wrap.missing("type", "required when non_cloudevents is wrap") }
        guard let source else { throw wrap.missing("source", "required when non_cloudevents is wrap") }
        route.nonCloudEvents = .wrap(type: type, source: source)
    }

    private static func applyRetry(_ fields: ConfigurationFields, to retry: inout RetryConfiguration) throws(ConfigurationError) {
        if let attempts = try fields.integer("max_attempts", in: 1...Int.max) { retry.maximumAttempts = attempts }
        var backoff = retry.backoff
        if let linear = try fields.choice("backoff", [("exponential", false), ("linear", true)]) {
            switch (linear, backoff.growth) {
            case (true, _): backoff.growth = .linear
            case (false, .linear): backoff.growth = .exponential(multiplier: 2)
            case (false, .exponential): break
            }
        }
        if let initial = try fields.duration("initial_delay") { backoff.initialDelay = initial }
        if let maximum = try fields.duration("max_delay", positive: true) { backoff.maximumDelay = maximum }
        if let multiplier = try fields.number("multiplier", in: 1...1000, expected: "a number from 1 to 1000") {
            guard case .exponential = backoff.growth else {
                throw fields.error("multiplier", "applies only to backoff: exponential")
            }
            backoff.growth = .exponential(multiplier: multiplier)
        }
        if let jitter = try fields.number("jitter", in: 0...1, expected: "a fraction from 0 to 1") { backoff.jitter = jitter }
        guard backoff.maximumDelay >= backoff.initialDelay else {
            let key = fields.node("max_delay") != nil ? "max_delay" : "initial_delay"
            throw fields.error(
                key,
                "max_delay (\(DurationParsing.text(backoff.maximumDelay))) is shorter than initial_delay (\(DurationParsing.text(backoff.initialDelay)))"
            )
        }
        retry.backoff = Backoff(
            initialDelay: backoff.initialDelay, maximumDelay: backoff.maximumDelay, growth: backoff.growth, jitter: backoff.jitter
        )
        if let cap = try fields.duration("max_retry_after") { retry.maximumRetryAfter = cap }
        if let statuses = try fields.statuses("retryable_statuses") { retry.retryableStatuses = statuses }
        if let count = try fields.bool("count_unreachable") { retry.countUnreachable = count }
    }

    private static func applyBuffer(_ fields: ConfigurationFields, to buffer: inout BufferConfiguration)
        throws(ConfigurationError)
    {
        let enabled = try fields.bool("enabled")
        let directory = try fields.string("directory", expected: "a directory path")
        if enabled == false {
            buffer.storage = .memory
        } else if let directory {
            buffer.storage = .durable(directory: directory)
        } else if enabled == true, case .memory = buffer.storage {
            buffer.storage = BufferConfiguration().storage
        }
        if let bytes = try fields.bytes("max_bytes") { buffer.maximumBytes = bytes }
        let policy = try fields.choice("fsync", [("every_event", FsyncName.everyEvent), ("interval", .interval), ("off", .off)])
        let interval = try fields.duration("fsync_interval", positive: true)
        var currentInterval: Duration?
        if case .interval(let old) = buffer.sync { currentInterval = old }
        switch policy {
        case .everyEvent?: buffer.sync = .everyEvent
        case .off?: buffer.sync = .off
        case .interval?: buffer.sync = .interval(currentInterval ?? .milliseconds(200))
        case nil: break
        }
        if let interval {
            guard case .interval = buffer.sync else { throw fields.error("fsync_interval", "applies only with fsync: interval") }
            buffer.sync = .interval(interval)
        }
    }

    private enum FsyncName { case everyEvent, interval, off }

    // MARK: Shared with `ce bridge`

    /// Whether `name` can name a route: letters, digits, `-` and `_` (it names a file too).
    package static func isValidRouteName(_ name: String) -> Bool {
        !name.isEmpty
            && name.unicodeScalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_")
            }
    }

    /// `text` as an endpoint, for a flag: an error names `field` and shows the URL with its
    /// password masked, even when the URL is malformed.
    package static func endpoint(_ text: String, formats: EventFormatRegistry, field: String) throws(ConfigurationError)
        -> Endpoint
    {
        do {
            return try Endpoint(text, formats: formats, allowingPortZero: false)
        } catch {
            let written = Substituted(written: text, value: text, secrets: [])
            throw ConfigurationError(file: "", field: field, message: ConfigurationFields.masked(error.message, for: written))
        }
    }

    /// `host:port` or `[v6]:port` (port 0 to 65535) as an operations address, or `nil`.
    package static func operationsAddress(_ text: String) -> OperationsConfiguration? {
        let host: Substring
        let port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
            guard !host.contains(":") else { return nil }
        }
        guard !host.isEmpty, !host.contains(where: \.isWhitespace), port.allSatisfy(\.isASCII), let number = Int(port),
            (0...65535).contains(number)
        else { return nil }
        return OperationsConfiguration(host: String(host), port: number)
    }

    // MARK: YAML errors

    /// A Yams error as a configuration error at its line, without the snippet of the file
    /// Yams would print (it may hold a password).
    private static func error(_ error: YamlError, reader: ConfigurationReader) -> ConfigurationError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let while_ = context.map { " (\($0.text) at line \($0.mark.line))" } ?? ""
            return reader.error("not valid YAML: \(problem)\(while_)", at: mark, field: "")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = ConfigurationReader.list(duplicates.sorted())
            return reader.error("the key \(keys) appears more than once in this mapping", at: context.mark, field: "")
        case .reader(let problem, _, _, _):
            return reader.error("not valid YAML: \(problem)", at: nil as Mark?, field: "")
        default:
            return reader.error("not valid YAML: \(error)", at: nil as Mark?, field: "")
        }
    }
}
