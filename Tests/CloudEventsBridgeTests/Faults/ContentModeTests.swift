import CloudEvents
import CloudEventsMQTT
import Testing

/// What comes in as MQTT 5 binary, MQTT 5 structured and MQTT 3.1.1 structured leaves as an
/// HTTP binary-mode CloudEvent with the same attributes and data; a `traceparent` User
/// Property leaves as the `traceparent` header.
@Suite(.mqttBroker, .timeLimit(.minutes(2)))
struct ContentModeTests {
    @Test func mqtt5BinaryAndStructuredInOneRunArriveAsHTTPBinaryWithTheSameAttributes() async throws {
        try await FaultRun.with("mix") { run in
            try await run.startBridge(run.route())
            try await EventPublisher.withPublisher { publisher in
                for index in 0..<40 {
                    let event = TestEvents.event(index, prefix: run.prefix)
                    let encoding: EventPublisher.Encoding = index.isMultiple(of: 2) ? .mqtt5Binary : .mqtt5Structured
                    try await publisher.publish(event, to: "\(run.topic)/\(event.subject ?? "none")", as: encoding)
                }
            }
            await run.expectDelivered(TestEvents.ids(0..<40, prefix: run.prefix))
            expectBinaryAndFaithful(run, count: 40)
        }
    }

    @Test func mqtt311StructuredArrivesAsHTTPBinaryWithTheSameAttributes() async throws {
        try await FaultRun.with("v311") { run in
            var route = run.route()
            route.mqttVersion = "3.1.1"
            try await run.startBridge(route)
            try await EventPublisher.withPublisher { publisher in
                try await publisher.publish(0..<20, prefix: run.prefix, topic: run.topic, as: .mqtt311Structured)
            }
            await run.expectDelivered(TestEvents.ids(0..<20, prefix: run.prefix))
            expectBinaryAndFaithful(run, count: 20)
        }
    }

    @Test func aTraceparentUserPropertyArrivesAsTheTraceparentHeader() async throws {
        try await FaultRun.with("trace") { run in
            try await run.startBridge(run.route())
            let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
            let traceparent = "00-\(traceID)-00f067aa0ba902b7-01"
            let event = TestEvents.event(0, prefix: run.prefix)
            try await EventPublisher.withPublisher { publisher in
                try await publisher.publish(
                    event, to: "\(run.topic)/key-0",
                    userProperties: [MQTTUserProperty("traceparent", traceparent), MQTTUserProperty("tracestate", "vendor=1")])
            }
            await run.expectDelivered([event.id])
            let request = run.sink.latestRequests.first { $0.event?.id == event.id }
            let header = request?.header("traceparent")
            print("[trace] sent traceparent \(traceparent), the sink got \(header ?? "none")")
            // The trace is carried; a bridge that records a span of its own sends its span's id
            // as the parent, so only the trace id and the flags must match.
            #expect(header?.split(separator: "-").count == 4)
            #expect(header?.split(separator: "-").dropFirst().first.map(String.init) == traceID)
            #expect(header?.hasSuffix("-01") == true)
            #expect(request?.header("tracestate") == "vendor=1")
        }
    }

    /// Every accepted request was HTTP binary mode and its event equals the published one.
    private func expectBinaryAndFaithful(_ run: FaultRun, count: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        let requests = run.sink.latestRequests.filter { (200..<300).contains($0.status) }
        #expect(requests.count >= count, sourceLocation: sourceLocation)
        for request in requests {
            guard let arrived = request.event, let index = Int(arrived.id.split(separator: "-").last ?? "") else {
                Issue.record("an accepted request without a test event", sourceLocation: sourceLocation)
                continue
            }
            #expect(
                request.header("ce-id") == arrived.id, "binary mode: attributes as ce- headers", sourceLocation: sourceLocation)
            #expect(request.header("content-type") == "application/json", sourceLocation: sourceLocation)
            let published = TestEvents.event(index, prefix: run.prefix)
            #expect(arrived.source == published.source, sourceLocation: sourceLocation)
            #expect(arrived.type == published.type, sourceLocation: sourceLocation)
            #expect(arrived.subject == published.subject, sourceLocation: sourceLocation)
            #expect(arrived.dataContentType == published.dataContentType, sourceLocation: sourceLocation)
            #expect(arrived.extensions["seq"] == published.extensions["seq"], sourceLocation: sourceLocation)
            #expect(
                arrived.data?.bodyBytes(contentType: arrived.dataContentType)
                    == published.data?.bodyBytes(contentType: published.dataContentType), sourceLocation: sourceLocation)
        }
    }
}
