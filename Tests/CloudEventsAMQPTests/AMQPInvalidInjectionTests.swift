import CloudEvents
import CloudEventsAMQP
import CloudEventsConformance
import CloudEventsTestSupport
import CloudEventsTransports
import Foundation
import Testing

/// The corpus's invalid AMQP messages injected by a raw AMQP sender (the engine's sender
/// link carrying the corpus bytes unchanged) into the binding's receiver: each arrives as a
/// delivery whose `event()` throws the case's error, the consumer rejects it with
/// `amqp:decode-error`, and a valid event sent next is delivered. Peer to peer the raw sender
/// sees that rejection itself (condition and reason); through RabbitMQ the broker accepted the
/// message when it queued it, so the sender sees `accepted` and the rejection stays between
/// the receiver and the broker.
@Suite("Invalid AMQP messages injected", .timeLimit(.minutes(2)))
struct AMQPInvalidInjectionTests {
    enum Record: Sendable {
        case event(CloudEvent)
        case refused(String)
    }

    @Test func peerToPeerTheRawSenderSeesEachRejectionWithItsReason() async throws {
        let registry = try BindingRegistry([AMQPBinding()])
        let listen = try Endpoint("amqp://127.0.0.1:0/injection?listen=true", allowingPortZero: true)
        try await registry.withReceiver(for: listen, options: Self.options) { receiver in
            let port = try #require(receiver.endpoint.port)
            let configuration = AMQPConnectionConfiguration(host: "127.0.0.1", port: port, sasl: .anonymous)
            try await Self.inject(
                into: receiver, registry: registry, senderEndpoint: Endpoint("amqp://127.0.0.1:\(port)/injection"),
                connection: configuration, address: "injection", throughBroker: false)
        }
    }

    @Test(AMQPBroker.gate) func throughRabbitMQEachIsRejectedByTheReceiver() async throws {
        let registry = try BindingRegistry([AMQPBinding()])
        let queue = AMQPBroker.uniqueQueue()
        let user = AMQPBroker.environment["CE_TEST_AMQP_USERNAME"] ?? "guest"
        let password = AMQPBroker.environment["CE_TEST_AMQP_PASSWORD"] ?? "guest"
        let base = try Endpoint("amqp://\(user):\(password)@\(AMQPBroker.host):\(AMQPBroker.port)//queue/\(queue)")
        try await registry.withReceiver(for: base, options: Self.options) { receiver in
            try await Self.inject(
                into: receiver, registry: registry, senderEndpoint: base, connection: AMQPBroker.configuration(),
                address: "/queue/\(queue)", throughBroker: true)
        }
    }

    static let options = BindingOptions(formats: AMQPInvalidInputTests.formats, timeout: .seconds(30), retries: 0)

    /// Sends every case raw, then a valid event through the registry's sender, checking what
    /// the receiver and the raw sender saw.
    static func inject(
        into receiver: any BoundReceiver, registry: BindingRegistry, senderEndpoint: Endpoint,
        connection configuration: AMQPConnectionConfiguration, address: String, throughBroker: Bool
    ) async throws {
        let inbox = ConformanceInbox<Record>()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for try await delivery in receiver.deliveries() {
                    do {
                        let event = try delivery.event()
                        _ = delivery.accept()
                        inbox.post(.event(event))
                    } catch {
                        _ = delivery.reject(reason: "\(error)", condition: .invalidMessage)
                        inbox.post(.refused("\(error)"))
                    }
                }
            }
            defer { group.cancelAll() }
            try await AMQPConnection.withConnection(configuration: configuration) { connection in
                let raw = try await connection.openSender(address: address)
                try await registry.withSender(for: senderEndpoint, options: options) { sender in
                    for (index, item) in InvalidInputs.amqp.enumerated() {
                        // RabbitMQ gives a message without a body one empty data section
                        // (AMQP 1.0 requires a body), so that case's error is another one.
                        let expected =
                            throughBroker && item.body.isEmpty && item.contentType?.hasPrefix("application/cloudevents") == true
                            ? "invalid JSON at byte 0" : item.error
                        do {
                            try await raw.send(item.bytes)
                            if !throughBroker { Issue.record("\(item.name): the raw sender saw it accepted") }
                        } catch let error as TransportError {
                            #expect(!throughBroker, "\(item.name): the broker refused it: \(error)")
                            #expect(error.code == .rejected, "\(item.name): \(error)")
                            #expect(error.condition == .invalidMessage, "\(item.name): \(error)")
                            #expect(error.message.contains(expected), "\(item.name): \(error)")
                        }
                        switch await inbox.next(before: .now + .seconds(30)) {
                        case .refused(let error)?: #expect(error.contains(expected), "\(item.name): got: \(error)")
                        case .event(let event)?: Issue.record("\(item.name): delivered and decoded as \(event)")
                        case nil: Issue.record("\(item.name): no delivery within 30 s")
                        }
                        var valid = CloudEvent(
                            id: "valid-after-\(index)", source: "/injection", type: "com.example.injection.valid")
                        valid.dataContentType = "text/plain"
                        valid.data = .text("still here \(index)")
                        _ = try await sender.send(valid)
                        guard case .event(let event)? = await inbox.next(before: .now + .seconds(30)) else {
                            Issue.record("after \(item.name): the valid event did not arrive")
                            continue
                        }
                        #expect(event == valid, "after \(item.name)")
                    }
                }
            }
        }
    }
}
