import CloudEvents
import CloudEventsAMQP
import CloudEventsTestSupport
import Testing

/// What ``Delivery/settlementOutcome()`` reports for AMQP deliveries.
@Suite("AMQP settlement outcomes", .serialized, AMQPBroker.gate)
struct SettlementTests {
    /// A delivery settled after its connection closed cannot reach RabbitMQ: the outcome
    /// says so, and RabbitMQ delivers the event again on the next connection.
    @Test func settlingAfterTheConnectionClosedFailsAndTheEventComesAgain() async throws {
        let address = "/queue/\(AMQPBroker.uniqueQueue())"
        let event = EventRoundTrip.event("late-settlement")
        var kept: Delivery?
        try await AMQPConnection.withConnection(configuration: AMQPBroker.configuration()) { connection in
            let sender = try await AMQPEventSender.open(connection: connection, address: address)
            try await sender.send(event)
            let receiver = try await AMQPEventReceiver.open(connection: connection, address: address)
            var iterator = receiver.deliveries().makeAsyncIterator()
            kept = try await iterator.next()
        }
        let late = try #require(kept)
        late.accept()
        guard case .failed(let code, let message) = await late.settlementOutcome() else {
            Issue.record("a settlement after the connection closed must fail")
            return
        }
        #expect(code == .connectionFailed || code == .closed, "\(message)")
        try await AMQPEventReceiver.withReceiver(configuration: AMQPBroker.configuration(), address: address) { receiver in
            var iterator = receiver.deliveries().makeAsyncIterator()
            let again = try #require(try await iterator.next())
            try EventRoundTrip.check(again, against: event)
            again.accept()
            #expect(await again.settlementOutcome() == .reachedPeer)
        }
    }

    /// Peer to peer, accepting writes the disposition: the outcome is `.reachedPeer` and the
    /// sender's send returns.
    @Test func acceptingAPeerMessageReachesThePeer() async throws {
        let bridge = AMQPDeliveryBridge()
        let listener = try await AMQPListener.listen(consumer: bridge.consumer)
        try await closing(listener) {
            try await AMQPConnection.withConnection(configuration: ListenerTests.client(port: listener.port)) { connection in
                let sender = try await AMQPEventSender.open(connection: connection, address: "a")
                let sent = Task { try await sender.send(EventRoundTrip.event("unsettled")) }
                var iterator = bridge.stream.makeAsyncIterator()
                let delivery = try #require(try await iterator.next())
                delivery.accept()
                #expect(await delivery.settlementOutcome() == .reachedPeer)
                try await sent.value
            }
        }
    }
}
