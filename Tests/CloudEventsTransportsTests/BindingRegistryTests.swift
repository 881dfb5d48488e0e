import CloudEvents
import CloudEventsTransports
import Testing

/// A binding that serves the schemes it is given and opens nothing.
struct StubBinding: EventBinding {
    var name: String
    var schemes: [String]
    var acknowledgement: AcknowledgementGuarantee { .none }
    var endpointOptions: [EndpointOption] { [.mode, .format, EndpointOption("qos", help: "the QoS")] }

    func withSender<Result: Sendable>(
        for endpoint: Endpoint, options: BindingOptions, _ body: (any BoundSender) async throws -> Result
    ) async throws -> Result {
        throw TransportError(.closed, "\(name) opens no sender")
    }

    func withReceiver<Result: Sendable>(
        for endpoint: Endpoint, options: BindingOptions, _ body: (any BoundReceiver) async throws -> Result
    ) async throws -> Result {
        throw TransportError(.closed, "\(name) opens no receiver")
    }
}

@Suite("Binding registry")
struct BindingRegistryTests {
    static func registry() throws -> BindingRegistry {
        try BindingRegistry([InProcessBinding(), StubBinding(name: "Stub", schemes: ["stub", "STUBS"])])
    }

    @Test func looksBindingsUpByScheme() throws {
        let registry = try Self.registry()
        #expect(try registry.binding(for: Endpoint("memory://a")).name == "in-process")
        #expect(try registry.binding(for: Endpoint("stub://host:1/x?qos=1")).name == "Stub")
        #expect(try registry.binding(for: Endpoint("STUBS://host/x")).name == "Stub")
        #expect(registry.schemes == ["memory", "stub", "stubs"])
    }

    @Test func unknownSchemeNamesItAndTheSupportedOnes() throws {
        let error = try #require(throws: BindingRegistryError.self) {
            try Self.registry().binding(for: Endpoint("nats://localhost:4222/x"))
        }
        #expect(error == .unsupportedScheme("nats", supported: ["memory", "stub", "stubs"]))
        #expect(error.description == "scheme 'nats' is not supported (supported: memory, stub, stubs)")
    }

    @Test func unknownSchemeFailsTheScopedHelpersToo() async throws {
        await #expect(throws: BindingRegistryError.self) {
            try await Self.registry().withReceiver(for: Endpoint("amqp://h/q"), options: BindingOptions()) { _ in }
        }
    }

    @Test func duplicateSchemesAreRefused() throws {
        let error = try #require(throws: BindingRegistryError.self) {
            try BindingRegistry([StubBinding(name: "A", schemes: ["x", "y"]), StubBinding(name: "B", schemes: ["Y"])])
        }
        #expect(error == .duplicateScheme("y", bindings: ["A", "B"]))
        #expect(error.description == "scheme 'y' is served by two bindings: A and B")
    }

    @Test func optionsABindingDoesNotReadAreRefused() throws {
        let registry = try Self.registry()
        let error = try #require(throws: BindingRegistryError.self) {
            try registry.binding(for: Endpoint("memory://a?mode=binary&qos=1"))
        }
        #expect(error == .unknownOption("qos", endpoint: "memory://a?mode=binary&qos=1", known: ["format", "mode"]))
        #expect(try registry.binding(for: Endpoint("stub://h/x?qos=1")).name == "Stub")
    }

    @Test(arguments: [
        (BindingOptions(timeout: .zero), "the timeout must be positive"),
        (BindingOptions(retries: -1), "retries must not be negative")
    ])
    func invalidOptionsAreRefusedBeforeTheBindingRuns(options: BindingOptions, mentions: String) async throws {
        let error = try await #require(throws: TransportError.self) {
            try await Self.registry().withSender(for: Endpoint("memory://options"), options: options) { _ in }
        }
        #expect(error.code == .invalidEndpoint)
        #expect(error.message.contains(mentions), "\(error)")
    }

    @Test func sendersRefusePortZero() async throws {
        let endpoint = try Endpoint("stub://host:0/x", allowingPortZero: true)
        let error = try await #require(throws: TransportError.self) {
            try await Self.registry().withSender(for: endpoint, options: BindingOptions()) { _ in }
        }
        #expect(error.code == .invalidEndpoint)
        #expect(error.message.contains("port 0"), "\(error)")
    }

    @Test func theFormatComesFromTheOptionsFormats() throws {
        let options = BindingOptions()
        #expect(try options.format(for: Endpoint("memory://f")).name == "json")
        #expect(try options.format(for: Endpoint("memory://f?format=JSON")).name == "json")
        var endpoint = try Endpoint("memory://f")
        endpoint.options.append(("format", "avro"))
        let error = try #require(throws: TransportError.self) { try options.format(for: endpoint) }
        #expect(error.code == .invalidEndpoint)
        #expect(error.message.contains("format 'avro' is not available (available: json)"), "\(error)")
    }
}
