import CloudEvents
import CloudEventsBridge
import Testing

/// A file whose first route (lines 1 to 4) is valid, with `lines` appended under it (indented
/// as route keys, from line 5), or alone when `route` is false.
private func file(_ lines: String..., route: Bool = true) -> String {
    let head = """
        routes:
          - name: sensors
            from: mqtt://broker:1883/sensors/%23
            to: http://sink:8080/events

        """
    return (route ? head : "") + lines.joined(separator: "\n") + "\n"
}

/// Invalid configuration files: each error names the file, line, column and field, and says
/// what was expected; none shows a password or an environment variable's value.
@Suite("Bridge configuration file errors")
struct BridgeConfigurationFileErrorTests {
    static func error(_ text: String, environment: [String: String] = [:]) throws -> ConfigurationError {
        try #require(throws: ConfigurationError.self) {
            try BridgeConfigurationFile.parse(text, path: "bridge.yaml", formats: .standard, environment: environment)
        }
    }

    @Test(arguments: [
        // Missing required keys: at the start of the mapping that lacks them.
        (
            file("shutdown_timeout: 5s", route: false),
            "bridge.yaml:1:1: routes: required: a list of routes, each with a name, from and to"
        ),
        (file("routes:", "  - name: a", "    to: http://sink:8080/", route: false), "bridge.yaml:2:5: routes[0].from: required"),
        (
            file("routes:", "  - from: memory://a", "    to: memory://b", route: false),
            "bridge.yaml:2:5: routes[0].name: required"
        ),
        (file("routes: []", route: false), "bridge.yaml:1:9: routes: expected a list of at least one route, got a list"),
        // Unknown keys: at the key, naming the known ones (and the likely one).
        (
            file("    retry: { max_attempt: 3 }"),
            "bridge.yaml:5:14: routes[0].retry.max_attempt: unknown key 'max_attempt' (did you mean 'max_attempts'?); known keys: 'max_attempts', 'backoff', 'initial_delay', 'max_delay', 'multiplier', 'jitter', 'max_retry_after', 'retryable_statuses' and 'count_unreachable'"
        ),
        (
            file("version: 2", route: false),
            "bridge.yaml:1:1: version: unknown key 'version'; known keys: 'shutdown_timeout', 'operations', 'defaults' and 'routes'"
        ),
        // Values: at the value.
        (
            file("    retry:", "      max_attempts: many"),
            "bridge.yaml:6:21: routes[0].retry.max_attempts: expected a whole number ≥ 1, got 'many'"
        ),
        (
            file("    retry:", "      max_attempts: 0"),
            "bridge.yaml:6:21: routes[0].retry.max_attempts: expected a whole number ≥ 1, got '0'"
        ),
        (
            file("shutdown_timeout: 10", route: false),
            "bridge.yaml:1:19: shutdown_timeout: expected a duration such as 250ms, 10s, 5m or 1h, got '10'"
        ),
        (
            file("    buffer: { fsync_interval: 0ms }"),
            "bridge.yaml:5:31: routes[0].buffer.fsync_interval: expected a duration such as 250ms, 10s, 5m or 1h, more than zero, got '0ms'"
        ),
        (
            file("    buffer: { max_bytes: 256MB }"),
            "bridge.yaml:5:26: routes[0].buffer.max_bytes: expected a size such as 256MiB (whole bytes, or a whole number of KiB, MiB, GiB or TiB), more than zero, got '256MB'"
        ),
        (file("    format: batch"), "bridge.yaml:5:13: routes[0].format: expected binary, structured or same, got 'batch'"),
        (file("    ordering_key: key"), "bridge.yaml:5:19: routes[0].ordering_key: expected topic, subject or none, got 'key'"),
        (
            file("    successful_on: [200, 42]"),
            "bridge.yaml:5:26: routes[0].successful_on[1]: expected a status code from 100 to 599, got '42'"
        ),
        (file("    retry: { jitter: 2 }"), "bridge.yaml:5:22: routes[0].retry.jitter: expected a fraction from 0 to 1, got '2'"),
        (
            file("    retry: { initial_delay: 5s, max_delay: 1s }"),
            "bridge.yaml:5:44: routes[0].retry.max_delay: max_delay (1 s) is shorter than initial_delay (5 s)"
        ),
        (
            file("    retry: { backoff: linear, multiplier: 3 }"),
            "bridge.yaml:5:43: routes[0].retry.multiplier: applies only to backoff: exponential"
        ),
        (file("    buffer: { enabled: yes }"), "bridge.yaml:5:24: routes[0].buffer.enabled: expected true or false, got 'yes'"),
        (
            file("    buffer: { fsync: off, fsync_interval: 1s }"),
            "bridge.yaml:5:43: routes[0].buffer.fsync_interval: applies only with fsync: interval"
        ),
        (
            file("operations: { listen: 9090 }", route: false),
            "bridge.yaml:1:23: operations.listen: expected host:port, such as 127.0.0.1:9090 ([::1]:9090 for IPv6, port 0 for any free port), got '9090'"
        ),
        (
            file("    retry: 3"),
            "bridge.yaml:5:12: routes[0].retry: expected a mapping with keys 'max_attempts', 'backoff', 'initial_delay', 'max_delay', 'multiplier', 'jitter', 'max_retry_after', 'retryable_statuses' and 'count_unreachable', got '3'"
        ),
        // Endpoints: the endpoint's own error.
        (
            file("routes:", "  - name: a", "    from: mqtt://broker:1883/sensors/#", "    to: http://sink:8080/", route: false),
            "bridge.yaml:3:11: routes[0].from: 'mqtt://broker:1883/sensors/#' is not a valid endpoint: a raw '#' starts a URL fragment; write an MQTT '#' wildcard as %23"
        ),
        (
            file("    dead_letter: http://sink:99999/dead"),
            "bridge.yaml:5:18: routes[0].dead_letter: 'http://sink:99999/dead' is not a valid endpoint: port must be a number from 1 to 65535"
        ),
        // Routes: names.
        (
            file("  - name: sensors", "    from: memory://a", "    to: memory://b"),
            "bridge.yaml:5:11: routes[1].name: route name 'sensors' is already used by routes[0]"
        ),
        (
            file("routes:", "  - name: my route", "    from: memory://a", "    to: memory://b", route: false),
            "bridge.yaml:2:11: routes[0].name: expected a route name of letters, digits, '-' and '_', got 'my route'"
        ),
        // Wrapping needs a type and a source.
        (
            file("    non_cloudevents: wrap", "    wrap: { source: /bridge }"),
            "bridge.yaml:6:11: routes[0].wrap.type: required when non_cloudevents is wrap"
        ),
        (
            file("    non_cloudevents: wrap"),
            "bridge.yaml:5:22: routes[0].non_cloudevents: non_cloudevents: wrap needs a 'wrap' mapping with type and source"
        ),
        (file("    wrap: { type: t, source: /s }"), "bridge.yaml:5:11: routes[0].wrap: applies only with non_cloudevents: wrap"),
        // Defaults are checked at their own line.
        (
            file("defaults:", "  max_in_flight: -1"),
            "bridge.yaml:6:18: defaults.max_in_flight: expected a whole number ≥ 1, got '-1'"
        ),
        // YAML itself.
        (
            file("routes:", "  - name: a", "    name: b", route: false),
            "bridge.yaml:2:5: the key 'name' appears more than once in this mapping"
        ),
        (
            "routes: [\n",
            "bridge.yaml:2:1: not valid YAML: did not find expected node content (while parsing a flow node at line 2)"
        ),
        ("", "bridge.yaml: the file is empty; expected a mapping with 'routes'")
    ])
    func namesFileLineAndField(text: String, expected: String) throws {
        #expect(try Self.error(text).description == expected)
    }

    @Test func errorHasItsPartsApart() throws {
        let error = try Self.error(file("    retry:", "      max_attempts: many"))
        #expect(error.file == "bridge.yaml")
        #expect(error.line == 6)
        #expect(error.column == 21)
        #expect(error.field == "routes[0].retry.max_attempts")
        #expect(error.message == "expected a whole number ≥ 1, got 'many'")
    }

    @Test func missingEnvironmentVariableIsNamed() throws {
        let error = try Self.error(
            file(
                "routes:", "  - name: a", "    from: mqtt://u:${MQTT_PASSWORD}@broker:1883/x", "    to: memory://b", route: false)
        )
        #expect(error.description == "bridge.yaml:3:11: routes[0].from: environment variable 'MQTT_PASSWORD' is not set")
    }

    @Test func unclosedReferenceIsAnError() throws {
        let error = try Self.error(file("    dead_letter: http://sink/${DEAD"))
        #expect(
            error.description
                == "bridge.yaml:5:18: routes[0].dead_letter: '${' is not closed by '}' (write $${ for a literal '${')")
    }

    /// Passwords written in the file, or taken from the environment, never reach the message;
    /// other values from the environment show as their reference.
    @Test(arguments: [
        ("mqtt://bridge:hunter2@broker:0/x", [:], "'mqtt://bridge:***@broker:0/x' is not a valid endpoint: port must be"),
        ("bridge:hunter2@broker:1883/x", [:], "'bridge:***@broker:1883/x' is not a valid endpoint: expected scheme://host"),
        (
            "mqtt://bridge:${PASSWORD}@broker:0/x", ["PASSWORD": "hunter2"],
            "'mqtt://bridge:***@broker:0/x' is not a valid endpoint"
        ),
        ("bridge:${PASSWORD}@broker/x", ["PASSWORD": "hunter2"], "'bridge:***@broker/x' is not a valid endpoint"),
        (
            "http://sink/x?token=${TOKEN}&mode=fast", ["TOKEN": "hunter2"],
            "'http://sink/x?token=${TOKEN}&mode=fast' is not a valid"
        )
    ])
    func secretsNeverAppearInErrors(endpoint: String, environment: [String: String], expected: String) throws {
        let error = try Self.error(
            file("routes:", "  - name: a", "    from: \(endpoint)", "    to: memory://b", route: false),
            environment: environment)
        #expect(!error.description.contains("hunter2"), "\(error)")
        #expect(error.message.contains(expected), "\(error)")
        #expect(error.field == "routes[0].from")
        #expect(error.line == 3)
    }
}
