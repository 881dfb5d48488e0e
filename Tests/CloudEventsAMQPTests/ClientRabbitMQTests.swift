import CloudEvents
import CloudEventsAMQP
import CloudEventsTestSupport
import Testing

/// The engine against RabbitMQ 3.10's AMQP 1.0 plugin: connect, send with real outcomes,
/// receive with real dispositions.
@Suite("AMQP client against RabbitMQ", .serialized, AMQPBroker.gate)
struct ClientRabbitMQTests {
    @Test func sendThenReceiveAndAccept() async throws {
        let queue = AMQPBroker.uniqueQueue()
        try await AMQPConnection.withConnection(configuration: AMQPBroker.configuration()) { connection in
            #expect(connection.isConnected)
            let sender = try await connection.openSender(address: "/queue/\(queue)")
            try await sender.send(RawMessage.encode("one"))
            try await sender.send(RawMessage.encode("two"))
            let inbox = RawInbox()
            let receiver = try await connection.openReceiver(address: "/queue/\(queue)", consumer: inbox.consumer)
            let first = try #require(await inbox.next())
            #expect(RawMessage.decode(first.bytes)?.text == "one")
            #expect(first.address == "/queue/\(queue)")
            #expect(await settle(first, .accepted).reachedPeer)
            let second = try #require(await inbox.next())
            #expect(RawMessage.decode(second.bytes)?.text == "two")
            #expect(await settle(second, .accepted).reachedPeer)
            #expect(await inbox.nothingArrives(within: .milliseconds(300)))
            receiver.close()
        }
    }
}
