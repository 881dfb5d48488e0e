import CloudEvents
import CloudEventsConformance
import CloudEventsMQTT
import CloudEventsProtobuf
import Foundation
import Testing

/// The client and the event sender/receiver against the real mosquitto of `Scripts/brokers`.
@Suite(.mqttBroker, .timeLimit(.minutes(2)))
struct MQTTClientTests {
    static let formats = EventFormatRegistry.standard.adding(ProtobufEventFormat())

    struct Case: Sendable, CustomStringConvertible {
        var version: MQTTProtocolVersion
        var mode: ContentMode
        var protobuf: Bool
        var qos: MQTTQoS
        var description: String { "MQTT \(version) \(mode) \(protobuf ? "protobuf" : "json") \(qos)" }
    }

    /// Every mode × format × QoS in MQTT 5, and structured JSON × QoS in MQTT 3.1.1.
    static let cases: [Case] = MQTTQoS.allCases.flatMap { qos in
        [
            Case(version: .v5, mode: .binary, protobuf: false, qos: qos),
            Case(version: .v5, mode: .structured, protobuf: false, qos: qos),
            Case(version: .v5, mode: .structured, protobuf: true, qos: qos),
            Case(version: .v311, mode: .structured, protobuf: false, qos: qos)
        ]
    }

    @Test(arguments: cases)
    func eventsRoundTripThroughTheBroker(_ testCase: Case) async throws {
        let topic = Broker.uniqueTopic("roundtrip")
        try await MQTTClient.withClient(configuration: Broker.configuration(testCase.version)) { client in
            let receiver = try await MQTTEventReceiver.subscribe(
                client: client, filter: topic, qos: testCase.qos, formats: Self.formats)
            let sender = try MQTTEventSender(
                client: client, topic: topic, qos: testCase.qos, mode: testCase.mode,
                format: testCase.protobuf ? ProtobufEventFormat() : JSONEventFormat())
            var sent: [CloudEvent] = []
            for index in 0..<5 {
                var event = sampleEvent
                event.id = "event-\(index)"
                try await sender.send(event)
                sent.append(event)
            }
            let deliveries = try await collect(5, from: receiver.deliveries())
            #expect(deliveries.count == 5)
            for (delivery, expected) in zip(deliveries, sent) {
                let event = try delivery.event()
                #expect(differences(expected, event) == [], "\(testCase)")
                #expect(delivery.message.contentMode == testCase.mode)
                #expect(delivery.message.metadata[MQTTMessageReader.MetadataKey.topic] == topic)
                #expect(delivery.message.metadata[MQTTMessageReader.MetadataKey.qos] == String(testCase.qos.rawValue))
                delivery.accept()
            }
        }
    }

    @Test func manyConcurrentQoS1PublishesAreEachAcknowledged() async throws {
        // Acks race the publish calls: each must still be matched to its own message id.
        let topic = Broker.uniqueTopic()
        try await MQTTClient.withClient(configuration: Broker.configuration()) { client in
            let stream = try await client.subscribe(to: topic)
            let count = 300
            // Read while publishing: on one connection, PUBACKs queue behind unread messages.
            async let received = collect(count, from: stream)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<count {
                    group.addTask {
                        var event = sampleEvent
                        event.id = "\(index)"
                        try await client.publish(
                            try event.mqttMessage(topic: topic, qos: index % 2 == 0 ? .atLeastOnce : .exactlyOnce))
                    }
                }
                try await group.waitForAll()
            }
            let deliveries = try await received
            #expect(Set(try deliveries.map { try $0.event().id }).count == count)
        }
    }

    @Test func aQoS2BurstKeepsTheSubscribersConnection() async throws {
        // mosquitto 2.0.11 can exceed a small Receive Maximum in QoS 2 bursts, which
        // libmosquitto answers by dropping the connection: the client asks for 65535.
        let topic = Broker.uniqueTopic()
        let subscriber = try await MQTTClient.connect(configuration: Broker.configuration())
        let stream = try await subscriber.subscribe(to: topic, qos: .exactlyOnce)
        let count = 500
        async let received = collect(count, from: stream, timeout: .seconds(60))
        try await MQTTClient.withClient(configuration: Broker.configuration()) { publisher in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<count {
                    group.addTask { try await publisher.publish(try sampleEvent.mqttMessage(topic: topic, qos: .exactlyOnce)) }
                }
                try await group.waitForAll()
            }
        }
        #expect(try await received.count == count)
        #expect(subscriber.connectionCount == 1)
        await subscriber.shutdown()
    }

    @Test func aPropertyMQTTCannotCarryFailsThatPublishOnly() async throws {
        let topic = Broker.uniqueTopic()
        try await MQTTClient.withClient(configuration: Broker.configuration()) { client in
            let stream = try await client.subscribe(to: topic)
            // MQTT strings exclude control characters; libmosquitto refuses them.
            let bad = MQTTMessage(topic: topic, userProperties: [.init("note", "bell \u{7}")])
            await #expect { try await client.publish(bad) } throws: { error in
                (error as? TransportError)?.code == .invalidMessage && "\(error)".contains("'note'")
            }
            await #expect { try await client.publish(MQTTMessage(topic: "a\u{0}b")) } throws: { error in
                (error as? TransportError)?.code == .invalidMessage
            }
            // Each side of the printable-ASCII fast path: DEL, a C1 control, a noncharacter
            // and a unit separator are refused; a space, `~` and non-ASCII text are not.
            for value in ["\u{7F}", "\u{85}", "\u{FFFF}", "x\u{1F}"] {
                let refused = MQTTMessage(topic: topic, userProperties: [.init("note", value)])
                await #expect(throws: TransportError.self, "\(value.unicodeScalars.map(\.value))") {
                    try await client.publish(refused)
                }
            }
            // Not [a-z0-9]+, so foreign metadata rather than an attribute.
            let kept = MQTTMessage(topic: topic, userProperties: [.init("Note", " ~é€😀")])
            try await client.publish(kept)
            #expect(try await collect(1, from: stream).first?.message.metadata["Note"] == " ~é€😀")
            try await client.publish(try sampleEvent.mqttMessage(topic: topic))
            #expect(try await collect(1, from: stream).count == 1)
        }
    }

    @Test func aRetainedMessageReachesALaterSubscriberWithTheRetainFlag() async throws {
        let topic = Broker.uniqueTopic()
        try await MQTTClient.withClient(configuration: Broker.configuration()) { client in
            try await client.publish(try sampleEvent.mqttMessage(topic: topic, retain: true))
            let stream = try await client.subscribe(to: topic)
            let delivery = try #require(try await collect(1, from: stream).first)
            #expect(delivery.message.metadata[MQTTMessageReader.MetadataKey.retain] == "true")
            #expect(try delivery.event().id == sampleEvent.id)
            // Clear the retained message.
            try await client.publish(MQTTMessage(topic: topic, payload: [], retain: true))
        }
    }

    @Test func aSharedSubscriptionSplitsMessagesBetweenItsMembers() async throws {
        let topic = Broker.uniqueTopic()
        let group = "g\(UInt16.random(in: 0...UInt16.max))"
        let first = try await MQTTClient.connect(configuration: Broker.configuration())
        let second = try await MQTTClient.connect(configuration: Broker.configuration())
        let firstStream = try await first.subscribe(to: "$share/\(group)/\(topic)")
        let secondStream = try await second.subscribe(to: "$share/\(group)/\(topic)")
        let count = 40
        for index in 0..<count {
            var event = sampleEvent
            event.id = "\(index)"
            try await first.publish(try event.mqttMessage(topic: topic))
        }
        async let a = collect(count, from: firstStream, timeout: .seconds(3))
        async let b = collect(count, from: secondStream, timeout: .seconds(3))
        let (fromFirst, fromSecond) = try await (a, b)
        let ids = try (fromFirst + fromSecond).map { try $0.event().id }
        #expect(ids.count == count, "each message once, to one member")
        #expect(Set(ids).count == count)
        #expect(!fromFirst.isEmpty && !fromSecond.isEmpty, "both members got some (\(fromFirst.count)/\(fromSecond.count))")
        await first.shutdown()
        await second.shutdown()
    }

    @Test func overlappingSubscriptionsEachGetTheMessage() async throws {
        let base = Broker.uniqueTopic()
        let topic = base + "/leaf"
        try await MQTTClient.withClient(configuration: Broker.configuration()) { client in
            let exact = try await client.subscribe(to: topic)
            let wildcard = try await client.subscribe(to: base + "/#")
            try await client.publish(try sampleEvent.mqttMessage(topic: topic))
            #expect(try await collect(1, from: exact).count == 1)
            let viaWildcard = try await collect(1, from: wildcard)
            #expect(viaWildcard.first?.message.metadata[MQTTMessageReader.MetadataKey.topic] == topic)
        }
    }

    @Test func invalidMessagesAreTypedErrorsOnTheirDeliveryAndTheSubscriptionGoesOn() async throws {
        let topic = Broker.uniqueTopic()
        try await MQTTClient.withClient(configuration: Broker.configuration()) { client in
            let stream = try await client.subscribe(to: topic)
            let required: [MQTTUserProperty] = [
                .init("specversion", "1.0"), .init("id", "1"), .init("source", "/s"), .init("type", "t")
            ]
            try await client.publish(MQTTMessage(topic: topic, userProperties: Array(required.dropFirst())))
            try await client.publish(MQTTMessage(topic: topic, userProperties: required + [.init("time", "not a time")]))
            try await client.publish(MQTTMessage(topic: topic, payload: [1, 2], contentType: "application/cloudevents+avro"))
            try await client.publish(try sampleEvent.mqttMessage(topic: topic))
            let deliveries = try await collect(4, from: stream)
            #expect(deliveries.count == 4)
            #expect(throws: MessageError(.missingSpecVersion)) { try deliveries[0].event() }
            #expect { try deliveries[1].event() } throws: { ($0 as? MessageError)?.violations.first?.attribute == "time" }
            #expect(throws: MessageError(.unsupportedFormat("application/cloudevents+avro"))) { try deliveries[2].event() }
            #expect(differences(sampleEvent, try deliveries[3].event()) == [])
        }
    }

    @Test func aWrongPasswordIsAClearNotAuthorizedError() async throws {
        for version in MQTTProtocolVersion.allCases {
            var configuration = Broker.configuration(version)
            configuration.port = Broker.port("CE_TEST_MQTT_AUTH_PORT")
            configuration.username = Broker.environment["CE_TEST_MQTT_USERNAME"]
            configuration.password = "wrong"
            await #expect { try await MQTTClient.connect(configuration: configuration) } throws: { error in
                (error as? TransportError)?.code == .notAuthorized && "\(error)".contains("refused")
            }
            configuration.password = Broker.environment["CE_TEST_MQTT_PASSWORD"]
            let client = try await MQTTClient.connect(configuration: configuration)
            #expect(client.isConnected)
            await client.shutdown()
        }
    }

    @Test func anUnreachableBrokerIsAConnectionFailure() async throws {
        var configuration = Broker.configuration()
        configuration.port = 1  // nothing listens there
        await #expect { try await MQTTClient.connect(configuration: configuration) } throws: { error in
            (error as? TransportError)?.code == .connectionFailed
        }
    }

    @Test func tlsWithTheTestCAAndWithAClientCertificate() async throws {
        let ca = try #require(Broker.environment["CE_TEST_TLS_CA_FILE"])
        var configuration = Broker.configuration()
        configuration.port = Broker.port("CE_TEST_MQTT_TLS_PORT")
        configuration.host = "localhost"  // the name in the test server certificate
        configuration.tls = TLSSettings(trustedCertificatesFile: ca)
        let topic = Broker.uniqueTopic()
        try await MQTTClient.withClient(configuration: configuration) { client in
            let stream = try await client.subscribe(to: topic)
            try await client.publish(try sampleEvent.mqttMessage(topic: topic))
            #expect(differences(sampleEvent, try await collect(1, from: stream).first?.event()) == [])
        }
        // Verification is on by default: the system store does not trust the test CA.
        configuration.tls = TLSSettings()
        await #expect { try await MQTTClient.connect(configuration: configuration) } throws: { error in
            (error as? TransportError)?.code == .connectionFailed
        }
        // Mutual TLS.
        configuration.port = Broker.port("CE_TEST_MQTT_MTLS_PORT")
        configuration.tls = TLSSettings(
            trustedCertificatesFile: ca, certificateChainFile: Broker.environment["CE_TEST_TLS_CLIENT_CERT"],
            privateKeyFile: Broker.environment["CE_TEST_TLS_CLIENT_KEY"])
        try await MQTTClient.withClient(configuration: configuration) { client in
            #expect(client.isConnected)
        }
        configuration.tls = TLSSettings(trustedCertificatesFile: ca)
        await #expect(throws: TransportError.self) { try await MQTTClient.connect(configuration: configuration) }
    }

    @Test func shutdownDrainsInFlightPublishesAndEndsSubscriptions() async throws {
        let topic = Broker.uniqueTopic()
        let watcher = try await MQTTClient.connect(configuration: Broker.configuration())
        let watched = try await watcher.subscribe(to: topic, qos: .exactlyOnce)
        let client = try await MQTTClient.connect(configuration: Broker.configuration())
        let stream = try await client.subscribe(to: topic)
        // Publishes racing the shutdown: each is acknowledged, or fails saying the client
        // closed; none hangs, and every acknowledged one was delivered.
        let publishes = Task {
            await withTaskGroup(of: Bool.self) { group in
                for index in 0..<100 {
                    group.addTask {
                        var event = sampleEvent
                        event.id = "\(index)"
                        do {
                            try await client.publish(try event.mqttMessage(topic: topic, qos: .exactlyOnce))
                            return true
                        } catch {
                            #expect((error as? TransportError)?.code == .closed, "\(error)")
                            return false
                        }
                    }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
        }
        try await Task.sleep(for: .milliseconds(5))
        await client.shutdown()
        let acknowledged = await publishes.value
        #expect(!client.isConnected)
        var received = 0
        for try await _ in stream { received += 1 }  // ends instead of waiting forever
        #expect(received <= 100)
        let delivered = try await collect(acknowledged, from: watched, timeout: .seconds(5))
        #expect(delivered.count == acknowledged, "every acknowledged publish arrived")
        #expect(watcher.connectionCount == 1, "a QoS 2 burst does not break the subscriber's connection")
        await #expect(throws: TransportError.self) { try await client.publish(try sampleEvent.mqttMessage(topic: topic)) }
        await client.shutdown()  // twice is fine
        await watcher.shutdown()
    }
}
