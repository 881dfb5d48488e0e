import CloudEvents
import CloudEventsTestSupport
import Testing

/// `ce bridge` through a broker restart, and three instances sharing one MQTT 5 shared
/// subscription.
@Suite(.mqttBroker, .timeLimit(.minutes(2)))
struct BrokerFaultTests {
    /// A mosquitto of the test's own, restarted with its persistence (what
    /// `Scripts/brokers restart-mqtt` does to the shared one, which other suites of the same
    /// run are using; see ``PrivateMosquitto``).
    @Test func aBrokerRestartedMidStreamLosesNothing() async throws {
        try await FaultRun.with("brokerrestart") { run in
            let broker = try await PrivateMosquitto(directory: run.directory)
            try await run.startBridge(run.route(brokerPort: broker.port))
            try await EventPublisher.withPublisher(host: "127.0.0.1", port: broker.port) { publisher in
                try await publisher.publish(0..<60, prefix: run.prefix, topic: run.topic, interval: .milliseconds(5))
                #expect(await run.sink.waitUntil(distinct: 1, timeout: .seconds(60)), "nothing flowed before the restart")
                try await broker.restart()
                // The publisher waits through its reconnect; the bridge reconnects and resubscribes.
                try await publisher.publish(60..<150, prefix: run.prefix, topic: run.topic, interval: .milliseconds(5))
            }
            await run.expectDelivered(TestEvents.ids(0..<150, prefix: run.prefix))
            await broker.stop()
        }
    }

    @Test func threeInstancesOnOneSharedSubscriptionDeliverEveryEvent() async throws {
        try await FaultRun.with("shared") { run in
            let group = Broker.uniqueID("g")
            var instances: [BridgeProcess] = []
            for instance in 0..<3 {
                var route = run.route()
                route.filter = "$share/\(group)/\(run.topic)/#"
                route.clientID = Broker.uniqueID("shared\(instance)")
                route.bufferDirectory = "\(run.directory)/buffer-\(instance)"
                route.extraArguments = ["--metrics-listen", "127.0.0.1:0"]
                instances.append(try await run.startBridge(route))
            }
            try await EventPublisher.withPublisher { publisher in
                try await publisher.publish(0..<150, prefix: run.prefix, topic: run.topic, interval: .milliseconds(2))
            }
            await run.expectDelivered(TestEvents.ids(0..<150, prefix: run.prefix))
            #expect(run.sink.duplicateCount == 0, "without a restart, the shared subscription delivers each event once")
            // The broker split the stream: every instance delivered a share.
            var shares: [Double] = []
            for instance in instances { shares.append(try await instance.metric("ce_bridge_delivered_total")) }
            print("[shared] delivered per instance: \(shares.map { Int($0) })")
            #expect(shares.allSatisfy { $0 > 0 }, "an instance delivered nothing: \(shares)")
            #expect(shares.reduce(0, +) == 150)
        }
    }
}
