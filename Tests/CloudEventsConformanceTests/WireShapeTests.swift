import CloudEvents
import CloudEventsMQTT
import CloudEventsTestSupport
import CloudEventsTransports
import Foundation
import Testing

@testable import CloudEventsConformance

/// The wire-shape rules on handcrafted raw messages, good and bad, and the runner's wire
/// cells failing for a binding that writes the wrong names while its round trip passes.
@Suite("Wire shape")
struct WireShapeTests {
    static let event = CloudEvent(
        id: "1", source: "/s", type: "t", dataContentType: "text/plain", subject: "Euro € 😀",
        extensions: ["count": .integer(3)], data: .text("hi"))

    static func httpBinary(_ headers: [RawHTTPHeader], body: String = "hi") -> RawWireMessage {
        .http(RawHTTPRequest(headers: headers, body: Array(body.utf8)))
    }

    static let goodHeaders = [
        RawHTTPHeader("Content-Type", "text/plain"), RawHTTPHeader("ce-specversion", "1.0"), RawHTTPHeader("ce-id", "1"),
        RawHTTPHeader("CE-Source", "/s"), RawHTTPHeader("ce-type", "t"),
        RawHTTPHeader("ce-subject", "Euro%20%E2%82%AC%20%F0%9F%98%80"), RawHTTPHeader("ce-count", "3")
    ]

    static func violations(_ message: RawWireMessage, mode: ContentMode = .binary, format: (any EventFormat)? = nil)
        -> [String]
    {
        WireShape.violations(of: message, event: event, mode: mode, format: format).map(\.description)
    }

    @Test func aGoodHTTPBinaryRequestHasNoViolations() {
        #expect(Self.violations(Self.httpBinary(Self.goodHeaders)) == [])
    }

    @Test func anUnderscorePrefixIsNamedWithItsRule() {
        var headers = Self.goodHeaders
        headers[2] = RawHTTPHeader("ce_id", "1")
        let found = Self.violations(Self.httpBinary(headers))
        #expect(found.contains { $0.hasPrefix("header 'ce_id': attribute headers are named 'ce-'") }, "\(found)")
        #expect(found.contains { $0.hasPrefix("header 'ce-id': missing") }, "\(found)")
    }

    @Test func datacontenttypeAsAHeaderAndAWrongContentTypeAreViolations() {
        var headers = Self.goodHeaders
        headers[0] = RawHTTPHeader("Content-Type", "text/plain; charset=utf-8")
        headers.append(RawHTTPHeader("ce-datacontenttype", "text/plain"))
        let found = Self.violations(Self.httpBinary(headers, body: "hi!"))
        #expect(found.contains { $0.hasPrefix("header 'ce-datacontenttype': must not be sent") }, "\(found)")
        #expect(found.contains { $0.hasPrefix("Content-Type: must be datacontenttype 'text/plain' exactly") }, "\(found)")
        #expect(found.contains { $0.hasPrefix("body: must be the data bytes unchanged") }, "\(found)")
    }

    @Test(arguments: [
        ("Euro € 😀", "raw byte 0x20 must be percent-encoded"),
        ("Euro%20%e2%82%ac%20%F0%9F%98%80", "percent-encoding: '%e2' is not '%' and two uppercase hex digits"),
        ("Euro%20%E2%82%AC%20%F0%9F%98%8", "percent-encoding: '%8' is not"),
        ("%C0%A0", "percent-encoding: the decoded bytes are not valid UTF-8"),
        ("\"Euro%20%E2%82%AC%20%F0%9F%98%80\"", "raw byte 0x22 must be percent-encoded"),
        ("Euro%2520", "decodes to 'Euro%20', not the canonical string")
    ])
    func badlyEncodedHeaderValuesAreViolations(value: String, rule: String) {
        var headers = Self.goodHeaders
        headers[5] = RawHTTPHeader("ce-subject", value)
        let found = Self.violations(Self.httpBinary(headers))
        #expect(found.contains { $0.hasPrefix("header 'ce-subject': \(rule)") }, "\(found)")
    }

    @Test func httpStructuredNeedsTheMediaTypeAndNoCEHeaders() throws {
        let body = try JSONEventFormat().encode(Self.event)
        let good = RawHTTPRequest(
            headers: [RawHTTPHeader("Content-Type", "application/cloudevents+json; charset=UTF-8")], body: body)
        #expect(Self.violations(.http(good), mode: .structured, format: JSONEventFormat()) == [])
        let bad = RawHTTPRequest(
            headers: [RawHTTPHeader("Content-Type", "application/json"), RawHTTPHeader("ce-id", "1")], body: body)
        let found = Self.violations(.http(bad), mode: .structured, format: JSONEventFormat())
        #expect(
            found == [
                "Content-Type: must be the format's media type 'application/cloudevents+json', was 'application/json'",
                "header 'ce-id': no ce- headers in structured mode: the body carries the event"
            ], "\(found)")
        let batch = RawHTTPRequest(
            headers: [RawHTTPHeader("Content-Type", "application/cloudevents-batch+json")], body: [0x5B] + body + [0x5D])
        #expect(Self.violations(.http(batch), mode: .batch, format: JSONEventFormat()) == [])
        #expect(!Self.violations(.http(good), mode: .batch, format: JSONEventFormat()).isEmpty)
    }

    static let goodProperties: [RawMQTTProperty] = [
        .contentType("text/plain"), .userProperty(name: "specversion", value: "1.0"), .userProperty(name: "id", value: "1"),
        .userProperty(name: "source", value: "/s"), .userProperty(name: "type", value: "t"),
        .userProperty(name: "subject", value: "Euro € 😀"), .userProperty(name: "count", value: "3")
    ]

    @Test func aGoodMQTT5BinaryPublishHasNoViolations() {
        let publish = RawMQTTPublish(topic: "t", properties: Self.goodProperties, payload: Array("hi".utf8))
        #expect(Self.violations(.mqtt(publish)) == [])
    }

    @Test func prefixedUserPropertiesAndAMissingContentTypeAreViolations() {
        var properties = Self.goodProperties
        properties[0] = .payloadFormatIndicator(1)
        properties[2] = .userProperty(name: "ce-id", value: "1")
        properties[4] = .userProperty(name: "ce_type", value: "t")
        let found = Self.violations(.mqtt(RawMQTTPublish(topic: "t", properties: properties, payload: Array("hi".utf8))))
        #expect(
            found.contains { $0.hasPrefix("user property 'ce-id': MQTT user properties are named the attribute name unchanged") })
        #expect(found.contains { $0.hasPrefix("user property 'ce_type': MQTT user properties are named") }, "\(found)")
        #expect(found.contains { $0.hasPrefix("user property 'id': missing") }, "\(found)")
        #expect(found.contains { $0.hasPrefix("Content Type property: must be datacontenttype 'text/plain'") }, "\(found)")
    }

    @Test func mqttStructuredAndMQTT311Shapes() throws {
        let body = try JSONEventFormat().encode(Self.event)
        let good = RawMQTTPublish(topic: "t", properties: [.contentType("application/cloudevents+json")], payload: body)
        #expect(Self.violations(.mqtt(good), mode: .structured, format: JSONEventFormat()) == [])
        let copied = RawMQTTPublish(
            topic: "t", properties: [.contentType("application/cloudevents+json"), .userProperty(name: "id", value: "1")],
            payload: body)
        #expect(
            Self.violations(.mqtt(copied), mode: .structured, format: JSONEventFormat()) == [
                "user property 'id': no attribute user properties in structured mode: the payload carries the event"
            ])
        let v311 = RawMQTTPublish(topic: "t", payload: body, version: .v311)
        #expect(Self.violations(.mqtt(v311), mode: .structured, format: JSONEventFormat()) == [])
        let notJSON = RawMQTTPublish(topic: "t", payload: Array("hi".utf8), version: .v311)
        #expect(
            Self.violations(.mqtt(notJSON), mode: .structured, format: JSONEventFormat()) == [
                "payload: a structured JSON body must be a JSON object"
            ])
    }

    /// The runner recognises a late message by the id it names, in every shape.
    @Test func theEventIDIsReadFromEveryShape() throws {
        #expect(WireShape.eventID(of: Self.httpBinary([RawHTTPHeader("CE-Id", "a%20b")])) == "a b")
        #expect(WireShape.eventID(of: .mqtt(RawMQTTPublish(topic: "t", properties: Self.goodProperties, payload: []))) == "1")
        let body = try JSONEventFormat().encode(Self.event)
        #expect(WireShape.eventID(of: .http(RawHTTPRequest(headers: [], body: [0x5B] + body + [0x5D]))) == "1")
        #expect(WireShape.eventID(of: .mqtt(RawMQTTPublish(topic: "t", payload: body, version: .v311))) == "1")
        #expect(WireShape.eventID(of: .mqtt(RawMQTTPublish(topic: "t", payload: [0x01]))) == nil)
    }

    /// The capture reads header names as sent and values as bytes, chunked bodies included.
    @Test func theCaptureParsesARequestHeadAsSent() throws {
        let head = "POST /c HTTP/1.1\r\nHost: x\r\nce_ID:  a b \r\nContent-Type:text/plain"
        let request = try RawHTTPCapture.parseHead(Array(head.utf8))
        #expect(request.method == "POST" && request.target == "/c")
        #expect(
            request.headers == [
                RawHTTPHeader("Host", "x"), RawHTTPHeader("ce_ID", "a b"), RawHTTPHeader("Content-Type", "text/plain")
            ])
        #expect(request.headers(named: "content-type").count == 1)
    }

    @Test func theCaptureReadsAChunkedBodyOverASocket() async throws {
        let request = try await RawHTTPCapture.withCapture { capture in
            let port = capture.port
            let answer = try await runOnOwnThread(named: "test-client") { () throws -> [UInt8] in
                let socket = try WireSocket.connect(host: "127.0.0.1", port: port)
                defer { socket.close() }
                try socket.write(
                    Array(
                        "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nce-id: 1\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n"
                            .utf8))
                // Until the capture closes the connection (it answers with Connection: close),
                // bounded generously: a loaded test run can delay the capture's thread.
                var answer: [UInt8] = []
                let deadline = ContinuousClock.now + .seconds(30)
                while ContinuousClock.now < deadline {
                    guard let bytes = try socket.read(milliseconds: 500) else { continue }
                    if bytes.isEmpty { break }
                    answer += bytes
                }
                return answer
            }
            #expect(String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.1 202 Accepted\r\n"))
            return await capture.next(before: .now + .seconds(30))
        }
        let captured = try #require(request)
        #expect(captured.body == Array("abcde".utf8))
        #expect(captured.headers(named: "CE-ID").first?.value == Array("1".utf8))
    }

    // MARK: Deliberately wrong mappings

    /// A binding that writes `ce_` instead of `ce-` makes the HTTP binary wire cell fail,
    /// naming the header and the rule, while its round trip (in-process) passes.
    @Test func anUnderscoreHTTPMappingFailsTheWireCell() async throws {
        let registry = try BindingRegistry([WrongPrefixBinding(kind: .httpUnderscore)])
        let target = ConformanceTarget(
            name: "wrong HTTP", receiverEndpoint: "wrong-http://wire-test-{cell}", wireProbe: .rawHTTP)
        try await expectWireCellFails(registry: registry, target: target, field: "header 'ce_id'", rule: "named 'ce-'")
    }

    /// A binding whose MQTT user properties carry a `ce-` prefix makes the MQTT 5 binary wire
    /// cell fail, naming the property and the rule, while its round trip passes.
    @Test(MQTTBrokerGate.gate { MQTTBrokerGate.requirement })
    func aPrefixedMQTTMappingFailsTheWireCell() async throws {
        let registry = try BindingRegistry([WrongPrefixBinding(kind: .mqttPrefixed)])
        let target = ConformanceTarget(
            name: "wrong MQTT",
            receiverEndpoint: "wrong-mqtt://\(MQTTBrokerGate.host):\(MQTTBrokerGate.port)/ce-wire-test/{cell}?version=5",
            wireProbe: .rawMQTT)
        try await expectWireCellFails(
            registry: registry, target: target, field: "user property 'ce-id'", rule: "no 'ce-' or 'ce_' prefix")
    }

    private func expectWireCellFails(
        registry: BindingRegistry, target: ConformanceTarget, field: String, rule: String
    ) async throws {
        let cases = [Corpus.Case(name: "plain", event: Self.event)]
        let runner = ConformanceRunner(
            registry: registry, formats: .standard, cases: cases, extensionTypes: ExtensionTypes(["count": .integer]),
            timeout: .seconds(5))
        let matrix = await runner.run(targets: [target], crossFormat: false)
        #expect(matrix.cells.map(\.mode) == ["binary", "binary (wire)"], "\(matrix.table())")
        let roundTrip = try #require(matrix.cells.first { $0.mode == "binary" })
        #expect(roundTrip.isFull, "\(matrix.table())")
        let wire = try #require(matrix.cells.first { $0.mode == "binary (wire)" })
        #expect(!wire.isFull && wire.passed == 0)
        let failure = try #require(wire.failures.first)
        #expect(failure.event == "plain")
        #expect(failure.difference.contains("\(field): ") && failure.difference.contains(rule), "\(failure)")
        #expect(matrix.table().contains("binary (wire)") && matrix.table().contains("0/1 ✗"), "\(matrix.table())")
        #expect(!matrix.isFull)
    }
}

/// The MQTT broker gate of these tests (`CE_TEST_MQTT_PORT`, plain listener only).
enum MQTTBrokerGate {
    static let environment = ProcessInfo.processInfo.environment
    static let requirement = BrokerRequirement.decide(
        broker: "the MQTT broker (mosquitto of Scripts/brokers)", listeners: [("CE_TEST_MQTT_PORT", "plain")],
        hostVariable: "CE_TEST_MQTT_HOST", in: environment)
    static func gate(_ requirement: @escaping @Sendable () -> BrokerRequirement) -> ConditionTrait {
        BrokerRequirement.gate(
            skipComment: BrokerRequirement.skipComment(broker: "MQTT broker", variable: "CE_TEST_MQTT_PORT"), requirement)
    }
    static var host: String { environment["CE_TEST_MQTT_HOST"] ?? "127.0.0.1" }
    static var port: Int { Int(environment["CE_TEST_MQTT_PORT"] ?? "") ?? 1883 }
}

/// A test-only binding with a wrong binary-mode mapping on the real wire: `ce_` HTTP headers
/// (a raw socket POST), or `ce-`-prefixed MQTT user properties (published with
/// ``MQTTClient``). Its own `wrong-http`/`wrong-mqtt` scheme round-trips in-process, so only
/// the wire cell can see the mistake.
struct WrongPrefixBinding: EventBinding {
    enum Kind { case httpUnderscore, mqttPrefixed }
    let kind: Kind

    var name: String { kind == .httpUnderscore ? "wrong HTTP" : "wrong MQTT" }
    var schemes: [String] { kind == .httpUnderscore ? ["wrong-http", "http"] : ["wrong-mqtt", "mqtt"] }
    var acknowledgement: AcknowledgementGuarantee { .consumerSettlement }
    var endpointOptions: [EndpointOption] { [.mode, .format, EndpointOption("version", help: "MQTT version")] }
    var allowsOtherOptions: Bool { true }
    func contentModes(for endpoint: Endpoint) -> [ContentMode] { [.binary] }

    /// The in-process channel for a `wrong-*` endpoint.
    static func channel(_ endpoint: Endpoint) throws -> Endpoint {
        try Endpoint("memory://wrong-\(endpoint.host)-\(endpoint.path.replacingOccurrences(of: "/", with: "-"))")
    }

    func withSender<Result: Sendable>(
        for endpoint: Endpoint, options: BindingOptions, _ body: (any BoundSender) async throws -> Result
    ) async throws -> Result {
        if endpoint.scheme.hasPrefix("wrong-") {
            return try await InProcessBinding().withSender(for: try Self.channel(endpoint), options: options, body)
        }
        if kind == .httpUnderscore { return try await body(UnderscoreHTTPSender(endpoint: endpoint)) }
        let configuration = MQTTClientConfiguration(host: endpoint.host, port: endpoint.port, cleanStart: true)
        return try await MQTTClient.withClient(configuration: configuration) { client in
            try await body(PrefixedMQTTSender(endpoint: endpoint, client: client))
        }
    }

    func withReceiver<Result: Sendable>(
        for endpoint: Endpoint, options: BindingOptions, _ body: (any BoundReceiver) async throws -> Result
    ) async throws -> Result {
        try await InProcessBinding().withReceiver(for: try Self.channel(endpoint), options: options) { receiver in
            try await body(Receiver(endpoint: endpoint, inner: receiver))
        }
    }

    struct Receiver: BoundReceiver {
        let endpoint: Endpoint
        let inner: any BoundReceiver
        var readyMessage: String? { nil }
        func deliveries() -> DeliveryStream { inner.deliveries() }
    }

    /// Binary mode over a raw socket with `ce_<name>` headers.
    struct UnderscoreHTTPSender: BoundSender {
        let endpoint: Endpoint

        func send(_ event: CloudEvent) async throws -> SendOutcome {
            var head = "POST \(endpoint.rawPath) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            for (name, value) in event.attributes where name != "datacontenttype" {
                head +=
                    "ce_\(name): \(value.canonicalString.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")\r\n"
            }
            if let type = event.dataContentType { head += "Content-Type: \(type)\r\n" }
            let body = event.data?.bodyBytes(contentType: event.dataContentType) ?? []
            let request = Array((head + "Content-Length: \(body.count)\r\n\r\n").utf8) + body
            let host = endpoint.host
            let port = endpoint.port ?? 80
            _ = try await runOnOwnThread(named: "wrong-http-sender") { () throws -> Int in
                let socket = try WireSocket.connect(host: host, port: port)
                defer { socket.close() }
                try socket.write(request)
                for _ in 0..<50 {
                    if let bytes = try socket.read(milliseconds: 100) { return bytes.count }
                }
                return 0
            }
            return SendOutcome(summary: "posted with ce_ headers")
        }

        func send(_ message: Message) async throws -> SendOutcome { SendOutcome(summary: "not sent") }
    }

    /// Binary mode through ``MQTTClient`` with `ce-<name>` user properties.
    struct PrefixedMQTTSender: BoundSender {
        let endpoint: Endpoint
        let client: MQTTClient

        func send(_ event: CloudEvent) async throws -> SendOutcome {
            let properties = event.attributes.filter { $0.name != "datacontenttype" }.map {
                MQTTUserProperty("ce-\($0.name)", $0.value.canonicalString)
            }
            try await client.publish(
                MQTTMessage(
                    topic: endpoint.path, payload: event.data?.bodyBytes(contentType: event.dataContentType) ?? [],
                    contentType: event.dataContentType, userProperties: properties))
            return SendOutcome(summary: "published with ce- user properties")
        }

        func send(_ message: Message) async throws -> SendOutcome { SendOutcome(summary: "not sent") }
    }
}
