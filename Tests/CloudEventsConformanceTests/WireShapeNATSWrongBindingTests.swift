import CloudEvents
import CloudEventsTransports
import Foundation
import Testing

@testable import CloudEventsConformance

/// A binding that writes NATS messages in HTTP's shape (`datacontenttype` as `Content-Type`,
/// no `ce-datacontenttype`) fails the NATS binary wire cell, naming both headers and the
/// rule, while its round trip (in-process) passes: the NATS wire rows can fail.
@Suite("Wire shape: an HTTP-shaped NATS binding fails its wire cell", NATSServerGate.gate, .timeLimit(.minutes(1)))
struct WireShapeNATSWrongBindingTests {
    @Test func theWireCellFailsNamingTheHeaders() async throws {
        let registry = try BindingRegistry([HTTPShapedNATSBinding()])
        let target = ConformanceTarget(
            name: "wrong NATS",
            receiverEndpoint: "wrong-nats://\(NATSServerGate.host):\(NATSServerGate.port)/ce-wire-test.{cell}",
            wireProbe: .rawNATS)
        let cases = [Corpus.Case(name: "plain", event: WireShapeNATSTests.event)]
        let runner = ConformanceRunner(
            registry: registry, formats: .standard, cases: cases, extensionTypes: ExtensionTypes(["count": .integer]),
            timeout: .seconds(30))
        let matrix = await runner.run(targets: [target], crossFormat: false)
        #expect(matrix.cells.map(\.mode) == ["binary", "binary (wire)"], "\(matrix.table())")
        #expect(matrix.cells.first { $0.mode == "binary" }?.isFull == true, "\(matrix.table())")
        let wire = try #require(matrix.cells.first { $0.mode == "binary (wire)" })
        #expect(wire.passed == 0 && !matrix.isFull, "\(matrix.table())")
        let difference = try #require(wire.failures.first).difference
        #expect(difference.contains("header 'Content-Type': must not be sent in binary mode"), "\(difference)")
        #expect(difference.contains("header 'ce-datacontenttype': must be datacontenttype 'text/plain'"), "\(difference)")
    }
}

/// `wrong-nats` round-trips in-process; its `nats` sender publishes with a raw connection in
/// HTTP's binary shape.
struct HTTPShapedNATSBinding: EventBinding {
    var name: String { "wrong NATS" }
    var schemes: [String] { ["wrong-nats", "nats"] }
    var acknowledgement: AcknowledgementGuarantee { .none }
    var endpointOptions: [EndpointOption] { [.mode, .format] }
    var allowsOtherOptions: Bool { true }
    func contentModes(for endpoint: Endpoint) -> [ContentMode] { [.binary] }

    static func channel(_ endpoint: Endpoint) throws -> Endpoint {
        try Endpoint("memory://wrong-nats-\(endpoint.path.replacingOccurrences(of: ".", with: "-"))")
    }

    func withSender<Result: Sendable>(
        for endpoint: Endpoint, options: BindingOptions, _ body: (any BoundSender) async throws -> Result
    ) async throws -> Result {
        if endpoint.scheme == "wrong-nats" {
            return try await InProcessBinding().withSender(for: try Self.channel(endpoint), options: options, body)
        }
        return try await body(Sender(endpoint: endpoint))
    }

    func withReceiver<Result: Sendable>(
        for endpoint: Endpoint, options: BindingOptions, _ body: (any BoundReceiver) async throws -> Result
    ) async throws -> Result {
        try await InProcessBinding().withReceiver(for: try Self.channel(endpoint), options: options) { receiver in
            try await body(WrongPrefixBinding.Receiver(endpoint: endpoint, inner: receiver))
        }
    }

    struct Sender: BoundSender {
        let endpoint: Endpoint

        func send(_ event: CloudEvent) async throws -> SendOutcome {
            var headers = event.attributes.filter { $0.name != "datacontenttype" }.map {
                RawNATSHeader(
                    "ce-\($0.name)",
                    $0.value.canonicalString.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
            }
            if let type = event.dataContentType { headers.append(RawNATSHeader("Content-Type", type)) }
            let message = RawNATSMessage(
                subject: endpoint.path, headers: headers,
                payload: event.data?.bodyBytes(contentType: event.dataContentType) ?? [])
            try await RawNATSConnection.withConnection(host: endpoint.host, port: endpoint.port ?? 4222) { connection in
                try connection.publish(message)
                try await connection.flush()
            }
            return SendOutcome(summary: "published in HTTP's shape")
        }

        func send(_ message: Message) async throws -> SendOutcome { SendOutcome(summary: "not sent") }
    }
}
