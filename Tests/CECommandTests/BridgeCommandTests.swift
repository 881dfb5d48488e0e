import ArgumentParser
import CloudEvents
import CloudEventsBridge
import CloudEventsTransports
import Foundation
import Testing

@testable import ce

/// `ce bridge`'s options and how they merge with a configuration file (without running a
/// bridge), and its invalid-input exits as a subprocess.
@Suite("ce bridge")
struct BridgeCommandTests {
    /// A configuration file in a fresh directory, removed by `body`'s end.
    static func withFile<Result>(_ text: String, _ body: (String) throws -> Result) throws -> Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ce-bridge-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("bridge.yaml").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return try body(path)
    }

    /// ``withFile(_:_:)`` for a body that awaits (runs `ce`).
    static func withConfigurationFile<Result>(_ text: String, _ body: (String) async throws -> Result) async throws -> Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ce-bridge-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("bridge.yaml").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return try await body(path)
    }

    static func configuration(_ arguments: [String], environment: [String: String] = [:]) throws -> BridgeConfiguration {
        try BridgeCommand.parse(arguments).configuration(environment: environment)
    }

    static func error(_ arguments: [String]) throws -> ConfigurationError {
        try #require(throws: ConfigurationError.self) { try configuration(arguments) }
    }

    static let twoRoutes = """
        shutdown_timeout: 30s
        routes:
          - name: sensors
            from: mqtt://broker:1883/sensors/%23
            to: http://sink:8080/events
            format: structured
            retry: { max_attempts: 3 }
            buffer: { directory: /data, fsync: off }
          - name: audit
            from: mqtt://broker:1883/audit
            to: http://sink:8080/audit
        """

    @Test func flagsAloneMakeOneRouteNamedDefault() throws {
        let configuration = try Self.configuration([
            "--from", "mqtt://broker:1883/sensors/%23?version=5&qos=1", "--to", "http://sink:8080/events", "--format", "binary",
            "--dead-letter", "http://sink:8080/dead", "--buffer-dir", "/tmp/buf", "--max-buffer-bytes", "64MiB", "--fsync",
            "every-event", "--max-in-flight", "4", "--max-attempts", "2", "--ordering-key", "subject", "--wrap-type", "raw",
            "--wrap-source", "/bridge", "--metrics-listen", "127.0.0.1:0", "--shutdown-timeout", "2s"
        ])
        #expect(configuration.shutdownTimeout == .seconds(2))
        #expect(configuration.operations == OperationsConfiguration(host: "127.0.0.1", port: 0))
        try #require(configuration.routes.count == 1)
        let route = configuration.routes[0]
        #expect(route.name == "default")
        #expect(route.source == (try Endpoint("mqtt://broker:1883/sensors/%23?version=5&qos=1")))
        #expect(route.sink == (try Endpoint("http://sink:8080/events")))
        #expect(route.deadLetter == (try Endpoint("http://sink:8080/dead")))
        #expect(route.outputMode == .binary)
        #expect(
            route.buffer
                == BufferConfiguration(storage: .durable(directory: "/tmp/buf"), maximumBytes: 64 << 20, sync: .everyEvent))
        #expect(route.maximumInFlight == 4)
        #expect(route.retry.maximumAttempts == 2)
        #expect(route.orderingKey == .subject)
        #expect(route.nonCloudEvents == .wrap(type: "raw", source: "/bridge"))
    }

    @Test func routeNamesTheFlagsOnlyRoute() throws {
        let configuration = try Self.configuration(["--from", "memory://a", "--to", "memory://b", "--route", "r-1", "--no-buffer"]
        )
        #expect(configuration.routes.map(\.name) == ["r-1"])
        #expect(configuration.routes[0].buffer.storage == .memory)
        #expect(configuration.routes[0].retry == RetryConfiguration())
    }

    @Test func flagsOverrideTheFileForEveryRoute() throws {
        let configuration = try Self.withFile(Self.twoRoutes) { path in
            try Self.configuration(["--config", path, "--max-attempts", "9", "--fsync-interval", "50ms", "--format", "same"])
        }
        #expect(configuration.shutdownTimeout == .seconds(30))
        #expect(configuration.routes.map(\.name) == ["sensors", "audit"])
        for route in configuration.routes {
            #expect(route.retry.maximumAttempts == 9)
            #expect(route.buffer.sync == .interval(.milliseconds(50)))
            #expect(route.outputMode == .same)
        }
        #expect(configuration.routes[0].buffer.storage == .durable(directory: "/data"))
    }

    @Test func routeLimitsTheOverridesToOneRouteAndFromReplacesItsSource() throws {
        let configuration = try Self.withFile(Self.twoRoutes) { path in
            try Self.configuration([
                "--config", path, "--route", "audit", "--from", "mqtt://other:1883/audit", "--max-attempts", "9"
            ])
        }
        let (sensors, audit) = (configuration.routes[0], configuration.routes[1])
        #expect(sensors.retry.maximumAttempts == 3)
        #expect(sensors.source == (try Endpoint("mqtt://broker:1883/sensors/%23")))
        #expect(audit.retry.maximumAttempts == 9)
        #expect(audit.source == (try Endpoint("mqtt://other:1883/audit")))
        #expect(audit.sink == (try Endpoint("http://sink:8080/audit")))
    }

    @Test func fileErrorsKeepTheirFileLineAndField() throws {
        let error = try Self.withFile("routes:\n  - name: a\n    from: memory://a\n    to: memory://b\n    max_in_flight: lots\n")
        { path in
            try Self.error(["--config", path])
        }
        #expect(error.line == 5)
        #expect(error.field == "routes[0].max_in_flight")
        #expect(error.description.hasSuffix("bridge.yaml:5:20: routes[0].max_in_flight: expected a whole number ≥ 1, got 'lots'"))
    }

    @Test(arguments: [
        (["--to", "memory://b"], "--from: required without --config"),
        (["--from", "memory://a"], "--to: required without --config"),
        (
            ["--from", "memory://a", "--to", "memory://b", "--route", "a b"],
            "--route: expected a route name of letters, digits, '-' and '_', got 'a b'"
        ),
        (
            ["--from", "memory://a", "--to", "memory://b", "--no-buffer", "--buffer-dir", "/x"],
            "--no-buffer: --no-buffer and --buffer-dir contradict each other"
        ),
        (
            ["--from", "memory://a", "--to", "memory://b", "--fsync", "off", "--fsync-interval", "1s"],
            "--fsync-interval: applies only with --fsync interval"
        ),
        (
            ["--from", "memory://a", "--to", "memory://b", "--fsync-interval", "0s"],
            "--fsync-interval: expected a duration such as 250ms, 10s, 5m or 1h, more than zero, got '0s'"
        ),
        (
            ["--from", "memory://a", "--to", "memory://b", "--shutdown-timeout", "10"],
            "--shutdown-timeout: expected a duration such as 250ms, 10s, 5m or 1h, got '10'"
        ),
        (
            ["--from", "memory://a", "--to", "memory://b", "--max-buffer-bytes", "1GB"],
            "--max-buffer-bytes: expected a size such as 256MiB (whole bytes, or a whole number of KiB, MiB, GiB or TiB), more than zero, got '1GB'"
        ),
        (
            ["--from", "memory://a", "--to", "memory://b", "--max-in-flight", "0"],
            "--max-in-flight: expected a whole number ≥ 1, got 0"
        ),
        (
            ["--from", "memory://a", "--to", "memory://b", "--max-attempts", "0"],
            "--max-attempts: expected a whole number ≥ 1, got 0"
        ),
        (
            ["--from", "memory://a", "--to", "memory://b", "--wrap-type", "t"],
            "--wrap-source: --wrap-type and --wrap-source go together (route 'default' does not wrap already)"
        ),
        (
            ["--from", "memory://a", "--to", "memory://b", "--metrics-listen", "9090"],
            "--metrics-listen: expected HOST:PORT, such as 127.0.0.1:9090, got '9090'"
        ),
        (
            ["--from", "mqtt://u:hunter2@broker:0/x", "--to", "memory://b"],
            "--from: 'mqtt://u:***@broker:0/x' is not a valid endpoint: port must be a number from 1 to 65535"
        ),
        (
            ["--from", "memory://a", "--to", "u:hunter2@sink/x"],
            "--to: 'u:***@sink/x' is not a valid endpoint: expected scheme://host"
        )
    ])
    func invalidFlagsNameTheFlag(arguments: [String], expected: String) throws {
        #expect(try Self.error(arguments).description == expected)
    }

    @Test func fromWithSeveralRoutesNeedsRoute() throws {
        let error = try Self.withFile(Self.twoRoutes) { path in try Self.error(["--config", path, "--to", "memory://b"]) }
        #expect(error.field == "--to")
        #expect(error.message.hasSuffix("has 2 routes: name the one to change with --route"), "\(error)")
    }

    @Test func unknownRouteListsTheFilesRoutes() throws {
        let error = try Self.withFile(Self.twoRoutes) { path in try Self.error(["--config", path, "--route", "nope"]) }
        #expect(error.field == "--route")
        #expect(error.message.hasSuffix("has no route named 'nope' (its routes: sensors, audit)"), "\(error)")
    }

    @Test func summaryMasksThePasswordAndNamesTheGuarantee() throws {
        var route = RouteConfiguration(
            name: "sensors", source: try Endpoint("mqtt://bridge:hunter2@broker:1883/sensors/%23?qos=1"),
            sink: try Endpoint("http://sink:8080/events"))
        route.outputMode = .binary
        route.buffer = BufferConfiguration(storage: .durable(directory: "/data"), sync: .interval(.milliseconds(200)))
        #expect(
            BridgeCommand.summary(of: route, acknowledgement: "broker before consumer")
                == "route sensors: mqtt://bridge:***@broker:1883/sensors/%23?qos=1 → http://sink:8080/events (binary), buffer durable at /data, at most 256 MiB (fsync every 200 ms), acknowledgement: broker before consumer"
        )
        route.buffer.storage = .memory
        route.deadLetter = try Endpoint("http://sink:8080/dead")
        #expect(
            BridgeCommand.summary(of: route, acknowledgement: nil)
                == "route sensors: mqtt://bridge:***@broker:1883/sensors/%23?qos=1 → http://sink:8080/events (binary), dead letters → http://sink:8080/dead, buffer in memory only, at most 256 MiB (lost if the bridge stops or crashes)"
        )
    }

    // MARK: As a subprocess

    @Test func invalidFileExitsOneWithOneLine() async throws {
        let run = try await Self.withConfigurationFile(
            "routes:\n  - name: a\n    from: mqtt://u:${CE_TEST_UNSET_PASSWORD}@broker:0/x\n    to: memory://b\n"
        ) { path in
            try await CE.run(["bridge", "--config", path])
        }
        #expect(run.status == 1, "\(run)")
        #expect(run.errorLines.count == 1, "\(run.stderr)")
        #expect(
            run.stderr.contains("bridge.yaml:3:11: routes[0].from: environment variable 'CE_TEST_UNSET_PASSWORD' is not set"),
            "\(run.stderr)")
    }

    @Test func unsupportedSchemeExitsOne() async throws {
        let run = try await CE.run("bridge", "--from", "kafka://broker:9092/x", "--to", "memory://b", "--no-buffer")
        #expect(run.status == 1, "\(run)")
        #expect(run.stderr.contains("kafka"), "\(run.stderr)")
    }
}
