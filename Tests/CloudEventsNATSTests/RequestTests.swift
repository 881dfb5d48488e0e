import CloudEvents
import CloudEventsNATS
import CloudEventsProtobuf
import Testing

/// CloudEvents over NATS request-reply: a `NATSEventRequester` and a responder that answers
/// with `delivery.accept(reply:)`.
@Suite("NATS request-reply with events", NATSBroker.gate)
struct RequestTests {
    /// Answers each request on `subject` with an event whose id is the request's id + "-reply",
    /// until the client closes; each settlement's outcome goes to `outcomes`.
    private static func respond(
        on client: NATSClient, subject: String, queueGroup: String? = nil, mode: ContentMode = .binary
    ) async throws -> Task<[SettlementOutcome], any Error> {
        let receiver = try await NATSEventReceiver.subscribe(
            client: client, subject: subject, queueGroup: queueGroup,
            formats: EventFormatRegistry([JSONEventFormat(), ProtobufEventFormat()]))
        try await client.flush()
        return Task {
            var outcomes: [SettlementOutcome] = []
            for try await delivery in receiver.deliveries() {
                let request = try delivery.event()
                var reply = request
                reply.id = request.id + "-reply"
                reply.type = "com.example.reply"
                try delivery.accept(reply: Message(reply, mode: mode, format: JSONEventFormat()))
                outcomes.append(await delivery.settlementOutcome())
            }
            return outcomes
        }
    }

    @Test(arguments: [(ContentMode.binary, ContentMode.binary), (.structured, .structured), (.binary, .structured)])
    func aRequestGetsTheRespondersEvent(requestMode: ContentMode, replyMode: ContentMode) async throws {
        let subject = NATSBroker.uniqueSubject()
        try await within {
            try await NATSClient.withClient(configuration: NATSBroker.configuration()) { responder in
                let responding = try await Self.respond(on: responder, subject: subject, mode: replyMode)
                try await NATSClient.withClient(configuration: NATSBroker.configuration()) { client in
                    let requester = try NATSEventRequester(client: client, subject: subject, mode: requestMode)
                    for index in 0..<3 {
                        let request = NATSBroker.event("req\(index)")
                        let reply = try await requester.request(request, timeout: .seconds(30))
                        #expect(reply.id == "req\(index)-reply")
                        #expect(reply.type == "com.example.reply")
                        #expect(reply.data == request.data)
                        #expect(reply.extensions == request.extensions)
                    }
                }
                await responder.close()
                let outcomes = try await responding.value
                #expect(outcomes == [.reachedPeer, .reachedPeer, .reachedPeer])
            }
        }
    }

    /// The message-level request returns the reply as it arrived, its subject the inbox.
    @Test func aMessageRequestReturnsTheReplyMessage() async throws {
        let subject = NATSBroker.uniqueSubject()
        try await within {
            try await NATSClient.withClient(configuration: NATSBroker.configuration()) { responder in
                let responding = try await Self.respond(on: responder, subject: subject)
                try await NATSClient.withClient(configuration: NATSBroker.configuration()) { client in
                    let requester = try NATSEventRequester(client: client, subject: subject)
                    let reply = try await requester.request(try Message(NATSBroker.event("m")), timeout: .seconds(30))
                    #expect(reply.contentMode == .binary)
                    #expect(try reply.event().id == "m-reply")
                    #expect(reply.metadata[NATSMessageReader.MetadataKey.subject]?.hasPrefix("_INBOX.") == true)
                }
                await responder.close()
                #expect(try await responding.value == [.reachedPeer])
            }
        }
    }

    @Test func noResponderIsNotDelivered() async throws {
        try await within {
            try await NATSClient.withClient(configuration: NATSBroker.configuration()) { client in
                let requester = try NATSEventRequester(client: client, subject: NATSBroker.uniqueSubject())
                do {
                    _ = try await requester.request(NATSBroker.event("lonely"), timeout: .seconds(30))
                    Issue.record("a request without responders got a reply")
                } catch let error as TransportError {
                    #expect(error.code == .notDelivered, "\(error)")
                    #expect(error.message.contains("no responders"), "\(error)")
                }
            }
        }
    }

    /// A subscriber that accepts without replying: the request times out.
    @Test func aResponderThatDoesNotAnswerTimesOut() async throws {
        let subject = NATSBroker.uniqueSubject()
        try await within {
            try await NATSClient.withClient(configuration: NATSBroker.configuration()) { client in
                let silent = try await NATSEventReceiver.subscribe(client: client, subject: subject)
                try await client.flush()
                let requester = try NATSEventRequester(client: client, subject: subject)
                let started = ContinuousClock.now
                do {
                    _ = try await requester.request(NATSBroker.event("ignored"), timeout: .milliseconds(500))
                    Issue.record("a request nobody answered got a reply")
                } catch let error as TransportError {
                    #expect(error.code == .timedOut, "\(error)")
                }
                #expect(ContinuousClock.now - started < .seconds(20))
                var iterator = silent.deliveries().makeAsyncIterator()
                let delivery = try #require(try await iterator.next())
                #expect(delivery.message.metadata[NATSMessageReader.MetadataKey.replyTo]?.hasPrefix("_INBOX.") == true)
                delivery.accept()
            }
        }
    }

    /// A reply that is no CloudEvent is the requester's `.invalidMessage`, naming the subject.
    @Test func aReplyThatIsNoEventIsInvalid() async throws {
        let subject = NATSBroker.uniqueSubject()
        try await within {
            try await NATSClient.withClient(configuration: NATSBroker.configuration()) { client in
                let receiver = try await NATSEventReceiver.subscribe(client: client, subject: subject)
                try await client.flush()
                let answering = Task {
                    var iterator = receiver.deliveries().makeAsyncIterator()
                    let delivery = try #require(try await iterator.next())
                    let junk = StructuredContent(mediaType: "application/cloudevents+json", body: Array("{\"no\":1}".utf8))
                    delivery.accept(reply: Message(content: .structured(junk)))
                    return await delivery.settlementOutcome()
                }
                let requester = try NATSEventRequester(client: client, subject: subject)
                do {
                    _ = try await requester.request(NATSBroker.event("q"), timeout: .seconds(30))
                    Issue.record("a junk reply decoded")
                } catch let error as TransportError {
                    #expect(error.code == .invalidMessage, "\(error)")
                    #expect(error.message.contains(subject), "\(error)")
                }
                #expect(try await answering.value == .reachedPeer)
            }
        }
    }

    /// A reply to a message that has no reply subject cannot travel: the outcome says so.
    @Test func aReplyWithoutAReplySubjectFails() async throws {
        let subject = NATSBroker.uniqueSubject()
        try await within {
            try await NATSClient.withClient(configuration: NATSBroker.configuration()) { client in
                let receiver = try await NATSEventReceiver.subscribe(client: client, subject: subject)
                try await client.flush()
                try await NATSEventSender(client: client, subject: subject).send(NATSBroker.event("p"))
                var iterator = receiver.deliveries().makeAsyncIterator()
                let delivery = try #require(try await iterator.next())
                #expect(try delivery.accept(reply: NATSBroker.event("p-reply")))
                guard case .failed(let code, let message) = await delivery.settlementOutcome() else {
                    Issue.record("a reply without a reply subject reached a peer")
                    return
                }
                #expect(code == .invalidMessage)
                #expect(message.contains("no reply subject"), "\(message)")
            }
        }
    }
}
