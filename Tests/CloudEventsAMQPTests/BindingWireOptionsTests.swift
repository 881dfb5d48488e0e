import CloudEvents
import CloudEventsAMQP
import CloudEventsProtobuf
import CloudEventsTransports
import Synchronization
import Testing

/// The endpoint options a sender reads reach the wire: a bare listener (``AMQPListener``
/// with a consumer of its own, not the binding's receiver) keeps the bytes each message
/// arrived as, and ``AMQPMessageCodec`` reads them.
@Suite("AMQPBinding: the sender's endpoint options on the wire")
struct AMQPBindingWireOptionsTests {
    /// The encoded messages a bare listener accepted.
    private final class Captured: Sendable {
        private let messages = Mutex<[[UInt8]]>([])
        func append(_ bytes: [UInt8]) { messages.withLock { $0.append(bytes) } }
        var all: [[UInt8]] { messages.withLock { $0 } }
    }

    /// Sends `event` through the registry to a bare listener with `options` on the URL, and
    /// returns the message as it arrived.
    private func wire(_ event: CloudEvent, options: String) async throws -> AMQPMessage {
        let captured = Captured()
        let consumer = AMQPDeliveryConsumer(
            deliver: { incoming, _ in
                captured.append(incoming.bytes)
                incoming.settle(.accepted)
                return .taken
            }, finish: { _ in })
        let listener = try await AMQPListener.listen(consumer: consumer)
        do {
            let registry = try BindingRegistry([AMQPBinding()])
            let formats = EventFormatRegistry([JSONEventFormat(), ProtobufEventFormat()])
            let endpoint = try Endpoint("amqp://127.0.0.1:\(listener.port)/wire?\(options)", formats: formats)
            let outcome = try await registry.withSender(for: endpoint, options: BindingOptions(formats: formats)) {
                try await $0.send(event)
            }
            #expect(outcome.summary.hasSuffix(": accepted"))
        } catch {
            await listener.close()
            throw error
        }
        await listener.close()
        let bytes = try #require(captured.all.first)
        return try bytes.withUnsafeBytes { raw throws(TransportError) in try AMQPMessageCodec.decode(raw) }
    }

    private let event = CloudEvent(
        id: "w1", source: "/wire", type: "com.example.wire", dataContentType: "text/plain", extensions: ["n": 7],
        data: .binary(Array("hello".utf8)))

    @Test func theDefaultsAreBinaryUnderscoreDurable() async throws {
        let message = try await wire(event, options: "")
        #expect(message.contentType == "text/plain")
        #expect(message[property: "cloudEvents_id"] == .string("w1"))
        #expect(message[property: "cloudEvents_n"] == .long(7))
        #expect(message.applicationProperties.allSatisfy { !$0.name.hasPrefix("cloudEvents:") })
        #expect(message.durable)
        #expect(message.body == .data(Array("hello".utf8)))
    }

    @Test func prefixColonAndDurableFalse() async throws {
        let message = try await wire(event, options: "prefix=colon&durable=false")
        #expect(message[property: "cloudEvents:id"] == .string("w1"))
        #expect(message[property: "cloudEvents:specversion"] == .string("1.0"))
        #expect(message.applicationProperties.allSatisfy { !$0.name.hasPrefix("cloudEvents_") })
        #expect(!message.durable)
    }

    @Test func structuredProtobuf() async throws {
        let message = try await wire(event, options: "mode=structured&format=protobuf")
        #expect(message.contentType == "application/cloudevents+protobuf")
        guard case .data(let body) = message.body else {
            Issue.record("not one data section: \(message.body)")
            return
        }
        #expect(try ProtobufEventFormat().decode(body) == event)
    }
}
