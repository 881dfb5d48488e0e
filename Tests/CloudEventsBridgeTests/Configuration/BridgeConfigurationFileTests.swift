import CloudEvents
import CloudEventsBridge
import Foundation
import Testing

/// Valid configuration files, read into the exact configuration they describe.
@Suite("Bridge configuration file")
struct BridgeConfigurationFileTests {
    static func parse(_ text: String, environment: [String: String] = [:]) throws -> BridgeConfiguration {
        try BridgeConfigurationFile.parse(text, path: "bridge.yaml", formats: .standard, environment: environment)
    }

    static let fullFile = """
        shutdown_timeout: 1m30s
        operations:
          listen: 0.0.0.0:9090
        routes:
          - name: sensors
            from: mqtt://bridge:${MQTT_PASSWORD}@broker:1883/sensors/%23?version=5&qos=1
            to: http://sink:8080/events?format=json
            format: structured
            dead_letter: http://sink:8080/dead
            non_cloudevents: wrap
            wrap: { type: com.example.raw, source: /bridge/sensors }
            successful_on: [400, 422]
            ordering_key: subject
            max_in_flight: 16
            retry:
              max_attempts: 5
              backoff: exponential
              initial_delay: 100ms
              max_delay: 10s
              multiplier: 3
              jitter: 0.5
              max_retry_after: 2m
              retryable_statuses: [429, 503]
              count_unreachable: true
            buffer:
              enabled: true
              directory: /var/lib/ce-bridge
              max_bytes: 64MiB
              fsync: interval
              fsync_interval: 50ms
          - name: audit_2
            from: memory://audit
            to: http://[::1]:8081/audit
            buffer:
              enabled: false
              fsync: every_event
        """

    @Test func fullFileGivesEveryFieldItSets() throws {
        let configuration = try Self.parse(Self.fullFile, environment: ["MQTT_PASSWORD": "s3cret"])
        #expect(configuration.shutdownTimeout == .seconds(90))
        #expect(configuration.operations == OperationsConfiguration(host: "0.0.0.0", port: 9090))
        try #require(configuration.routes.count == 2)

        let sensors = configuration.routes[0]
        #expect(sensors.name == "sensors")
        #expect(sensors.source == (try Endpoint("mqtt://bridge:s3cret@broker:1883/sensors/%23?version=5&qos=1")))
        #expect(sensors.source.password == "s3cret")
        #expect(sensors.sink == (try Endpoint("http://sink:8080/events?format=json")))
        #expect(sensors.deadLetter == (try Endpoint("http://sink:8080/dead")))
        #expect(sensors.outputMode == .structured)
        #expect(sensors.nonCloudEvents == .wrap(type: "com.example.raw", source: "/bridge/sensors"))
        #expect(sensors.successfulOn == [400, 422])
        #expect(sensors.orderingKey == .subject)
        #expect(sensors.maximumInFlight == 16)
        #expect(
            sensors.retry
                == RetryConfiguration(
                    maximumAttempts: 5,
                    backoff: .exponential(initial: .milliseconds(100), maximum: .seconds(10), multiplier: 3, jitter: 0.5),
                    maximumRetryAfter: .seconds(120), retryableStatuses: [429, 503], countUnreachable: true))
        #expect(
            sensors.buffer
                == BufferConfiguration(
                    storage: .durable(directory: "/var/lib/ce-bridge"), maximumBytes: 64 << 20, sync: .interval(.milliseconds(50))
                ))

        let audit = configuration.routes[1]
        #expect(audit.name == "audit_2")
        #expect(audit.sink.host == "::1")
        #expect(audit.deadLetter == nil)
        #expect(audit.buffer == BufferConfiguration(storage: .memory, sync: .everyEvent))
    }

    @Test func minimalRouteHasTheDocumentedDefaults() throws {
        let configuration = try Self.parse(
            """
            routes:
              - name: a
                from: mqtt://broker:1883/a
                to: http://sink:8080/
            """)
        #expect(configuration.shutdownTimeout == .seconds(10))
        #expect(configuration.operations == nil)
        let route = try #require(configuration.routes.first)
        let defaults = RouteConfiguration(name: "a", source: try Endpoint("memory://x"), sink: try Endpoint("memory://y"))
        #expect(route.outputMode == defaults.outputMode)
        #expect(route.nonCloudEvents == .deadLetter)
        #expect(route.retry == RetryConfiguration())
        #expect(route.buffer == BufferConfiguration())
        #expect(route.orderingKey == .topic)
        #expect(route.maximumInFlight == 64)
        #expect(route.successfulOn.isEmpty)
    }

    @Test func defaultsApplyUnderEveryRouteAndRoutesOverrideThem() throws {
        let configuration = try Self.parse(
            """
            defaults:
              format: binary
              dead_letter: http://sink:8080/dead
              retry: { max_attempts: 3, backoff: linear, initial_delay: 1s, max_delay: 5s }
              buffer: { directory: /data, fsync: off }
            routes:
              - name: a
                from: memory://a
                to: http://sink:8080/a
              - name: b
                from: memory://b
                to: http://sink:8080/b
                format: same
                dead_letter: ~
                retry: { max_attempts: 9, jitter: 0 }
                buffer: { fsync: interval }
            """)
        let (a, b) = (configuration.routes[0], configuration.routes[1])
        #expect(a.outputMode == .binary)
        #expect(a.deadLetter == (try Endpoint("http://sink:8080/dead")))
        #expect(a.retry.maximumAttempts == 3)
        #expect(a.retry.backoff == .linear(step: .seconds(1), maximum: .seconds(5), jitter: 0.2))
        #expect(a.buffer == BufferConfiguration(storage: .durable(directory: "/data"), sync: .off))
        #expect(b.outputMode == .same)
        #expect(b.deadLetter == nil)
        #expect(b.retry.maximumAttempts == 9)
        #expect(b.retry.backoff == .linear(step: .seconds(1), maximum: .seconds(5), jitter: 0))
        #expect(b.buffer == BufferConfiguration(storage: .durable(directory: "/data"), sync: .interval(.milliseconds(200))))
    }

    @Test func environmentReferencesResolveAnywhereInAValue() throws {
        let configuration = try Self.parse(
            """
            shutdown_timeout: ${STOP}
            routes:
              - name: a
                from: mqtt://${HOST}:1883/$share/g/x
                to: http://sink:8080/${PATH_PART}/events
                max_in_flight: ${IN_FLIGHT}
                non_cloudevents: wrap
                wrap: { type: "$${literal}", source: /s }
            """, environment: ["STOP": "2s", "HOST": "broker.local", "PATH_PART": "v1", "IN_FLIGHT": "8"])
        let route = try #require(configuration.routes.first)
        #expect(configuration.shutdownTimeout == .seconds(2))
        #expect(route.source.host == "broker.local")
        #expect(route.source.path == "$share/g/x")
        #expect(route.sink.rawPath == "/v1/events")
        #expect(route.maximumInFlight == 8)
        #expect(route.nonCloudEvents == .wrap(type: "${literal}", source: "/s"))
    }

    @Test func wrapSetInDefaultsCarriesToRoutes() throws {
        let configuration = try Self.parse(
            """
            defaults:
              non_cloudevents: wrap
              wrap: { type: t, source: /s }
            routes:
              - { name: a, from: memory://a, to: memory://b, wrap: { source: /a } }
              - { name: b, from: memory://a, to: memory://b, non_cloudevents: dead_letter }
            """)
        #expect(configuration.routes[0].nonCloudEvents == .wrap(type: "t", source: "/a"))
        #expect(configuration.routes[1].nonCloudEvents == .deadLetter)
    }

    /// The complete file of the catalog's "The configuration file" article parses, so that the
    /// documentation cannot drift from the schema.
    @Test func documentedExampleParses() throws {
        let article = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../../Sources/CloudEventsBridge/Documentation.docc/ConfigurationFile.md")
        let text = try String(contentsOf: article, encoding: .utf8)
        let start = try #require(text.range(of: "```yaml\n"))
        let end = try #require(text.range(of: "```", range: start.upperBound..<text.endIndex))
        let configuration = try Self.parse(String(text[start.upperBound..<end.lowerBound]), environment: ["MQTT_PASSWORD": "pw"])
        #expect(configuration.routes.map(\.name) == ["sensors", "audit"])
        #expect(configuration.routes[1].deadLetter == (try Endpoint("http://sink:8080/dead")))
        #expect(configuration.routes[1].buffer.storage == .durable(directory: "/var/lib/ce-bridge"))
        #expect(configuration.routes[0].nonCloudEvents == .wrap(type: "com.example.raw", source: "/bridge/sensors"))
    }

    @Test func loadReadsTheFileAndNamesItInErrors() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bridge-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("bridge.yaml")
        try Data("routes:\n  - { name: a, from: memory://a, to: memory://b }\n".utf8).write(to: file)
        let configuration = try BridgeConfigurationFile.load(path: file.path, formats: .standard, environment: [:])
        #expect(configuration.routes.map(\.name) == ["a"])

        let missing = directory.appendingPathComponent("absent.yaml").path
        let error = try #require(throws: ConfigurationError.self) {
            try BridgeConfigurationFile.load(path: missing, formats: .standard, environment: [:])
        }
        #expect(error.file == missing)
        #expect(error.line == nil)
        #expect(error.description.hasPrefix("\(missing): cannot read the file"), "\(error)")
    }
}
