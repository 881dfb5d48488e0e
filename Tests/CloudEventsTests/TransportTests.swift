import CloudEvents
import Synchronization
import Testing

@Suite("In-process binding")
struct InProcessChannelTests {
    let event = CloudEvent(id: "1", source: "/s", type: "t", data: .json(try! RawJSON(validating: #"{"a":1}"#)))

    @Test(arguments: [ContentMode.binary, .structured])
    func sendReturnsOnceAccepted(mode: ContentMode) async throws {
        var configuration = InProcessChannel.Configuration()
        configuration.mode = mode
        try await InProcessChannel.withChannel(configuration: configuration) { channel in
            async let sent: Void = channel.send(event)
            var iterator = channel.deliveries().makeAsyncIterator()
            let delivery = try #require(try await iterator.next())
            #expect(delivery.message.contentMode == mode)
            var expected = event
            expected.dataContentType = mode == .binary ? "application/json" : nil
            #expect(try delivery.event() == expected)
            #expect(delivery.accept())
            #expect(!delivery.reject(reason: "too late"))
            #expect(delivery.settlement == .accepted)
            try await sent
        }
    }

    @Test func rejectionReachesTheSender() async throws {
        try await InProcessChannel.withChannel { channel in
            let sent = Task { try await channel.send(event) }
            var iterator = channel.deliveries().makeAsyncIterator()
            try #require(try await iterator.next()).reject(reason: "poison")
            let error = try await #require(throws: TransportError.self) { try await sent.value }
            #expect(error.code == .rejected)
            #expect(error.message.contains("poison"))
        }
    }

    @Test func releaseRedeliversUpToTheLimit() async throws {
        var configuration = InProcessChannel.Configuration()
        configuration.maximumDeliveryAttempts = 3
        try await InProcessChannel.withChannel(configuration: configuration) { channel in
            let sent = Task { try await channel.send(event) }
            var iterator = channel.deliveries().makeAsyncIterator()
            try #require(try await iterator.next()).release()
            // Dropping a delivery unsettled releases it too. (A plain scope: test macros
            // would keep the value alive.)
            var secondArrived = false
            do {
                let dropped = try await iterator.next()
                secondArrived = dropped != nil
            }
            #expect(secondArrived)
            let third = try #require(try await iterator.next())
            third.release()
            let error = try await #require(throws: TransportError.self) { try await sent.value }
            #expect(error.code == .notDelivered)
        }
    }

    @Test func releasedThenAccepted() async throws {
        try await InProcessChannel.withChannel { channel in
            async let sent: Void = channel.send(event)
            var iterator = channel.deliveries().makeAsyncIterator()
            try #require(try await iterator.next()).release()
            try #require(try await iterator.next()).accept()
            try await sent
        }
    }

    @Test func closingFailsWaitingSenders() async throws {
        let channel = InProcessChannel()
        channel.close()
        let error = try await #require(throws: TransportError.self) { try await channel.send(event) }
        #expect(error.code == .closed)
    }

    @Test func invalidEventsAreRefusedBeforeSending() async throws {
        let channel = InProcessChannel()
        let error = try await #require(throws: TransportError.self) {
            try await channel.send(CloudEvent(id: "", source: "/s", type: "t"))
        }
        #expect(error.code == .invalidMessage)
    }

    @Test func namedChannelsAreSharedByEndpoint() throws {
        let a = try InProcessChannel.channel(for: Endpoint("memory://shared-test?mode=structured"))
        let b = try InProcessChannel.channel(for: Endpoint("memory://shared-test"))
        #expect(a === b)
        #expect(a.configuration.mode == .structured)
        // A contradicting mode is refused, not silently ignored.
        let error = try #require(throws: TransportError.self) {
            try InProcessChannel.channel(for: Endpoint("memory://shared-test?mode=binary"))
        }
        #expect(error.description.contains("uses mode structured"))
        #expect(throws: TransportError.self) { try InProcessChannel.channel(for: Endpoint("memory://x?format=protobuf")) }
    }
}

@Suite("Delivery stream")
struct DeliveryStreamTests {
    static func delivery(_ id: Int, _ settled: (@Sendable (Settlement) -> Void)? = nil) -> Delivery {
        Delivery(message: try! Message(CloudEvent(id: "\(id)", source: "/s", type: "t")), settle: settled ?? { _ in })
    }

    @Test func preservesOrderAndAppliesBackPressure() async throws {
        let (stream, continuation) = DeliveryStream.makeStream(capacity: 2)
        #expect(continuation.trySend(Self.delivery(1)) == .enqueued)
        #expect(continuation.trySend(Self.delivery(2)) == .enqueued)
        #expect(continuation.trySend(Self.delivery(3)) == .full)
        let producer = Task {
            for id in 3...10 { try await continuation.send(Self.delivery(id)) }
            continuation.finish()
        }
        var ids: [String] = []
        for try await delivery in stream {
            ids.append(try delivery.event().id)
            delivery.accept()
        }
        try await producer.value
        #expect(ids == (1...10).map(String.init))
    }

    @Test func finishingWithAnErrorReachesTheConsumer() async throws {
        let (stream, continuation) = DeliveryStream.makeStream()
        continuation.finish(throwing: TransportError(.connectionFailed, "gone"))
        var iterator = stream.makeAsyncIterator()
        await #expect(throws: TransportError.self) { try await iterator.next() }
    }

    @Test func cancellingTheConsumerReleasesQueuedDeliveriesAndStopsProducers() async throws {
        let (stream, continuation) = DeliveryStream.makeStream(capacity: 1)
        let released = Counter()
        #expect(continuation.trySend(Self.delivery(1) { if $0 == .released { released.increment() } }) == .enqueued)
        let producer = Task { try await continuation.send(Self.delivery(2) { if $0 == .released { released.increment() } }) }
        let consumer = Task {
            var iterator = stream.makeAsyncIterator()
            let first = try await iterator.next()
            first?.accept()
            // Wait forever for a third delivery, until cancelled.
            while try await iterator.next() != nil {}
        }
        try await Task.sleep(for: .milliseconds(50))
        consumer.cancel()
        _ = await consumer.result
        _ = await producer.result
        #expect(continuation.isTerminated)
        #expect(continuation.trySend(Self.delivery(3)) == .terminated)
        // Delivery 2 was either handed over and dropped unsettled, or never taken: released both ways.
        #expect(released.value <= 1)
    }

    @Test func unsettledDroppedDeliveryIsReleased() {
        let settlements = Counter()
        do {
            _ = Self.delivery(1) { if $0 == .released { settlements.increment() } }
        }
        #expect(settlements.value == 1)
    }

    /// A binding that decoded the events to validate them hands them over; asking with other
    /// formats or extension types still decodes the message.
    @Test func alreadyDecodedEventsAreReturnedForTheDefaults() throws {
        let event = CloudEvent(id: "1", source: "/s", type: "t", extensions: ["n": "5"])
        let message = try Message(event, mode: .binary)
        // Deliberately different from what the message decodes to, to see which one is returned.
        let decoded = CloudEvent(id: "decoded", source: "/s", type: "t")
        let delivery = Delivery(
            message: message, formats: .standard, extensionTypes: .none, decodedEvents: [decoded]
        ) { _ in }
        #expect(try delivery.event() == decoded)
        #expect(try delivery.events() == [decoded])
        #expect(try delivery.event(extensionTypes: ExtensionTypes(["n": .integer])).extensions["n"] == 5)
        #expect(try delivery.events(formats: .standard) == [event])
        delivery.accept()
    }
}

/// A thread-safe counter for callbacks.
final class Counter: Sendable {
    private let storage = Mutex(0)
    func increment() { storage.withLock { $0 += 1 } }
    var value: Int { storage.withLock { $0 } }
}

@Suite("Endpoints")
struct EndpointTests {
    @Test func parsesEveryPart() throws {
        let endpoint = try Endpoint("mqtts://user:p%40ss@broker.example:8883/sensors/%23?version=5&QoS=1&mode=binary")
        #expect(endpoint.scheme == "mqtts")
        #expect(endpoint.user == "user")
        #expect(endpoint.password == "p@ss")
        #expect(endpoint.host == "broker.example")
        #expect(endpoint.port == 8883)
        #expect(endpoint.path == "sensors/#")
        #expect(endpoint.option("qos") == "1")
        #expect(endpoint.contentMode == .binary)
        #expect(endpoint.usesTLS)
        #expect(endpoint.description == "mqtts://user:***@broker.example:8883/sensors/%23?version=5&QoS=1&mode=binary")
    }

    @Test func sharedSubscriptionsAndIPv6() throws {
        #expect(try Endpoint("mqtt://[::1]:1883/$share/group/a/+").path == "$share/group/a/+")
        #expect(try Endpoint("mqtt://[::1]:1883/x").host == "::1")
        #expect(try Endpoint("http://localhost:8080/hooks/ce").rawPath == "/hooks/ce")
        #expect(try Endpoint("memory://demo").host == "demo")
        #expect(try Endpoint("nats://127.0.0.1:4222/orders.%3E").path == "orders.>")
    }

    @Test(arguments: [
        "localhost:1883/topic", "mqtt://:1883/x", "mqtt://host:0/x", "mqtt://host:99999/x", "mqtt://host:abc/x",
        "mqtt://host/sensors/#", "mqtt://host/%G1", "mqtt://host/%C0%A0", "memory://x?mode=fast",
        "memory://x?format=xml", "memory://x?mode=binary&mode=structured"
    ])
    func invalidEndpointsSayWhy(text: String) {
        #expect(throws: TransportError.self) { try Endpoint(text) }
    }

    @Test func rawHashGivesAHint() throws {
        let error = try #require(throws: TransportError.self) { try Endpoint("mqtt://host/sensors/#") }
        #expect(error.description.contains("%23"))
    }
}

@Suite("Header value percent-encoding")
struct PercentEncodingTests {
    @Test(arguments: [
        ("Euro € 😀", "Euro%20%E2%82%AC%20%F0%9F%98%80"),
        ("/a%20b", "/a%2520b"),
        (#"say "hi""#, "say%20%22hi%22"),
        ("a+b/c=d:e", "a+b/c=d:e"),
        ("2018-04-05T17:31:00+02:00", "2018-04-05T17:31:00+02:00"),
        ("tab\tand\u{7F}", "tab%09and%7F"),
        ("", "")
    ])
    func encodesExactlyTheRequiredSet(value: String, encoded: String) throws {
        #expect(PercentEncoding.encodeHeaderValue(value) == encoded)
        #expect(try PercentEncoding.decodeHeaderValue(encoded) == value)
    }

    @Test func decodesLowercaseHexQuotedStringsAndRawSpaces() throws {
        #expect(try PercentEncoding.decodeHeaderValue("%e2%82%ac") == "€")
        #expect(try PercentEncoding.decodeHeaderValue(#""quoted \"value\" %41""#) == #"quoted "value" A"#)
        #expect(try PercentEncoding.decodeHeaderValue("legacy raw spaces") == "legacy raw spaces")
        #expect(try PercentEncoding.decodeHeaderValue("a+b") == "a+b")
        #expect(try PercentEncoding.decodeHeaderValue("%2541") == "%41")  // exactly one pass
    }

    @Test(arguments: ["%C0%A0", "%ED%A0%80", "%G1", "%", "%4", "abc%", "%FF", "%E2%82", "\"unterminated", "\"a\\\""])
    func rejectsMalformedAndInvalidUTF8(value: String) {
        #expect(throws: PercentEncoding.DecodingError.self) { try PercentEncoding.decodeHeaderValue(value) }
    }
}
