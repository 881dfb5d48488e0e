import CloudEvents
import CloudEventsMQTT
import Foundation
import Testing

/// The wire shape as clients we did not write see it: `mosquitto_sub` prints what our
/// binding sent, and messages `mosquitto_pub` sends with hand-written properties decode.
@Suite(.mqttBroker, .timeLimit(.minutes(1)))
struct MQTTWireTests {
    /// Publishes `message` retained (so a subscriber started afterwards gets it at once), reads it
    /// with `mosquitto_sub -F %j`, clears it, and returns mosquitto_sub's JSON.
    func seenByMosquittoSub(_ message: MQTTMessage) async throws -> [String: Any] {
        var retained = message
        retained.retain = true
        try await MQTTClient.withClient(configuration: Broker.configuration()) { client in
            try await client.publish(retained)
        }
        let sub = try CommandLineTool(
            tool("mosquitto_sub"),
            [
                "-V", "5", "-h", Broker.host, "-p", "\(Broker.port())", "-t", message.topic, "-C", "1", "-W", "60", "-F", "%j"
            ])
        let (status, output) = await sub.finish()
        try await MQTTClient.withClient(configuration: Broker.configuration()) { client in
            try await client.publish(MQTTMessage(topic: message.topic, payload: [], retain: true))
        }
        #expect(status == 0, "mosquitto_sub: \(output)")
        let json = try JSONSerialization.jsonObject(with: Data(output.utf8))
        return try #require(json as? [String: Any])
    }

    @Test func binaryModeAsMosquittoSubSeesIt() async throws {
        let topic = Broker.uniqueTopic()
        let seen = try await seenByMosquittoSub(try sampleEvent.mqttMessage(topic: topic))
        let properties = try #require(seen["properties"] as? [String: Any])
        #expect(properties["content-type"] as? String == "application/json")
        let userProperties = try #require(properties["user-properties"] as? [String: String])
        #expect(userProperties == sampleUserProperties)
        // The payload is the data, as it is.
        #expect(seen["payload"] as? String == #"{"a":1,"text":"hello"}"#)
        #expect(seen["topic"] as? String == topic)
    }

    @Test func structuredModeAsMosquittoSubSeesIt() async throws {
        let topic = Broker.uniqueTopic()
        let seen = try await seenByMosquittoSub(try sampleEvent.mqttMessage(topic: topic, mode: .structured))
        let properties = try #require(seen["properties"] as? [String: Any])
        #expect(properties["content-type"] as? String == "application/cloudevents+json")
        #expect(properties["user-properties"] == nil)
        let text = try #require(seen["payload"] as? String)
        let payload = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(payload["id"] as? String == sampleEvent.id)
        #expect(payload["specversion"] as? String == "1.0")
    }

    @Test func aMessageFromMosquittoPubWithHandWrittenPropertiesDecodes() async throws {
        let topic = Broker.uniqueTopic()
        try await MQTTClient.withClient(configuration: Broker.configuration()) { client in
            let stream = try await client.subscribe(to: topic)
            let pub = try CommandLineTool(
                tool("mosquitto_pub"),
                [
                    "-V", "5", "-h", Broker.host, "-p", "\(Broker.port())", "-t", topic, "-q", "1", "-m", "21.5 °C",
                    "-D", "PUBLISH", "content-type", "text/plain; charset=utf-8",
                    "-D", "PUBLISH", "user-property", "specversion", "1.0",
                    "-D", "PUBLISH", "user-property", "id", "pub-1",
                    "-D", "PUBLISH", "user-property", "source", "urn:sensor:7",
                    "-D", "PUBLISH", "user-property", "type", "com.example.temperature",
                    "-D", "PUBLISH", "user-property", "time", "2026-11-22T10:00:00Z",
                    "-D", "PUBLISH", "user-property", "room", "kitchen",
                    "-D", "PUBLISH", "user-property", "Trace-Id", "t-42"
                ])
            #expect(await pub.finish().status == 0)
            let delivery = try #require(try await collect(1, from: stream).first)
            let event = try delivery.event()
            #expect(event.id == "pub-1")
            #expect(event.source == "urn:sensor:7")
            #expect(event.type == "com.example.temperature")
            #expect(event.time == (try Timestamp(rfc3339: "2026-11-22T10:00:00Z")))
            #expect(event.dataContentType == "text/plain; charset=utf-8")
            #expect(event.extensions == ["room": "kitchen"])
            #expect(event.data?.bodyBytes(contentType: event.dataContentType) == Array("21.5 °C".utf8))
            #expect(delivery.message.metadata["Trace-Id"] == "t-42")
        }
    }

    @Test func aStructuredMessageFromAnMQTT311PublisherDecodes() async throws {
        let topic = Broker.uniqueTopic()
        try await MQTTClient.withClient(configuration: Broker.configuration(.v311)) { client in
            let stream = try await client.subscribe(to: topic)
            let body = String(decoding: try JSONEventFormat().encode(sampleEvent), as: UTF8.self)
            let pub = try CommandLineTool(
                tool("mosquitto_pub"),
                [
                    "-V", "mqttv311", "-h", Broker.host, "-p", "\(Broker.port())", "-t", topic, "-q", "1", "-m", body
                ])
            #expect(await pub.finish().status == 0)
            let delivery = try #require(try await collect(1, from: stream).first)
            #expect(delivery.message.contentMode == .structured)
            #expect(differences(sampleEvent, try delivery.event()) == [])
        }
    }
}
