import CloudEvents
import CloudEventsAMQP
import CloudEventsProtobuf
import CloudEventsTestSupport
import Testing

/// What the event-level round trips share: an event with typed attributes, its check, and the
/// modes × formats.
enum EventRoundTrip {
    static let formats = EventFormatRegistry([JSONEventFormat(), ProtobufEventFormat()])

    static let cases: [(ContentMode, String)] = [
        (.binary, "json"), (.structured, "json"), (.structured, "protobuf"), (.binary, "protobuf")
    ]

    static func format(_ name: String) -> any EventFormat {
        name == "protobuf" ? ProtobufEventFormat() : JSONEventFormat()
    }

    static func event(_ id: String) -> CloudEvent {
        CloudEvent(
            id: id, source: "/tests/amqp", type: "com.example.amqp", dataContentType: "text/plain", subject: "round trip",
            extensions: ["myext": "kept"], data: .text("hello \(id)"))
    }

    static func check(_ delivery: Delivery, against event: CloudEvent) throws {
        let decoded = try delivery.event()
        #expect(decoded.id == event.id)
        #expect(decoded.source == event.source)
        #expect(decoded.type == event.type)
        #expect(decoded.subject == event.subject)
        #expect(decoded.extensions == event.extensions)
        #expect(decoded.dataContentType == "text/plain")
        #expect(decoded.data?.bodyBytes(contentType: "text/plain") == Array("hello \(event.id)".utf8))
    }
}

/// AMQPEventSender → RabbitMQ → AMQPEventReceiver, every mode × format, with settlement
/// outcomes, redelivery counts and an invalid message in the stream.
@Suite("AMQP events through RabbitMQ", .serialized, AMQPBroker.gate)
struct SenderReceiverRabbitMQTests {
    @Test(arguments: EventRoundTrip.cases)
    func roundTrip(mode: ContentMode, format: String) async throws {
        let address = "/queue/\(AMQPBroker.uniqueQueue())"
        try await AMQPConnection.withConnection(configuration: AMQPBroker.configuration()) { connection in
            let sender = try await AMQPEventSender.open(
                connection: connection, address: address, mode: mode, format: EventRoundTrip.format(format))
            let receiver = try await AMQPEventReceiver.open(
                connection: connection, address: address, formats: EventRoundTrip.formats)
            let event = EventRoundTrip.event("rt-\(mode)-\(format)")
            try await sender.send(event)
            var iterator = receiver.deliveries().makeAsyncIterator()
            let delivery = try #require(try await iterator.next())
            try EventRoundTrip.check(delivery, against: event)
            #expect(delivery.redeliveryCount == 0)
            #expect(delivery.isRedelivered == false)
            #expect(delivery.message.metadata[AMQPMessageReader.MetadataKey.address] == address)
            delivery.accept()
            #expect(await delivery.settlementOutcome() == .reachedPeer)
        }
    }

    /// Release → RabbitMQ redelivers; an invalid message is a typed error, rejected, and the
    /// receiver goes on.
    @Test func releaseRedeliversAndAnInvalidMessageIsRejected() async throws {
        let address = "/queue/\(AMQPBroker.uniqueQueue())"
        try await AMQPConnection.withConnection(configuration: AMQPBroker.configuration()) { connection in
            let raw = try await connection.openSender(address: address)
            try await raw.send(RawMessage.encode("no CloudEvents attributes here"))
            let sender = try await AMQPEventSender.open(connection: connection, address: address)
            let event = EventRoundTrip.event("after-invalid")
            try await sender.send(event)
            let receiver = try await AMQPEventReceiver.open(connection: connection, address: address)
            var iterator = receiver.deliveries().makeAsyncIterator()

            let invalid = try #require(try await iterator.next())
            #expect(throws: MessageError.self) { try invalid.event() }
            invalid.reject(reason: "not a CloudEvent", condition: .invalidMessage)
            #expect(await invalid.settlementOutcome() == .reachedPeer)

            let first = try #require(try await iterator.next())
            try EventRoundTrip.check(first, against: event)
            first.release()
            #expect(await first.settlementOutcome() == .reachedPeer)
            let again = try #require(try await iterator.next())
            try EventRoundTrip.check(again, against: event)
            again.accept()
            #expect(await again.settlementOutcome() == .reachedPeer)
        }
    }
}

/// AMQPEventSender → AMQPListener (peer mode) through an AMQPDeliveryBridge: every mode ×
/// format, and the consumer's settlement as the sender's outcome.
@Suite("AMQP events peer to peer")
struct SenderReceiverPeerTests {
    @Test(arguments: EventRoundTrip.cases)
    func roundTrip(mode: ContentMode, format: String) async throws {
        let bridge = AMQPDeliveryBridge(formats: EventRoundTrip.formats)
        let listener = try await AMQPListener.listen(consumer: bridge.consumer)
        try await closing(listener) {
            try await AMQPConnection.withConnection(configuration: ListenerTests.client(port: listener.port)) { connection in
                let sender = try await AMQPEventSender.open(
                    connection: connection, address: "events", mode: mode, format: EventRoundTrip.format(format))
                let event = EventRoundTrip.event("p2p-\(mode)-\(format)")
                let sent = Task { try await sender.send(event) }
                var iterator = bridge.stream.makeAsyncIterator()
                let delivery = try #require(try await iterator.next())
                try EventRoundTrip.check(delivery, against: event)
                delivery.accept()
                try await sent.value
                #expect(await delivery.settlementOutcome() == .reachedPeer)
            }
        }
    }

    @Test func rejectionReasonAndConditionReachTheSender() async throws {
        let bridge = AMQPDeliveryBridge()
        let listener = try await AMQPListener.listen(consumer: bridge.consumer)
        try await closing(listener) {
            try await AMQPConnection.withConnection(configuration: ListenerTests.client(port: listener.port)) { connection in
                let raw = try await connection.openSender(address: "events")
                let sender = try await AMQPEventSender.open(connection: connection, address: "events")
                var iterator = bridge.stream.makeAsyncIterator()

                let invalidSend = Task { try await raw.send([0x00, 0x53, 0x70, 0xff, 0x01]) }
                let invalid = try #require(try await iterator.next())
                let error = #expect(throws: MessageError.self) { try invalid.event() }
                invalid.reject(reason: "\(error.map { "\($0)" } ?? "invalid")", condition: .invalidMessage)
                let rejection = await sendError(invalidSend)
                #expect(rejection?.code == .rejected)
                #expect(rejection?.condition == .invalidMessage)

                let event = EventRoundTrip.event("valid-after-invalid")
                let refusedSend = Task { try await sender.send(event) }
                let valid = try #require(try await iterator.next())
                try EventRoundTrip.check(valid, against: event)
                valid.reject(reason: "schema mismatch")
                let refused = await sendError(refusedSend)
                #expect(refused?.code == .rejected)
                #expect(refused?.condition == .rejected)
                #expect(refused?.message.contains("schema mismatch") == true)

                let modifiedSend = Task { try await sender.send(EventRoundTrip.event("modified")) }
                let modified = try #require(try await iterator.next())
                modified.modify(deliveryFailed: true, undeliverableHere: false)
                #expect(await sendError(modifiedSend)?.code == .modified)

                // Dropped unsettled: released.
                let droppedSend = Task { try await sender.send(EventRoundTrip.event("dropped")) }
                _ = try #require(try await iterator.next())
                #expect(await sendError(droppedSend)?.code == .released)
            }
        }
    }
}
