import CloudEvents
import Testing

/// `Endpoint` printed back as a URL, format names from a registry, port 0 for listeners.
@Suite("Endpoint URLs")
struct EndpointURLTests {
    @Test(arguments: [
        "memory://demo",
        "memory://demo?mode=structured&format=json",
        "http://localhost:8080/hooks/ce?mode=batch&token=a%26b%3Dc%20d",
        "https://127.0.0.1/",
        "mqtts://user:p%40ss%3Aw@broker.example:8883/sensors/%23?version=5&qos=1",
        "mqtt://[::1]:1883/$share/group/a/+",
        "nats://127.0.0.1:4222/orders.%3E?flag",
        "mqtt://u%20ser@h/t?clientid=%E2%82%AC%2B1"
    ])
    func parsePrintParseGivesAnEqualEndpoint(text: String) throws {
        let endpoint = try Endpoint(text)
        let printed = endpoint.url(maskingPassword: false)
        let reparsed = try Endpoint(printed)
        #expect(reparsed == endpoint, "\(text) printed as \(printed)")
        #expect(reparsed.user == endpoint.user && reparsed.password == endpoint.password)
        #expect(reparsed.path == endpoint.path)
    }

    @Test func valuesAreEncodedWhereNeeded() throws {
        var endpoint = try Endpoint("http://h:1/p")
        endpoint.options.append(("q", "a&b=c #%+"))
        endpoint.user = "me:you"
        endpoint.password = "p@ss"
        let printed = endpoint.url(maskingPassword: false)
        #expect(printed == "http://me%3Ayou:p%40ss@h:1/p?q=a%26b%3Dc%20%23%25%2B")
        #expect(try Endpoint(printed) == endpoint)
    }

    @Test func thePasswordIsMaskedByDefault() throws {
        let endpoint = try Endpoint("mqtt://user:secret@h:1883/t")
        #expect(endpoint.url() == "mqtt://user:***@h:1883/t")
        #expect(!endpoint.url().contains("secret"))
        #expect(endpoint.url(maskingPassword: false) == "mqtt://user:secret@h:1883/t")
    }

    @Test func formatNamesComeFromTheRegistry() throws {
        #expect(throws: TransportError.self) { try Endpoint("memory://x?format=protobuf") }
        let registry = EventFormatRegistry.standard.adding(NamedFormat(name: "protobuf"))
        #expect(try Endpoint("memory://x?format=protobuf", formats: registry).formatName == "protobuf")
        let error = try #require(throws: TransportError.self) { try Endpoint("memory://x?format=xml", formats: registry) }
        #expect(error.message.contains("format must be json or protobuf, got 'xml'"), "\(error)")
    }

    @Test func portZeroOnlyForListeners() throws {
        #expect(throws: TransportError.self) { try Endpoint("http://127.0.0.1:0/x") }
        let listening = try Endpoint("http://127.0.0.1:0/x", allowingPortZero: true)
        #expect(listening.port == 0)
        let bound = listening.withPort(41234)
        #expect(bound.port == 41234)
        #expect(bound.description == "http://127.0.0.1:41234/x")
        #expect(try Endpoint(bound.url()) == bound)
        #expect(throws: TransportError.self) { try Endpoint("http://127.0.0.1:65536/x", allowingPortZero: true) }
    }

    /// NATS reads a user info without a password as a token: a secret like a password.
    @Test func aNATSTokenIsMaskedLikeAPassword() throws {
        let endpoint = try Endpoint("NATS://s3cr3t@h:4222/orders?queue=g")
        #expect(endpoint.description == "NATS://***@h:4222/orders?queue=g")
        #expect(endpoint.url() == "nats://***@h:4222/orders?queue=g")
        #expect(endpoint.url(maskingPassword: false) == "nats://s3cr3t@h:4222/orders?queue=g")
        #expect(try Endpoint("natss://u:p@h/x").description == "natss://u:***@h/x")
        // Elsewhere a user alone is a name, not a secret.
        #expect(try Endpoint("mqtt://alice@h:1883/t").description == "mqtt://alice@h:1883/t")
    }

    @Test func withPortMasksThePasswordInItsDescription() throws {
        let bound = try Endpoint("http://u:secret@[::1]:0/x", allowingPortZero: true).withPort(8080)
        #expect(bound.description == "http://u:***@[::1]:8080/x")
        #expect(bound.password == "secret")
    }
}

/// A format that is only a name, for registries in tests.
struct NamedFormat: EventFormat {
    var name: String
    var mediaType: String { "application/cloudevents+\(name)" }
    var batchMediaType: String? { nil }

    func encode(_ event: CloudEvent, into output: inout [UInt8]) throws(EventFormatError) {
        throw EventFormatError(.malformed("\(name) encodes nothing"))
    }

    func decode(_ bytes: UnsafeRawBufferPointer) throws(EventFormatError) -> CloudEvent {
        throw EventFormatError(.malformed("\(name) decodes nothing"))
    }

    func encodeBatch(_ events: [CloudEvent], into output: inout [UInt8]) throws(EventFormatError) {
        throw EventFormatError(.malformed("\(name) encodes nothing"))
    }

    func decodeBatch(_ bytes: UnsafeRawBufferPointer) throws(EventFormatError) -> [CloudEvent] {
        throw EventFormatError(.malformed("\(name) decodes nothing"))
    }
}
