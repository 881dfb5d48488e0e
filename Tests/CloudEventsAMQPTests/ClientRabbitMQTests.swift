import CloudEvents
import CloudEventsAMQP
import CloudEventsTestSupport
import Testing

/// The engine against RabbitMQ 3.10's AMQP 1.0 plugin: connect, send with real outcomes,
/// receive with real dispositions, addresses, credit.
@Suite("AMQP client against RabbitMQ", .serialized, AMQPBroker.gate)
struct ClientRabbitMQTests {
    @Test func sendThenReceiveAndAccept() async throws {
        let queue = AMQPBroker.uniqueQueue()
        try await AMQPConnection.withConnection(configuration: AMQPBroker.configuration()) { connection in
            #expect(connection.isConnected)
            #expect(connection.connectionCount == 1)
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

    /// Released → RabbitMQ delivers it again. A release does not count as a failed attempt
    /// (AMQP 3.4.4), and RabbitMQ 3.10 leaves delivery-count at 0.
    @Test func releasedIsRedelivered() async throws {
        let queue = AMQPBroker.uniqueQueue()
        try await AMQPConnection.withConnection(configuration: AMQPBroker.configuration()) { connection in
            let sender = try await connection.openSender(address: "/queue/\(queue)")
            try await sender.send(RawMessage.encode("again"))
            let inbox = RawInbox()
            _ = try await connection.openReceiver(address: "/queue/\(queue)", consumer: inbox.consumer)
            let first = try #require(await inbox.next())
            let firstCount = try #require(RawMessage.decode(first.bytes)).deliveryCount
            #expect(firstCount == 0)
            #expect(await settle(first, .released).reachedPeer)
            let again = try #require(await inbox.next())
            let decoded = try #require(RawMessage.decode(again.bytes))
            #expect(decoded.text == "again")
            #expect(decoded.deliveryCount == 0)
            #expect(await settle(again, .accepted).reachedPeer)
            #expect(await inbox.nothingArrives(within: .milliseconds(300)))
        }
    }

    /// RabbitMQ 3.10's plugin does not implement `modified`: it ends the session
    /// (`amqp:invalid-field`). The connection recognises RabbitMQ 3.x from its open frame and
    /// sends `released` instead, so a modified message is requeued and nothing else breaks; a
    /// rejected one is gone for good. (Peer to peer, `modified` and its flags reach the
    /// sender: ListenerTests.)
    @Test func modifiedIsReleasedForRabbitMQ3AndRejectedIsNotRequeued() async throws {
        let queue = AMQPBroker.uniqueQueue()
        try await AMQPConnection.withConnection(configuration: AMQPBroker.configuration()) { connection in
            let sender = try await connection.openSender(address: "/queue/\(queue)")
            try await sender.send(RawMessage.encode("m"))
            try await sender.send(RawMessage.encode("r"))
            let inbox = RawInbox()
            _ = try await connection.openReceiver(address: "/queue/\(queue)", consumer: inbox.consumer)
            let first = try #require(await inbox.next())
            #expect(RawMessage.decode(first.bytes)?.text == "m")
            #expect(await settle(first, .modified(deliveryFailed: true, undeliverableHere: false)).reachedPeer)
            let second = try #require(await inbox.next())
            #expect(RawMessage.decode(second.bytes)?.text == "r")
            #expect(
                await settle(second, .rejected(condition: "amqp:decode-error", description: "not an event")).reachedPeer)
            let again = try #require(await inbox.next())
            #expect(RawMessage.decode(again.bytes)?.text == "m")
            #expect(await settle(again, .accepted).reachedPeer)
            #expect(await inbox.nothingArrives(within: .seconds(1)))
            #expect(connection.connectionCount == 1)
        }
    }

    /// Deliveries left unsettled when a connection closes come again on the next one.
    @Test func unsettledDeliveriesComeBackAfterTheConnectionCloses() async throws {
        let queue = AMQPBroker.uniqueQueue()
        let held = RawInbox()
        var kept: AMQPIncomingDelivery?
        try await AMQPConnection.withConnection(configuration: AMQPBroker.configuration()) { connection in
            let sender = try await connection.openSender(address: "/queue/\(queue)")
            try await sender.send(RawMessage.encode("unsettled"))
            _ = try await connection.openReceiver(address: "/queue/\(queue)", consumer: held.consumer)
            kept = await held.next()
        }
        // Settling after the connection went cannot reach RabbitMQ: the report says so.
        let late = try #require(kept)
        guard case .failed(let error) = await settle(late, .accepted) else {
            Issue.record("a settlement after the connection closed must fail")
            return
        }
        #expect(error.code == .connectionFailed || error.code == .closed)
        #expect(held.isFinished)
        try await AMQPConnection.withConnection(configuration: AMQPBroker.configuration()) { connection in
            let inbox = RawInbox()
            _ = try await connection.openReceiver(address: "/queue/\(queue)", consumer: inbox.consumer)
            let again = try #require(await inbox.next())
            #expect(RawMessage.decode(again.bytes)?.text == "unsettled")
            #expect(await settle(again, .accepted).reachedPeer)
        }
    }

    /// The credit window bounds what RabbitMQ sends ahead of a full consumer; all arrive once it drains.
    @Test func creditBoundsWhatArrivesAheadOfAFullConsumer() async throws {
        let queue = AMQPBroker.uniqueQueue()
        try await AMQPConnection.withConnection(configuration: AMQPBroker.configuration()) { connection in
            let sender = try await connection.openSender(address: "/queue/\(queue)")
            for index in 0..<30 { try await sender.send(RawMessage.encode("n\(index)")) }
            let inbox = RawInbox(capacity: 2)
            _ = try await connection.openReceiver(address: "/queue/\(queue)", credit: 5, consumer: inbox.consumer)
            #expect(await pollUntil(timeout: .seconds(30)) { inbox.count == 2 })
            try await Task.sleep(for: .milliseconds(300))
            // Taken 2, then refused: the link held the rest of its window and granted no more.
            #expect(inbox.count == 2)
            #expect(inbox.offered <= 3)
            var texts: [String] = []
            while texts.count < 30, let delivery = await inbox.next() {
                texts.append(RawMessage.decode(delivery.bytes)?.text ?? "?")
                #expect(await settle(delivery, .accepted).reachedPeer)
            }
            #expect(texts == (0..<30).map { "n\($0)" })
        }
    }

    @Test func anUnknownQueueIsATypedError() async throws {
        try await AMQPConnection.withConnection(configuration: AMQPBroker.configuration()) { connection in
            let missing = "/amq/queue/\(AMQPBroker.uniqueQueue())"
            let error = await #expect(throws: TransportError.self) {
                _ = try await connection.openReceiver(address: missing, consumer: RawInbox().consumer)
            }
            #expect(error?.code == .invalidEndpoint)
            #expect(error?.message.contains("not-found") == true)
            // The connection is still usable.
            let queue = AMQPBroker.uniqueQueue()
            let sender = try await connection.openSender(address: "/queue/\(queue)")
            try await sender.send(RawMessage.encode("still fine"))
        }
    }

    /// RabbitMQ 3.10 ends the whole session for an unknown queue: a receiver attached
    /// before is attached again on a new session and keeps receiving (what the ended session
    /// had delivered may come again).
    @Test func anUnknownQueueDoesNotStopTheOtherLinks() async throws {
        let queue = AMQPBroker.uniqueQueue()
        try await AMQPConnection.withConnection(configuration: AMQPBroker.configuration()) { connection in
            let inbox = RawInbox()
            _ = try await connection.openReceiver(address: "/queue/\(queue)", consumer: inbox.consumer)
            let sender = try await connection.openSender(address: "/queue/\(queue)")
            try await sender.send(RawMessage.encode("before"))
            let before = try #require(await inbox.next())
            #expect(await settle(before, .accepted).reachedPeer)
            await #expect(throws: TransportError.self) {
                _ = try await connection.openReceiver(
                    address: "/amq/queue/\(AMQPBroker.uniqueQueue())", consumer: RawInbox().consumer)
            }
            try await sender.send(RawMessage.encode("after"))
            // RabbitMQ requeues what the ended session had delivered, even when its `accepted`
            // went out just before: "before" may come again (at-least-once).
            var texts: [String] = []
            while texts.last != "after", texts.count < 3, let delivery = await inbox.next() {
                texts.append(RawMessage.decode(delivery.bytes)?.text ?? "?")
                #expect(await settle(delivery, .accepted).reachedPeer)
            }
            #expect(texts == ["after"] || texts == ["before", "after"], "\(texts)")
            #expect(connection.connectionCount == 1)
        }
    }

    /// As a `Service`, `run()` keeps the connection until it is closed.
    @Test func runReturnsOnceTheConnectionIsClosed() async throws {
        let connection = try await AMQPConnection.connect(configuration: AMQPBroker.configuration())
        let running = Task { try await connection.run() }
        try await Task.sleep(for: .milliseconds(100))
        await connection.close()
        try await running.value
        #expect(!connection.isConnected)
    }

    @Test func aWrongPasswordIsNotAuthorized() async throws {
        let error = await #expect(throws: TransportError.self) {
            _ = try await AMQPConnection.connect(
                configuration: AMQPBroker.configuration(sasl: .plain(username: "guest", password: "wrong")))
        }
        #expect(error?.code == .notAuthorized)
    }

    @Test func anonymousIsRefusedOrAcceptedAsRabbitMQIsConfigured() async throws {
        // RabbitMQ 3.10 maps ANONYMOUS to amqp1_0.default_user (guest), which may only log in over loopback.
        let connection = try await AMQPConnection.connect(configuration: AMQPBroker.configuration(sasl: .anonymous))
        #expect(connection.isConnected)
        await connection.close()
        #expect(!connection.isConnected)
    }

    @Test func nothingListeningIsConnectionFailed() async throws {
        let port = try LoopbackSocket.closedPort()
        let error = await #expect(throws: TransportError.self) {
            _ = try await AMQPConnection.connect(configuration: AMQPConnectionConfiguration(host: "127.0.0.1", port: port))
        }
        #expect(error?.code == .connectionFailed)
    }

    @Test func theDefaultVirtualHostByName() async throws {
        var configuration = AMQPBroker.configuration()
        configuration.virtualHost = "vhost:/"
        try await AMQPConnection.withConnection(configuration: configuration) { connection in
            #expect(connection.isConnected)
        }
    }
}
