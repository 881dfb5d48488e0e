import CloudEvents
import CloudEventsNATS
import CloudEventsProtobuf
import CloudEventsTestSupport
import Foundation
import Testing

/// The binding against a server without header support (`no_header_support`, as before NATS
/// 2.2): events travel as structured JSON without headers, and what needs headers is refused
/// by name instead of being sent.
@Suite(
    "NATS events through a server without headers",
    BrokerRequirement.gate(
        skipComment: "no nats-server installed: run Scripts/bootstrap (or Scripts/brokers start) first"
    ) {
        if PrivateNATSServer.binary != nil { return .run }
        return BrokerRequirement.isRequired(by: ProcessInfo.processInfo.environment)
            ? .fail("nats-server is not installed (Scripts/bootstrap installs it)") : .skip
    })
struct SenderReceiverHeaderlessTests {
    /// Runs `body` with a client of a private server without header support.
    private func withHeaderlessClient(_ body: @escaping @Sendable (NATSClient) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nats-headerless-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await PrivateNATSServer(directory: directory, configuration: "no_header_support: true")
        defer { server.stopWaiting() }
        var configuration = NATSClientConfiguration(host: "127.0.0.1", port: server.port)
        configuration.operationTimeout = .seconds(30)
        try await within { [configuration] in
            try await NATSClient.withClient(configuration: configuration) { client in
                #expect(!client.serverInfo.headers)
                try await body(client)
            }
        }
    }

    @Test func structuredJSONTravelsWithoutHeaders() async throws {
        try await withHeaderlessClient { client in
            let subject = NATSBroker.uniqueSubject()
            let receiver = try await NATSEventReceiver.subscribe(client: client, subject: subject)
            try await client.flush()
            let event = NATSBroker.event("plain")
            try await NATSEventSender(client: client, subject: subject, mode: .structured).send(event)
            // A binary message is transcoded to structured JSON, the one shape this server carries.
            try await NATSEventSender(client: client, subject: subject).send(try Message(NATSBroker.event("transcoded")))
            var iterator = receiver.deliveries().makeAsyncIterator()
            for expected in [event, NATSBroker.event("transcoded")] {
                let delivery = try #require(try await iterator.next())
                #expect(delivery.message.contentMode == .structured)
                #expect(try delivery.event() == expected)
                delivery.accept()
            }
        }
    }

    @Test func binaryModeAndOtherFormatsAreRefusedByName() async throws {
        try await withHeaderlessClient { client in
            let subject = NATSBroker.uniqueSubject()
            let binary = try NATSEventSender(client: client, subject: subject)
            let protobuf = try NATSEventSender(client: client, subject: subject, mode: .structured, format: ProtobufEventFormat())
            for sender in [binary, protobuf] {
                do {
                    try await sender.send(NATSBroker.event("refused"))
                    Issue.record("a \(sender.mode) \(sender.format.name) event was sent to a server without headers")
                } catch let error as TransportError {
                    #expect(error.code == .invalidMessage, "\(error)")
                    #expect(error.message.contains("without headers"), "\(error)")
                }
            }
        }
    }
}
