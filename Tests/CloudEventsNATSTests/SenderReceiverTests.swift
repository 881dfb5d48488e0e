import CloudEvents
import CloudEventsNATS
import CloudEventsProtobuf
import CloudEventsTestSupport
import Testing

/// NATSEventSender → nats-server → NATSEventReceiver: every mode × format, metadata, local
/// settlement, an invalid message in the stream, queue groups, wildcards and back-pressure.
@Suite("NATS events through nats-server", NATSBroker.gate)
struct SenderReceiverTests {
    static let formats = EventFormatRegistry([JSONEventFormat(), ProtobufEventFormat()])

    static let cases: [(ContentMode, String)] = [(.binary, "json"), (.structured, "json"), (.structured, "protobuf")]

    static func format(_ name: String) -> any EventFormat {
        name == "protobuf" ? ProtobufEventFormat() : JSONEventFormat()
    }

    @Test(arguments: cases)
    func roundTrip(mode: ContentMode, format: String) async throws {
        let subject = NATSBroker.uniqueSubject()
        try await within {
            try await NATSClient.withClient(configuration: NATSBroker.configuration()) { client in
                let receiver = try await NATSEventReceiver.subscribe(client: client, subject: subject, formats: Self.formats)
                try await client.flush()
                let sender = try NATSEventSender(client: client, subject: subject, mode: mode, format: Self.format(format))
                let event = NATSBroker.event("rt-\(mode)-\(format)")
                try await sender.send(event)
                var iterator = receiver.deliveries().makeAsyncIterator()
                let delivery = try #require(try await iterator.next())
                #expect(try delivery.event() == event)
                #expect(delivery.message.contentMode == mode)
                #expect(delivery.message.metadata[NATSMessageReader.MetadataKey.subject] == subject)
                #expect(delivery.message.metadata[NATSMessageReader.MetadataKey.replyTo] == nil)
                #expect(delivery.isRedelivered == nil)
                #expect(delivery.redeliveryCount == nil)
                #expect(delivery.accept())
                #expect(await delivery.settlementOutcome() == .local)
            }
        }
    }

    /// A message whose structured body passes through untouched, and the trace context the
    /// message's metadata carries, as headers.
    @Test func aMessageKeepsItsShapeAndTraceContext() async throws {
        let subject = NATSBroker.uniqueSubject()
        try await within {
            try await NATSClient.withClient(configuration: NATSBroker.configuration()) { client in
                let receiver = try await NATSEventReceiver.subscribe(client: client, subject: subject, formats: Self.formats)
                try await client.flush()
                let sender = try NATSEventSender(client: client, subject: subject)
                let body = try JSONEventFormat().encode(NATSBroker.event("m1"))
                let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
                try await sender.send(
                    Message(
                        content: .structured(StructuredContent(mediaType: "application/cloudevents+json", body: body)),
                        metadata: ["traceparent": traceparent, ":subject": "ignored"]))
                var iterator = receiver.deliveries().makeAsyncIterator()
                let delivery = try #require(try await iterator.next())
                #expect(
                    delivery.message.content
                        == .structured(StructuredContent(mediaType: "application/cloudevents+json", body: body)))
                #expect(delivery.message.metadata["traceparent"] == traceparent)
                #expect(delivery.message.metadata[NATSMessageReader.MetadataKey.subject] == subject)
                #expect(try delivery.event() == NATSBroker.event("m1"))
                delivery.accept()
            }
        }
    }

    /// A message that is no CloudEvent becomes a delivery whose `event()` throws the mapping's
    /// error, and the subscription goes on; every settlement is local.
    @Test func anInvalidMessageIsADeliveryThatThrowsAndTheStreamGoesOn() async throws {
        let subject = NATSBroker.uniqueSubject()
        try await within {
            try await NATSClient.withClient(configuration: NATSBroker.configuration()) { client in
                let receiver = try await NATSEventReceiver.subscribe(client: client, subject: subject, formats: Self.formats)
                try await client.flush()
                var missingID = NATSHeaders()
                missingID.append(name: "ce-specversion", value: "1.0")
                missingID.append(name: "ce-source", value: "/s")
                missingID.append(name: "ce-type", value: "t")
                try await client.publish(NATSMessage(subject: subject, headers: missingID, payload: Array("x".utf8)))
                var badEscape = NATSHeaders()
                badEscape.append(name: "ce-specversion", value: "1.0")
                badEscape.append(name: "ce-id", value: "%G1")
                try await client.publish(NATSMessage(subject: subject, headers: badEscape))
                try await client.publish(NATSMessage(subject: subject, payload: Array("not json".utf8)))
                try await NATSEventSender(client: client, subject: subject).send(NATSBroker.event("after"))

                var iterator = receiver.deliveries().makeAsyncIterator()
                for expected in ["id", "ce-id", "JSON"] {
                    let delivery = try #require(try await iterator.next())
                    do {
                        _ = try delivery.event()
                        Issue.record("an invalid message decoded")
                    } catch {
                        #expect("\(error)".contains(expected), "\(error)")
                    }
                    #expect(delivery.message.metadata[NATSMessageReader.MetadataKey.subject] == subject)
                    #expect(delivery.reject(reason: "\(expected)"))
                    #expect(await delivery.settlementOutcome() == .local)
                }
                let valid = try #require(try await iterator.next())
                #expect(try valid.event().id == "after")
                valid.release()
                #expect(await valid.settlementOutcome() == .local)
            }
        }
    }

    /// Two receivers in one queue group share the messages: each gets some, none gets one twice.
    @Test func aQueueGroupSpreadsTheMessagesOverItsMembers() async throws {
        let subject = NATSBroker.uniqueSubject()
        let count = 40
        try await within {
            try await NATSClient.withClient(configuration: NATSBroker.configuration()) { first in
                try await NATSClient.withClient(configuration: NATSBroker.configuration()) { second in
                    let members = [
                        try await NATSEventReceiver.subscribe(client: first, subject: subject, queueGroup: "workers"),
                        try await NATSEventReceiver.subscribe(client: second, subject: subject, queueGroup: "workers")
                    ]
                    try await first.flush()
                    try await second.flush()
                    try await NATSEventSender.withSender(configuration: NATSBroker.configuration(), subject: subject) {
                        sender in
                        for index in 0..<count { try await sender.send(NATSBroker.event("q\(index)")) }
                    }
                    let received = Locked<[[String]]>([[], []])
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for (index, member) in members.enumerated() {
                            group.addTask {
                                for try await delivery in member.deliveries() {
                                    let id = try delivery.event().id
                                    delivery.accept()
                                    let total = received.withLock { ids in
                                        ids[index].append(id)
                                        return ids[0].count + ids[1].count
                                    }
                                    if total == count { break }
                                }
                            }
                        }
                        // Whichever member takes the last message ends its loop; the other ends
                        // once every message is counted.
                        try await group.next()
                        #expect(
                            await pollUntil(timeout: .seconds(30)) { received.withLock { $0[0].count + $0[1].count } == count })
                        group.cancelAll()
                    }
                    let ids = received.withLock { $0 }
                    #expect(ids[0].count + ids[1].count == count)
                    #expect(Set(ids[0] + ids[1]).count == count, "a message reached two members")
                    #expect(!ids[0].isEmpty && !ids[1].isEmpty, "one member got everything: \(ids[0].count) / \(ids[1].count)")
                }
            }
        }
    }

    /// A subscription with wildcards receives what is published below it, with the subject
    /// each message was published to.
    @Test func wildcardsSubscribeAndTheSubjectIsTheMessages() async throws {
        let prefix = NATSBroker.uniqueSubject()
        try await within {
            try await NATSClient.withClient(configuration: NATSBroker.configuration()) { client in
                let all = try await NATSEventReceiver.subscribe(client: client, subject: "\(prefix).>")
                let one = try await NATSEventReceiver.subscribe(client: client, subject: "\(prefix).*.b")
                try await client.flush()
                try await NATSEventSender(client: client, subject: "\(prefix).a.b").send(NATSBroker.event("w1"))
                try await NATSEventSender(client: client, subject: "\(prefix).a.c.d").send(NATSBroker.event("w2"))
                var iterator = all.deliveries().makeAsyncIterator()
                let first = try #require(try await iterator.next())
                let second = try #require(try await iterator.next())
                #expect(first.message.metadata[":subject"] == "\(prefix).a.b")
                #expect(second.message.metadata[":subject"] == "\(prefix).a.c.d")
                var oneIterator = one.deliveries().makeAsyncIterator()
                #expect(try #require(try await oneIterator.next()).message.metadata[":subject"] == "\(prefix).a.b")
            }
        }
    }

    /// A sender refuses a subject it cannot publish to, and batch mode.
    @Test func aSenderRefusesWildcardsAndBatches() async throws {
        try await within {
            try await NATSClient.withClient(configuration: NATSBroker.configuration()) { client in
                for subject in ["a.*", "a.>", "a..b", ""] {
                    #expect(throws: TransportError.self, "\(subject)") { try NATSEventSender(client: client, subject: subject) }
                }
                #expect(throws: TransportError.self) { try NATSEventSender(client: client, subject: "a", mode: .batch) }
                let sender = try NATSEventSender(client: client, subject: "a")
                let batch = try Message(batch: [NATSBroker.event("b")])
                await #expect(throws: TransportError.self) { try await sender.send(batch) }
            }
        }
    }

    /// A consumer that takes its time: with a capacity of 2 the client pauses the socket, and
    /// every message still arrives, in order.
    @Test func aSlowConsumerGetsEveryMessageInOrder() async throws {
        let subject = NATSBroker.uniqueSubject()
        let count = 200
        try await within(90) {
            try await NATSClient.withClient(configuration: NATSBroker.configuration()) { client in
                let receiver = try await NATSEventReceiver.subscribe(client: client, subject: subject, capacity: 2)
                try await client.flush()
                try await NATSEventSender.withSender(configuration: NATSBroker.configuration(), subject: subject) { sender in
                    for index in 0..<count { try await sender.send(NATSBroker.event("s\(index)")) }
                }
                var ids: [String] = []
                for try await delivery in receiver.deliveries() {
                    ids.append(try delivery.event().id)
                    delivery.accept()
                    if ids.count % 20 == 0 { try await Task.sleep(for: .milliseconds(20)) }
                    if ids.count == count { break }
                }
                #expect(ids == (0..<count).map { "s\($0)" })
            }
        }
    }
}
