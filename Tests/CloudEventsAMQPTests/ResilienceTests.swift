import CloudEvents
import CloudEventsAMQP
import CloudEventsTestSupport
import Testing

/// A broker restart mid-stream, with a RabbitMQ of the test's own: both connections
/// reconnect and attach their links again, and nothing the broker accepted is lost, whether
/// the consumer keeps up or a backlog sits in the queue when the broker stops (the queue must
/// be durable: links attach with durable termini).
@Suite(
    "AMQP reconnect through a broker restart",
    .serialized,
    BrokerRequirement.gate(skipComment: PrivateRabbitMQRequirement.skipComment) {
        PrivateRabbitMQRequirement.decide(in: AMQPBroker.environment)
    })
struct ResilienceTests {
    @Test func restartMidStreamLosesNothingAccepted() async throws {
        try await restartMidStream(consumerDelay: nil)
    }

    /// A consumer slower than the sender: the queue holds a backlog at the restart, and that
    /// backlog arrives after the reconnect. With transient termini RabbitMQ declared a
    /// transient queue, which the restart deleted with the backlog.
    @Test func restartWithABacklogLosesNothingAccepted() async throws {
        try await restartMidStream(consumerDelay: .milliseconds(30))
    }

    private func restartMidStream(consumerDelay: Duration?) async throws {
        try await PrivateRabbitMQ.withBroker { broker in
            var configuration = AMQPConnectionConfiguration(
                host: "127.0.0.1", port: broker.port, username: "guest", password: "guest",
                reconnect: .exponential(initial: .milliseconds(100), maximum: .seconds(1)),
                operationTimeout: .seconds(60))
            configuration.idleTimeout = .seconds(10)
            let address = "/queue/\(AMQPBroker.uniqueQueue())"
            let received = Locked<Set<String>>([])
            let receiving = try await AMQPConnection.connect(configuration: configuration)
            let sending = try await AMQPConnection.connect(configuration: configuration)
            let receiver = try await AMQPEventReceiver.open(connection: receiving, address: address, credit: 32)
            let consumer = Task {
                for try await delivery in receiver.deliveries() {
                    if let consumerDelay { try await Task.sleep(for: consumerDelay) }
                    if let event = try? delivery.event() { _ = received.withLock { $0.insert(event.id) } }
                    delivery.accept()
                }
            }
            let sender = try await AMQPEventSender.open(connection: sending, address: address)
            var accepted: [String] = []
            var retries = 0
            for index in 0..<200 {
                if index == 100 { try await broker.restart(graceful: true) }
                let event = EventRoundTrip.event("restart-\(index)")
                while true {
                    do {
                        try await sender.send(event)
                        accepted.append(event.id)
                        break
                    } catch let error as TransportError where error.isTransient {
                        // Outcome unknown or not processed: send again (the receiver may see it twice).
                        retries += 1
                        #expect(retries < 500, "gave up: \(error)")
                        if retries >= 500 { throw error }
                        try await Task.sleep(for: .milliseconds(100))
                    }
                }
            }
            let all = Set(accepted)
            let arrived = await pollUntil(timeout: .seconds(60)) { received.withLock { all.isSubset(of: $0) } }
            let missing = all.subtracting(received.withLock { $0 })
            #expect(arrived, "accepted but never received: \(missing.sorted().prefix(10))")
            #expect(sending.connectionCount >= 2)
            #expect(receiving.connectionCount >= 2)
            consumer.cancel()
            await sending.close()
            await receiving.close()
        }
    }
}
