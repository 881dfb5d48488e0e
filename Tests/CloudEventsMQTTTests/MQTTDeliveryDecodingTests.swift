import CloudEvents
import CloudEventsConformance
import Testing

@testable import CloudEventsMQTT

/// What a delivery says about the PUBLISH it carries, now that an ordinary binary-mode
/// event is decoded once by the client (the fast path) and its message built only when
/// asked for: the same event, message and errors as the message layer gives for the
/// PUBLISH as it arrived.
@Suite(.mqttBroker, .timeLimit(.minutes(2)))
struct MQTTDeliveryDecodingTests {
    static let required: [MQTTUserProperty] = [
        .init("specversion", "1.0"), .init("id", "1"), .init("source", "/s"), .init("type", "t")
    ]

    @Test func deliveriesDecodeAsTheMessageLayerDoes() async throws {
        let topic = Broker.uniqueTopic("deliverydecoding")
        let published: [MQTTMessage] = [
            // Ordinary (the fast path), with foreign User Properties for the metadata.
            try sampleEvent.mqttMessage(topic: topic),
            MQTTMessage(
                topic: topic, payload: Array("21.5".utf8), contentType: "text/plain",
                userProperties: Self.required + [.init("Trace-Id", "a"), .init("ext", "v"), .init("Trace-Id", "b")]),
            MQTTMessage(topic: topic, userProperties: Self.required + [.init("ts", "2020-01-01T00:00:00Z")]),
            // Left to the general path: a repeat, a contradiction, specversion 0.3, invalid, structured.
            MQTTMessage(topic: topic, userProperties: Self.required + [.init("id", "2")]),
            MQTTMessage(
                topic: topic, payload: [1], contentType: "text/plain",
                userProperties: Self.required + [.init("datacontenttype", "application/json")]),
            MQTTMessage(
                topic: topic,
                userProperties: [.init("specversion", "0.3"), .init("id", "1"), .init("source", "/s"), .init("type", "t")]),
            MQTTMessage(topic: topic, userProperties: Self.required + [.init("time", "yesterday")]),
            try sampleEvent.mqttMessage(topic: topic, mode: .structured)
        ]
        let extensionTypes: ExtensionTypes = ["ts": .timestamp]
        try await MQTTClient.withClient(configuration: Broker.configuration()) { client in
            let stream = try await client.subscribe(to: topic, qos: .atLeastOnce, extensionTypes: extensionTypes)
            for message in published { try await client.publish(message) }
            let deliveries = try await collect(published.count, from: stream)
            #expect(deliveries.count == published.count)
            for (delivery, sent) in zip(deliveries, published) {
                // As it arrives: QoS granted, not retained.
                var received = sent
                received.qos = .atLeastOnce
                received.retain = false
                let reader = MQTTMessageReader(received)
                let expected = Result { () throws(MessageError) in
                    try reader.generalEvent(formats: .standard, extensionTypes: extensionTypes)
                }
                let (message, conflict) = reader.messageAndConflict()
                if let conflict {
                    #expect(throws: conflict) { try delivery.event() }
                } else {
                    #expect(Result { () throws(MessageError) in try delivery.event() } == expected, "\(sent)")
                }
                #expect(delivery.message == message, "\(sent)")
                #expect(delivery.message.metadata[MQTTMessageReader.MetadataKey.topic] == topic)
                // Other extension types: decoded from the message, as before.
                let untyped = Result { () throws(MessageError) in try delivery.event(extensionTypes: ExtensionTypes.none) }
                #expect(
                    untyped == Result { () throws(MessageError) in try message.event(extensionTypes: ExtensionTypes.none) },
                    "\(sent)")
                delivery.accept()
            }
            #expect(deliveries.first?.message.metadata["Trace-Id"] == nil)
            #expect(deliveries.dropFirst().first?.message.metadata["Trace-Id"] == "a, b")
            #expect(try deliveries.dropFirst(2).first?.event().extensions["ts"]?.type == .timestamp)
        }
    }
}
