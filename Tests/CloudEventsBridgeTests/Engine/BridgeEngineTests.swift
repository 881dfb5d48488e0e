import CloudEvents
import CloudEventsBridge
import CloudEventsTransports
import Logging
import Metrics
import ServiceLifecycle
import Synchronization
import Testing

/// The engine end to end over the in-process binding (no broker): events sent to the
/// route's source arrive at its sink in order, refused ones reach the dead-letter sink with
/// the reason, payloads that are not CloudEvents are wrapped, and a graceful shutdown drains.
@Suite struct BridgeEngineTests {
    static let registry = try! BindingRegistry([InProcessBinding()])
    static let logger = Logger(label: "bridge-test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A unique channel name, so that tests running in parallel do not meet.
    static func channel(_ name: String) -> Endpoint {
        try! Endpoint("memory://\(name)-\(UInt32.random(in: 0...UInt32.max))")
    }

    static func event(_ index: Int, subject: String? = nil) -> CloudEvent {
        CloudEvent(
            id: "e-\(index)", source: "/test", type: "com.example.test", dataContentType: "application/json", subject: subject,
            data: .json(try! RawJSON(validating: "{\"n\":\(index)}")))
    }

    /// Runs `bridge` in a service group while `body` runs, then shuts it down gracefully.
    static func running<T: Sendable>(_ bridge: Bridge, _ body: () async throws -> T) async throws -> T {
        let group = ServiceGroup(configuration: .init(services: [bridge], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            defer { tasks.cancelAll() }
            let result = try await body()
            await group.triggerGracefulShutdown()
            try await tasks.next()
            return result
        }
    }

    /// Receives from `endpoint` until `count` deliveries were judged by `settle` (bounded by
    /// `timeout`), returning the events in arrival order.
    static func receive(
        _ count: Int, from endpoint: Endpoint, timeout: Duration = .seconds(90),
        settle: @escaping @Sendable (Delivery, CloudEvent) -> Void = { delivery, _ in delivery.accept() }
    ) async throws -> [CloudEvent] {
        try await registry.binding(for: endpoint).withReceiver(for: endpoint, options: BindingOptions()) { receiver in
            try await withThrowingTaskGroup(of: [CloudEvent]?.self) { group in
                group.addTask {
                    var events: [CloudEvent] = []
                    for try await delivery in receiver.deliveries() {
                        let event = try delivery.event()
                        settle(delivery, event)
                        events.append(event)
                        if events.count == count { break }
                    }
                    return events
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let events = try await group.next() ?? nil else {
                    Issue.record("timed out waiting for \(count) events at \(endpoint)")
                    return []
                }
                return events
            }
        }
    }

    static func send(_ events: [CloudEvent], to endpoint: Endpoint) async throws {
        try await registry.binding(for: endpoint).withSender(for: endpoint, options: BindingOptions()) { sender in
            for event in events { _ = try await sender.send(event) }
        }
    }

    static func memoryRoute(_ name: String, source: Endpoint, sink: Endpoint) -> RouteConfiguration {
        var route = RouteConfiguration(name: name, source: source, sink: sink)
        route.buffer.storage = .memory
        route.retry.backoff = .exponential(initial: .milliseconds(10), maximum: .milliseconds(50))
        return route
    }

    @Test func eventsArriveInOrderOnceEach() async throws {
        let source = Self.channel("src")
        let sink = Self.channel("dst")
        let bridge = try Bridge(
            configuration: BridgeConfiguration(routes: [Self.memoryRoute("order", source: source, sink: sink)]),
            registry: Self.registry, logger: Self.logger)
        let events = (0..<200).map { Self.event($0) }
        let received = try await Self.running(bridge) {
            async let received = Self.receive(events.count, from: sink)
            try await Self.send(events, to: source)
            return try await received
        }
        // One ordering key (the in-process channel has no topic): strictly in order.
        #expect(received.map(\.id) == events.map(\.id))
        let snapshot = try #require(bridge.snapshots().first)
        #expect(snapshot.received == 200)
        #expect(snapshot.delivered == 200)
        #expect(snapshot.droppedTotal == 0)
    }

    @Test func aRefusedEventIsDeadLetteredWithTheReasonWhileTheRestFlow() async throws {
        let source = Self.channel("src")
        let sink = Self.channel("dst")
        let deadLetter = Self.channel("dlq")
        var route = Self.memoryRoute("poison", source: source, sink: sink)
        route.deadLetter = deadLetter
        route.orderingKey = .none
        let bridge = try Bridge(
            configuration: BridgeConfiguration(routes: [route]), registry: Self.registry, logger: Self.logger)
        let events = (0..<20).map { Self.event($0) }
        let (good, dead) = try await Self.running(bridge) {
            // Twenty arrive; e-7 is refused (a refusal is final: it is not sent again).
            async let good = Self.receive(20, from: sink) { delivery, event in
                if event.id == "e-7" {
                    delivery.reject(reason: "poison", condition: ErrorCondition("com.example:poison"))
                } else {
                    delivery.accept()
                }
            }
            async let dead = Self.receive(1, from: deadLetter)
            try await Self.send(events, to: source)
            return (try await good, try await dead)
        }
        #expect(Set(good.map(\.id)).count == 20)
        let letter = try #require(dead.first)
        #expect(letter.id == "e-7")
        #expect(letter.extensions["deadletterroute"] == .string("poison"))
        #expect(letter.extensions["deadletterattempts"] == .integer(1))
        guard case .string(let reason)? = letter.extensions["deadletterreason"] else {
            Issue.record("no deadletterreason")
            return
        }
        #expect(reason.contains("poison"))
        // The sink's condition travels in the last error.
        guard case .string(let error)? = letter.extensions["deadlettererror"] else {
            Issue.record("no deadlettererror")
            return
        }
        #expect(error.contains("[com.example:poison]"))
        #expect(bridge.snapshots().first?.deadLettered == 1)
    }

    @Test func aPayloadThatIsNotACloudEventIsWrappedWithAStableID() async throws {
        let source = Self.channel("src")
        let sink = Self.channel("dst")
        var route = Self.memoryRoute("wrap", source: source, sink: sink)
        route.nonCloudEvents = .wrap(type: "com.example.raw", source: "/raw")
        let bridge = try Bridge(
            configuration: BridgeConfiguration(routes: [route]), registry: Self.registry, logger: Self.logger)
        let raw = Message(
            content: .structured(StructuredContent(mediaType: "application/json", body: Array("{\"temp\":21}".utf8))),
            metadata: [":topic": "sensors/kitchen"])
        let received = try await Self.running(bridge) {
            async let received = Self.receive(2, from: sink)
            try await Self.registry.binding(for: source).withSender(for: source, options: BindingOptions()) { sender in
                _ = try await sender.send(raw)
                _ = try await sender.send(raw)
            }
            return try await received
        }
        #expect(received.count == 2)
        let first = try #require(received.first)
        #expect(first.type == "com.example.raw")
        #expect(first.source == "/raw")
        #expect(first.subject == "sensors/kitchen")
        // Its media type (JSON) travels as datacontenttype, so the payload reads back as JSON.
        #expect(first.dataContentType == "application/json")
        #expect(first.data == .json(try RawJSON(validating: "{\"temp\":21}")))
        #expect(received.last?.id == first.id)
    }

    /// What an MQTT 3.1.1 publisher's event looks like to an MQTT 5 subscriber: no metadata,
    /// a JSON event as the payload. It is read as structured JSON, not dead-lettered.
    @Test func anUnmarkedJSONEventIsReadAsStructured() async throws {
        let source = Self.channel("src")
        let sink = Self.channel("dst")
        var route = Self.memoryRoute("legacy", source: source, sink: sink)
        route.outputMode = .binary
        let bridge = try Bridge(
            configuration: BridgeConfiguration(routes: [route]), registry: Self.registry, logger: Self.logger)
        let body = Array(#" {"specversion":"1.0","id":"old-1","source":"/device","type":"t","data":{"x":1}}"#.utf8)
        let unmarked = Message(content: .binary(attributes: [], data: body), metadata: [":topic": "legacy/1"])
        let received = try await Self.running(bridge) {
            async let received = Self.receive(1, from: sink)
            try await Self.registry.binding(for: source).withSender(for: source, options: BindingOptions()) { sender in
                _ = try await sender.send(unmarked)
            }
            return try await received
        }
        #expect(received.first?.id == "old-1")
        #expect(received.first?.source == "/device")
    }

    @Test func withoutADeadLetterSinkARefusalIsACountedDrop() async throws {
        let source = Self.channel("src")
        let sink = Self.channel("dst")
        let bridge = try Bridge(
            configuration: BridgeConfiguration(routes: [Self.memoryRoute("drop", source: source, sink: sink)]),
            registry: Self.registry, logger: Self.logger)
        try await Self.running(bridge) {
            async let received = Self.receive(3, from: sink) { delivery, event in
                if event.id == "e-1" { delivery.reject(reason: "no") } else { delivery.accept() }
            }
            try await Self.send((0..<3).map { Self.event($0) }, to: source)
            _ = try await received
            // The drop is counted after the refusal comes back.
            for _ in 0..<100 where bridge.snapshots().first?.droppedTotal != 1 { try await Task.sleep(for: .milliseconds(20)) }
        }
        let snapshot = try #require(bridge.snapshots().first)
        #expect(snapshot.dropped[.noDeadLetterSink] == 1)
        #expect(snapshot.delivered == 2)
    }

    @Test func duplicateRouteNamesAndUnknownSchemesAreRefused() throws {
        let source = Self.channel("src")
        let route = Self.memoryRoute("twice", source: source, sink: Self.channel("dst"))
        #expect(throws: BridgeError.self) {
            _ = try Bridge(
                configuration: BridgeConfiguration(routes: [route, route]), registry: Self.registry, logger: Self.logger)
        }
        let unknown = RouteConfiguration(name: "x", source: source, sink: try Endpoint("http://127.0.0.1:1/x"))
        #expect(throws: BridgeError.self) {
            _ = try Bridge(configuration: BridgeConfiguration(routes: [unknown]), registry: Self.registry, logger: Self.logger)
        }
    }
}
