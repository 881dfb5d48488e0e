import CloudEvents
import CloudEventsTestSupport
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@testable import CloudEventsMQTT

/// The client as a `Service`, the scoped sender and receiver, and what the client logs,
/// against the test broker.
@Suite(.mqttBroker, .timeLimit(.minutes(1)))
struct MQTTLifecycleTests {
    @Test func aReconnectIsLoggedWithSnakeCaseMetadataAndNeverThePassword() async throws {
        let records = CapturedLogs()
        var configuration = Broker.configuration()
        configuration.port = Broker.port("CE_TEST_MQTT_AUTH_PORT")
        configuration.username = Broker.environment["CE_TEST_MQTT_USERNAME"]
        let password = try #require(Broker.environment["CE_TEST_MQTT_PASSWORD"])
        configuration.password = password
        configuration.logger = records.logger()
        let client = try await MQTTClient.connect(configuration: configuration)
        client.simulateConnectionLoss()
        for _ in 0..<200 where client.connectionCount < 2 { try await Task.sleep(for: .milliseconds(25)) }
        #expect(client.connectionCount == 2, "reconnected")
        await client.shutdown()

        let logged = records.all
        let established = try #require(logged.first { $0.message == "MQTT connection established" })
        #expect(established.level == .info)
        #expect(established.metadata["endpoint"] == "\(Broker.host):\(Broker.port("CE_TEST_MQTT_AUTH_PORT"))")
        #expect(established.metadata["client_id"] == configuration.clientID)
        #expect(logged.first { $0.message == "MQTT connection lost" }?.level == .warning)
        let scheduled = try #require(logged.first { $0.message == "MQTT reconnect scheduled" })
        #expect(scheduled.level == .warning)
        #expect(scheduled.metadata["attempt"] == "1")
        #expect(scheduled.metadata["delay_ms"].flatMap { Int($0) } != nil)
        #expect(logged.first { $0.message == "MQTT reconnected" }?.level == .notice)
        for record in logged {
            #expect(record.metadata.keys.allSatisfy { $0 == $0.lowercased() && !$0.contains("-") }, "snake_case keys")
            #expect(!record.message.contains(password) && !record.metadata.values.contains { $0.contains(password) })
        }
    }

    @Test func aRefusedPublishIsLoggedAsAWarningNamingTheTopic() async throws {
        let records = CapturedLogs()
        var configuration = Broker.configuration()
        configuration.logger = records.logger()
        try await MQTTClient.withClient(configuration: configuration) { client in
            await #expect(throws: TransportError.self) {
                try await client.publish(MQTTMessage(topic: "bad\u{1}topic", payload: [1]))
            }
        }
        let refused = try #require(records.all.first { $0.message == "MQTT publish refused" })
        #expect(refused.level == .warning)
        #expect(refused.metadata["topic"] == "bad\u{1}topic")
        #expect(refused.metadata["status"] == "invalid message")
    }

    @Test func aRejectionIsLoggedAsARefusalAndAReleaseAsADrop() async throws {
        let records = CapturedLogs()
        var configuration = Broker.configuration()
        configuration.logger = records.logger()
        let topic = Broker.uniqueTopic()
        try await MQTTClient.withClient(configuration: configuration) { client in
            let stream = try await client.subscribe(to: topic)
            for _ in 0..<4 { try await client.publish(try sampleEvent.mqttMessage(topic: topic)) }
            let deliveries = try await collect(4, from: stream)
            try #require(deliveries.count == 4)
            #expect(deliveries[0].accept())
            #expect(deliveries[1].reject(reason: "not for me"))
            #expect(deliveries[2].release())
            #expect(deliveries[3].modify())
            // Nothing goes back to the broker (libmosquitto acknowledged on receipt), and the
            // DUP flag is not exposed.
            for delivery in deliveries {
                #expect(await delivery.settlementOutcome() == .local)
                #expect(delivery.isRedelivered == nil && delivery.redeliveryCount == nil)
            }
        }
        let logged = records.all
        #expect(!logged.contains { $0.message.contains("accepted") })
        let rejected = try #require(logged.first { $0.message.hasPrefix("MQTT delivery rejected") })
        #expect(rejected.level == .warning)
        #expect(rejected.metadata["reason"] == "not for me" && rejected.metadata["filter"] == topic)
        #expect(rejected.metadata["condition"] == "cloudevents:rejected")
        // A modification is a release here.
        let released = logged.filter { $0.message.hasPrefix("MQTT delivery released") }
        #expect(released.count == 2 && released.allSatisfy { $0.level == .error })
    }

    @Test func runKeepsTheClientUntilGracefulShutdownThenShutsItDown() async throws {
        let client = try await MQTTClient.connect(configuration: Broker.configuration())
        let group = ServiceGroup(
            services: [client], gracefulShutdownSignals: [],
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            // Running: the client works.
            try await client.publish(MQTTMessage(topic: Broker.uniqueTopic(), payload: [1], qos: .atLeastOnce))
            #expect(client.isConnected)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(!client.isConnected)
        await #expect { try await client.publish(MQTTMessage(topic: Broker.uniqueTopic(), payload: [1])) } throws: { error in
            (error as? TransportError)?.code == .closed
        }
    }

    @Test func runEndsWhenItsTaskIsCancelledOrTheClientIsShutDown() async throws {
        let cancelled = try await MQTTClient.connect(configuration: Broker.configuration())
        let running = Task { try await cancelled.run() }
        try await Task.sleep(for: .milliseconds(50))
        running.cancel()
        try await running.value
        #expect(!cancelled.isConnected)

        let shutDown = try await MQTTClient.connect(configuration: Broker.configuration())
        async let run: Void = shutDown.run()
        await shutDown.shutdown()
        try await run
    }

    @Test func withReceiverAndWithSenderOwnTheirClients() async throws {
        let topic = Broker.uniqueTopic()
        let url = "mqtt://\(Broker.host):\(Broker.port())/\(topic)?qos=1&cleanstart=true"
        let receiving = try MQTTEndpoint(Endpoint(url + "&clientid=\(Broker.uniqueID("rx"))"))
        let sending = try MQTTEndpoint(Endpoint(url + "&clientid=\(Broker.uniqueID("tx"))"))
        let (subscribed, subscribedContinuation) = AsyncStream<MQTTClient>.makeStream()
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                let id = try await MQTTEventReceiver.withReceiver(endpoint: receiving, formats: .standard) { receiver in
                    subscribedContinuation.yield(receiver.client)
                    let delivery = try #require(try await collect(1, from: receiver.deliveries()).first)
                    delivery.accept()
                    return try delivery.event().id
                }
                #expect(id == sampleEvent.id)
            }
            var clients = subscribed.makeAsyncIterator()
            let receiverClient = try #require(await clients.next())
            let senderClient = try await MQTTEventSender.withSender(endpoint: sending, format: JSONEventFormat()) { sender in
                #expect(sender.topic == topic && sender.qos == .atLeastOnce && sender.mode == .binary)
                try await sender.send(sampleEvent)
                return sender.client
            }
            #expect(!senderClient.isConnected, "withSender shut its client down")
            try await tasks.waitForAll()
            #expect(!receiverClient.isConnected, "withReceiver shut its client down")
        }
    }
}
