import CloudEvents
import Testing

@testable import CloudEventsMQTT

/// A client that comes back to its persistent session gets what was published while it was
/// away, although the broker sends those messages right after CONNACK, before the client
/// has made its subscription again (they used to be dropped for want of a consumer).
@Suite(.mqttBroker, .timeLimit(.minutes(1)))
struct MQTTSessionResumeTests {
    static func receive(_ count: Int, from stream: DeliveryStream) async throws -> [String] {
        try await withThrowingTaskGroup(of: [String].self) { group in
            group.addTask {
                var ids: [String] = []
                for try await delivery in stream {
                    ids.append(try delivery.event().id)
                    delivery.accept()
                    if ids.count == count { break }
                }
                return ids
            }
            group.addTask {
                try await Task.sleep(for: .seconds(20))
                return []
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    @Test(arguments: [MQTTProtocolVersion.v5, .v311])
    func messagesQueuedWhileAwayArriveInOrderAfterTheSubscriptionIsMadeAgain(version: MQTTProtocolVersion) async throws {
        let clientID = Broker.uniqueID("resume")
        let topic = Broker.uniqueTopic()
        var configuration = Broker.configuration(version, clientID: clientID, cleanStart: false)
        // The first visit makes the session and its subscription, then leaves.
        let first = try await MQTTClient.connect(configuration: configuration)
        _ = try await first.subscribe(to: topic, qos: .atLeastOnce)
        await first.shutdown()

        let count = 50
        try await MQTTClient.withClient(configuration: Broker.configuration(.v5)) { publisher in
            for index in 0..<count {
                var event = CloudEvent(id: "\(index)", source: "/s", type: "t")
                event.dataContentType = "application/json"
                try await publisher.publish(try event.mqttMessage(topic: topic, qos: .atLeastOnce, mode: .structured))
            }
        }
        // Give the broker time to queue them all for the absent session.
        try await Task.sleep(for: .milliseconds(200))

        configuration.cleanStart = false
        try await MQTTClient.withClient(configuration: configuration) { client in
            // The queued messages may already be here: they wait for this subscription.
            try await Task.sleep(for: .milliseconds(300))
            let stream = try await client.subscribe(to: topic, qos: .atLeastOnce)
            let ids = try await Self.receive(count, from: stream)
            #expect(ids == (0..<count).map(String.init))
        }
        // Leave no session behind.
        var cleanup = configuration
        cleanup.cleanStart = true
        cleanup.sessionExpiry = .zero
        try await MQTTClient.withClient(configuration: cleanup) { _ in }
    }
}
