import CloudEvents
import CloudEventsTestSupport
import Foundation
import Synchronization
import Testing

@testable import CloudEventsMQTT

#if canImport(Glibc)
    import Glibc
#endif

/// Reconnection, persistence, back-pressure and wills, against real brokers: the shared
/// one, and a private mosquitto this suite restarts.
@Suite(.mqttBroker, .timeLimit(.minutes(2)))
struct MQTTResilienceTests {
    @Test func aBrokerRestartMidStreamLosesNoQoS1MessageWithAPersistentSession() async throws {
        let broker = try await PrivateBroker()
        defer { broker.stop() }
        var subscriberConfiguration = broker.configuration(clientID: Broker.uniqueID("sub"))
        subscriberConfiguration.cleanStart = false
        let subscriber = try await MQTTClient.connect(configuration: subscriberConfiguration)
        let publisher = try await MQTTClient.connect(configuration: broker.configuration(clientID: Broker.uniqueID("pub")))
        let topic = Broker.uniqueTopic()
        let stream = try await subscriber.subscribe(to: topic, qos: .atLeastOnce)
        let count = 200
        let received = Task {
            // Distinct ids until all arrived (QoS 1 may deliver one twice), or 30 s passed.
            try await withThrowingTaskGroup(of: Set<String>.self) { group in
                group.addTask {
                    var ids = Set<String>()
                    for try await delivery in stream {
                        ids.insert(try delivery.event().id)
                        if ids.count == count { break }
                    }
                    return ids
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(30))
                    return []
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
        }
        for index in 0..<count {
            if index == count / 2 { try await broker.restart() }
            var event = sampleEvent
            event.id = "\(index)"
            // Waits through the restart: the client reconnects, then the publish is acknowledged.
            try await publisher.publish(try event.mqttMessage(topic: topic, qos: .atLeastOnce))
        }
        let ids = try await received.value
        #expect(ids.count == count, "missing: \(Set((0..<count).map(String.init)).subtracting(ids).sorted().prefix(10))")
        #expect(subscriber.connectionCount >= 2, "the subscriber reconnected")
        #expect(publisher.connectionCount >= 2, "the publisher reconnected")
        await publisher.shutdown()
        await subscriber.shutdown()
    }

    @Test func duringALongReconnectBackoffAPublishTimesOutOnTimeAndShutdownIsPrompt() async throws {
        let broker = try await PrivateBroker()
        var configuration = broker.configuration(clientID: Broker.uniqueID("backoff"))
        // The first reconnect comes 8 to 12 s after the loss; the operation timeout is 1 s.
        configuration.reconnect = .exponential(initial: .seconds(10), maximum: .seconds(10))
        configuration.operationTimeout = .seconds(1)
        let client = try await MQTTClient.connect(configuration: configuration)
        broker.stop()
        for _ in 0..<200 where client.isConnected { try await Task.sleep(for: .milliseconds(25)) }
        try #require(!client.isConnected)

        let clock = ContinuousClock()
        let start = clock.now
        await #expect { try await client.publish(MQTTMessage(topic: "t", payload: [1])) } throws: { error in
            (error as? TransportError)?.code == .timedOut
        }
        #expect(clock.now - start < .seconds(5), "failed at its deadline, not after the backoff")

        let shutdownStart = clock.now
        await client.shutdown()
        #expect(clock.now - shutdownStart < .seconds(5), "the backoff does not hold up the shutdown")
        #expect(client.connectionCount == 1)
    }

    @Test func aConsumerPausingLongerThanTheKeepaliveKeepsItsConnectionAndItsMessages() async throws {
        var configuration = Broker.configuration()
        configuration.keepAlive = .seconds(5)
        configuration.receiveBufferCapacity = 8
        let topic = Broker.uniqueTopic()
        let consumer = try await MQTTClient.connect(configuration: configuration)
        let stream = try await consumer.subscribe(to: topic)
        let count = 300
        try await MQTTClient.withClient(configuration: Broker.configuration()) { publisher in
            for index in 0..<count {
                var event = sampleEvent
                event.id = "\(index)"
                try await publisher.publish(try event.mqttMessage(topic: topic, qos: .atLeastOnce))
            }
        }
        // Not reading for more than twice the keepalive (the broker drops a client after 1.5×).
        try await Task.sleep(for: .seconds(12))
        #expect(consumer.isConnected)
        let deliveries = try await collect(count, from: stream, timeout: .seconds(60))
        #expect(deliveries.count == count)
        #expect(try deliveries.map { try $0.event().id } == (0..<count).map(String.init), "all, in order")
        #expect(consumer.connectionCount == 1, "never reconnected")
        await consumer.shutdown()
    }

    @Test func aLostConnectionPublishesTheWillAndTheClientResubscribes() async throws {
        let willTopic = Broker.uniqueTopic("will")
        let topic = Broker.uniqueTopic("after")
        var configuration = Broker.configuration()
        configuration.will = try sampleEvent.mqttMessage(topic: willTopic, qos: .atLeastOnce)
        let watcher = try await MQTTClient.connect(configuration: Broker.configuration())
        let wills = try await watcher.subscribe(to: willTopic)
        let client = try await MQTTClient.connect(configuration: configuration)
        let stream = try await client.subscribe(to: topic)

        client.simulateConnectionLoss()
        let will = try #require(try await collect(1, from: wills).first, "the broker published the will")
        #expect(differences(sampleEvent, try will.event()) == [])

        let deadline = ContinuousClock.now + .seconds(60)
        while client.connectionCount < 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(client.connectionCount == 2)
        // Clean start: the session is gone, so only the client's resubscription brings this.
        try await Task.sleep(for: .milliseconds(200))
        try await watcher.publish(try sampleEvent.mqttMessage(topic: topic))
        #expect(differences(sampleEvent, try await collect(1, from: stream).first?.event()) == [])

        // A clean shutdown sends DISCONNECT: no will.
        await client.shutdown()
        #expect(try await collect(1, from: wills, timeout: .seconds(1)).isEmpty)
        await watcher.shutdown()
    }

    @Test func aQoS0PublishLostWithTheConnectionFailsInsteadOfHanging() async throws {
        // Not a guarantee test, a liveness one: whatever happens to a QoS 0 publish racing a
        // lost connection, the call returns within the operation timeout.
        let topic = Broker.uniqueTopic()
        try await MQTTClient.withClient(configuration: Broker.configuration()) { client in
            async let publishes: Void = withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<100 {
                    group.addTask { try? await client.publish(try sampleEvent.mqttMessage(topic: topic, qos: .atMostOnce)) }
                }
                try await group.waitForAll()
            }
            client.simulateConnectionLoss()
            try await publishes
            try await client.publish(try sampleEvent.mqttMessage(topic: topic, qos: .atLeastOnce))
        }
    }
}

/// A mosquitto of this suite's own (so restarting it disturbs no other test), with
/// persistence in a temporary directory, on a free loopback port: the shared
/// ``PrivateMosquitto`` with this suite's client settings.
final class PrivateBroker: Sendable {
    let mosquitto: PrivateMosquitto
    let directory: URL
    var port: Int { mosquitto.port }

    init() async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ce-mqtt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        mosquitto = try await PrivateMosquitto(directory: directory.path)
    }

    func configuration(clientID: String) -> MQTTClientConfiguration {
        MQTTClientConfiguration(
            host: "127.0.0.1", port: port, clientID: clientID, cleanStart: true, keepAlive: .seconds(5),
            reconnect: .exponential(initial: .milliseconds(50), maximum: .milliseconds(500)),
            operationTimeout: .seconds(20))
    }

    /// SIGTERM (mosquitto saves its sessions and queued messages), then start again.
    func restart() async throws {
        try await mosquitto.restart()
    }

    func stop() {
        mosquitto.stopWaiting()
        try? FileManager.default.removeItem(at: directory)
    }
}
