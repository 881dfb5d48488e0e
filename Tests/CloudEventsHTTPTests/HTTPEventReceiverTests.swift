import AsyncHTTPClient
import CloudEvents
import CloudEventsHTTP
import CloudEventsProtobuf
import HTTPTypes
import NIOHTTP1
import Testing

@Suite("HTTP receiver over loopback", .timeLimit(.minutes(1)))
struct HTTPEventReceiverTests {
    static let registry = EventFormatRegistry.standardWithProtobuf
    static let configuration = HTTPReceiverConfiguration(formats: registry)
    let event = CloudEvent(
        id: "€ 1", source: "/s%20t", type: "com.example", dataContentType: "application/json",
        subject: "say \"hi\"", data: .json(try! RawJSON(validating: #"{"a":[1,2]}"#)))

    enum Shape: String, CaseIterable, Sendable { case binary, structuredJSON, structuredProtobuf, batchJSON, batchProtobuf }

    @Test(arguments: Shape.allCases)
    func everyModeAndFormatIsDelivered(shape: Shape) async throws {
        let other = CloudEvent(id: "2", source: "/s", type: "t")
        let (requestFields, body): (HTTPFields, [UInt8])
        let expected: [CloudEvent]
        switch shape {
        case .binary:
            (requestFields, body) = try event.httpFields(mode: .binary)
            expected = [event]
        case .structuredJSON:
            (requestFields, body) = try event.httpFields(mode: .structured)
            expected = [event]
        case .structuredProtobuf:
            (requestFields, body) = try event.httpFields(mode: .structured, format: ProtobufEventFormat())
            expected = [event]
        case .batchJSON:
            (requestFields, body) = try Message(batch: [event, other]).httpFields()
            expected = [event, other]
        case .batchProtobuf:
            (requestFields, body) = try Message(batch: [event, other], format: ProtobufEventFormat()).httpFields()
            expected = [event, other]
        }
        try await withReceiver(Self.configuration) { port, client, received in
            let response = try await post(client, port: port, fields: requestFields, body: body)
            #expect(response.status == 202)
            let messages = received.all
            try #require(messages.count == 1)
            #expect(try messages[0].events(formats: Self.registry) == expected)
            // A consumer that passes no formats decodes with the receiver's (Protobuf too).
            #expect(received.decoded.first == .some(expected))
        }
    }

    @Test func oversizeBodyGets413AndNeverReachesTheConsumer() async throws {
        var configuration = Self.configuration
        configuration.maximumBodySize = 1024
        let big = CloudEvent(id: "1", source: "/s", type: "t", data: .binary([UInt8](repeating: 7, count: 4096)))
        let (requestFields, body) = try big.httpFields()
        try await withReceiver(configuration) { port, client, received in
            let response = try await post(client, port: port, fields: requestFields, body: body)
            #expect(response.status == 413)
            #expect(received.all.isEmpty)
        }
    }

    @Test func invalidPercentEncodingGets400NamingTheHeader() async throws {
        let requestFields = fields([("ce-specversion", "1.0"), ("ce-id", "%C0%A0"), ("ce-source", "/s"), ("ce-type", "t")])
        try await withReceiver(Self.configuration) { port, client, received in
            let response = try await post(client, port: port, fields: requestFields, body: [])
            #expect(response.status == 400)
            #expect(response.text.contains("ce-id"))
            #expect(!response.text.contains("\n"))
            #expect(received.all.isEmpty)
        }
    }

    @Test func missingRequiredAttributeGets400NamingIt() async throws {
        let requestFields = fields([("ce-specversion", "1.0"), ("ce-id", "1"), ("ce-type", "t")])
        try await withReceiver(Self.configuration) { port, client, received in
            let response = try await post(client, port: port, fields: requestFields, body: [])
            #expect(response.status == 400)
            #expect(response.text.contains("source"))
            #expect(received.all.isEmpty)
        }
    }

    @Test func unknownStructuredFormatGets415() async throws {
        try await withReceiver(Self.configuration) { port, client, _ in
            let response = try await post(
                client, port: port, fields: fields([("Content-Type", "application/cloudevents+avro")]), body: [1, 2])
            #expect(response.status == 415)
        }
    }

    @Test func rejectGets400WithTheReason() async throws {
        let (requestFields, body) = try event.httpFields()
        try await withReceiver(Self.configuration, settle: { $0.reject(reason: "poison: bad amount") }) { port, client, _ in
            let response = try await post(client, port: port, fields: requestFields, body: body)
            #expect(response.status == 400)
            #expect(response.text == "poison: bad amount")
        }
    }

    @Test func releaseGets503() async throws {
        let (requestFields, body) = try event.httpFields()
        try await withReceiver(Self.configuration, settle: { $0.release() }) { port, client, received in
            let response = try await post(client, port: port, fields: requestFields, body: body)
            #expect(response.status == 503)
            #expect(received.all.count == 1)
        }
    }

    @Test func unsettledDropIsReleasedAs503() async throws {
        let (requestFields, body) = try event.httpFields()
        try await withReceiver(Self.configuration, settle: { _ in }) { port, client, _ in
            let response = try await post(client, port: port, fields: requestFields, body: body)
            #expect(response.status == 503)
        }
    }

    @Test func severalRequestsOnOneConnectionAreServedInOrder() async throws {
        try await withReceiver(Self.configuration) { port, client, received in
            for index in 0..<5 {
                let (requestFields, body) = try CloudEvent(id: "\(index)", source: "/s", type: "t").httpFields()
                let result1 = try await post(client, port: port, fields: requestFields, body: body)
                #expect(result1.status == 202)
            }
            #expect(try received.all.map { try $0.event().id } == ["0", "1", "2", "3", "4"])
        }
    }

    @Test func webhookHandshake() async throws {
        try await withReceiver(Self.configuration) { port, client, received in
            let response = try await post(
                client, port: port, method: .OPTIONS,
                fields: fields([("WebHook-Request-Origin", "eventemitter.example.com"), ("WebHook-Request-Rate", "120")]),
                body: [])
            #expect(response.status == 200)
            #expect(response.headers["WebHook-Allowed-Origin"] == ["eventemitter.example.com"])
            #expect(response.headers["WebHook-Allowed-Rate"] == ["*"])
            #expect(response.headers["Allow"] == ["POST"])
            #expect(received.all.isEmpty)
        }
    }

    @Test func webhookHandshakeWithoutRateAndWithAnAllowList() async throws {
        var configuration = Self.configuration
        configuration.webhookAllowedOrigins = ["good.example.com"]
        try await withReceiver(configuration) { port, client, _ in
            let good = try await post(
                client, port: port, method: .OPTIONS, fields: fields([("WebHook-Request-Origin", "good.example.com")]), body: [])
            #expect(good.status == 200)
            #expect(good.headers["WebHook-Allowed-Origin"] == ["good.example.com"])
            #expect(good.headers["WebHook-Allowed-Rate"] == [])
            let bad = try await post(
                client, port: port, method: .OPTIONS, fields: fields([("WebHook-Request-Origin", "evil.example.com")]), body: [])
            #expect(bad.status == 403)
            #expect(bad.headers["WebHook-Allowed-Origin"] == [])
        }
    }

    @Test func otherPathsGet404WhenAPathIsConfigured() async throws {
        var configuration = Self.configuration
        configuration.path = "/events"
        let (requestFields, body) = try event.httpFields()
        try await withReceiver(configuration) { port, client, _ in
            let result2 = try await post(client, port: port, path: "/other", fields: requestFields, body: body)
            #expect(result2.status == 404)
            let result3 = try await post(client, port: port, path: "/events?x=1", fields: requestFields, body: body)
            #expect(result3.status == 202)
        }
    }
}
