import CloudEvents
import CloudEventsHTTP
import CloudEventsProtobuf
import HTTPTypes
import Testing

@Suite("HTTP sender", .timeLimit(.minutes(1)))
struct HTTPEventSenderTests {
    let event = CloudEvent(id: "1", source: "/s", type: "t", subject: "Euro € 😀", data: .binary([1, 2, 3]))
    static let fast = HTTPRetryPolicy(maximumAttempts: 4, backoff: .linear(step: .milliseconds(20), jitter: 0))

    @Test(arguments: [
        (ContentMode.binary, "json"), (.structured, "json"), (.structured, "protobuf"), (.batch, "json"), (.batch, "protobuf")
    ])
    func sendsToTheReceiver(mode: ContentMode, formatName: String) async throws {
        let registry = EventFormatRegistry.standardWithProtobuf
        let format = try #require(registry.format(named: formatName))
        try await withReceiver(HTTPReceiverConfiguration(formats: registry)) { port, _, received in
            let configuration = HTTPSenderConfiguration(url: "http://127.0.0.1:\(port)/", mode: mode, format: format)
            try await HTTPEventSender.withSender(configuration: configuration) { sender in
                let response = try await sender.exchange(event)
                #expect(response.status == .accepted)
                #expect(response.attempts == 1)
                #expect(response.event == nil)
            }
            let messages = received.all
            try #require(messages.count == 1)
            #expect(messages[0].contentMode == mode)
            #expect(try messages[0].events(formats: registry) == [event])
        }
    }

    /// Accepting with a reply event answers 200 with that event, which `exchange` decodes.
    @Test func replyEventComesBackInTheResponse() async throws {
        let reply = CloudEvent(
            id: "reply-1", source: "/receiver", type: "com.example.receipt", dataContentType: "application/json",
            subject: "for 1", data: .json(try RawJSON(validating: #"{"ok":true}"#)))
        try await withReceiver(HTTPReceiverConfiguration(), settle: { _ = try? $0.accept(reply: reply) }) { port, _, _ in
            let configuration = HTTPSenderConfiguration(url: "http://127.0.0.1:\(port)/")
            try await HTTPEventSender.withSender(configuration: configuration) { sender in
                let response = try await sender.exchange(event)
                #expect(response.status == .ok)
                #expect(response.event == reply)
                #expect(response.headerFields[HTTPField.Name("ce-id")!] == "reply-1")
            }
        }
    }

    @Test func rejectionIsATransportErrorWithTheReason() async throws {
        try await withReceiver(settle: { $0.reject(reason: "no thanks") }) { port, _, _ in
            let configuration = HTTPSenderConfiguration(url: "http://127.0.0.1:\(port)/", retry: Self.fast)
            try await HTTPEventSender.withSender(configuration: configuration) { sender in
                let error = try await #require(throws: TransportError.self) { try await sender.send(event) }
                #expect(error.code == .rejected)
                let status = try #require(error.underlying as? HTTPStatusError)
                #expect(status.status == .badRequest)
                #expect(String(decoding: status.body, as: UTF8.self) == "no thanks")
            }
        }
    }

    @Test func retriesAfter503Then429ThenSucceedsWithAnEventInTheResponse() async throws {
        let reply = CloudEvent(id: "reply", source: "/r", type: "t.reply")
        let (replyFields, replyBody) = try reply.httpFields()
        let script: [ScriptedServer.Reply] = [
            .init(status: 503), .init(status: 429, headers: [("Retry-After", "0")]),
            .init(status: 200, headers: replyFields.map { ($0.name.rawName, $0.value) }, body: replyBody)
        ]
        try await ScriptedServer.with(script) { port, server in
            let configuration = HTTPSenderConfiguration(url: "http://127.0.0.1:\(port)/", retry: Self.fast)
            try await HTTPEventSender.withSender(configuration: configuration) { sender in
                let response = try await sender.exchange(event)
                #expect(response.status == .ok)
                #expect(response.attempts == 3)
                #expect(response.event == reply)
            }
            #expect(server.requestTimes.count == 3)
        }
    }

    @Test func retryAfterSecondsIsHonoured() async throws {
        let script: [ScriptedServer.Reply] = [.init(status: 429, headers: [("Retry-After", "1")]), .init(status: 204)]
        try await ScriptedServer.with(script) { port, server in
            let configuration = HTTPSenderConfiguration(url: "http://127.0.0.1:\(port)/", retry: Self.fast)
            try await HTTPEventSender.withSender(configuration: configuration) { sender in
                let result1 = try await sender.exchange(event)
                #expect(result1.status == .noContent)
            }
            let times = server.requestTimes
            try #require(times.count == 2)
            let gap = times[0].duration(to: times[1])
            #expect(gap >= .milliseconds(900))
            #expect(gap < .seconds(10))
        }
    }

    @Test func retryAfterIsCapped() async throws {
        let script: [ScriptedServer.Reply] = [.init(status: 503, headers: [("Retry-After", "3600")]), .init(status: 202)]
        var policy = Self.fast
        policy.maximumRetryAfter = .milliseconds(50)
        try await ScriptedServer.with(script) { port, server in
            let configuration = HTTPSenderConfiguration(url: "http://127.0.0.1:\(port)/", retry: policy)
            try await HTTPEventSender.withSender(configuration: configuration) { sender in
                let result2 = try await sender.exchange(event)
                #expect(result2.attempts == 2)
            }
            let times = server.requestTimes
            try #require(times.count == 2)
            #expect(times[0].duration(to: times[1]) < .seconds(10))
        }
    }

    @Test func backoffIsRespectedBetweenAttempts() async throws {
        let policy = HTTPRetryPolicy(maximumAttempts: 3, backoff: .linear(step: .milliseconds(200), jitter: 0))
        try await ScriptedServer.with([.init(status: 500)]) { port, server in
            let configuration = HTTPSenderConfiguration(url: "http://127.0.0.1:\(port)/", retry: policy)
            try await HTTPEventSender.withSender(configuration: configuration) { sender in
                let error = try await #require(throws: TransportError.self) { try await sender.send(event) }
                #expect(error.code == .notDelivered)
            }
            let times = server.requestTimes
            try #require(times.count == 3)
            #expect(times[0].duration(to: times[1]) >= .milliseconds(180))
            #expect(times[1].duration(to: times[2]) >= .milliseconds(380))
        }
    }

    @Test func nonRetryable400IsNotRetried() async throws {
        try await ScriptedServer.with([.init(status: 400, body: Array("bad event".utf8))]) { port, server in
            let configuration = HTTPSenderConfiguration(url: "http://127.0.0.1:\(port)/", retry: Self.fast)
            try await HTTPEventSender.withSender(configuration: configuration) { sender in
                let error = try await #require(throws: TransportError.self) { try await sender.send(event) }
                #expect(error.code == .rejected)
                #expect(error.message.contains("bad event"))
            }
            #expect(server.requestTimes.count == 1)
        }
    }

    @Test func networkErrorsAreRetriedThenReported() async throws {
        // A port that was just free: bind a receiver, note its port, let it close.
        let port = try await HTTPEventReceiver.withReceiver { $0.port }
        // async-http-client keeps trying to connect until the attempt's deadline: keep it short.
        var policy = Self.fast
        policy.maximumAttempts = 2
        let configuration = HTTPSenderConfiguration(url: "http://127.0.0.1:\(port)/", timeout: .milliseconds(500), retry: policy)
        try await HTTPEventSender.withSender(configuration: configuration) { sender in
            let error = try await #require(throws: TransportError.self) { try await sender.send(event) }
            #expect(error.code == .connectionFailed || error.code == .timedOut)
            #expect(error.message.contains("2 attempt"))
        }
    }

    @Test func invalidURLIsRefused() {
        #expect(throws: TransportError.self) { try HTTPEventSender(configuration: .init(url: "mqtt://x/y")) }
    }

    // MARK: Policy arithmetic

    @Test func backoffDelays() {
        let exponential = HTTPRetryPolicy(backoff: .exponential(initial: .milliseconds(100), maximum: .seconds(1), jitter: 0))
        #expect(exponential.backoffDelay(beforeRetry: 1) == .milliseconds(100))
        #expect(exponential.backoffDelay(beforeRetry: 3) == .milliseconds(400))
        #expect(exponential.backoffDelay(beforeRetry: 10) == .seconds(1))
        let linear = HTTPRetryPolicy(backoff: .linear(step: .milliseconds(50), jitter: 0.5))
        for retry in 1...5 {
            let delay = linear.delay(beforeRetry: retry, retryAfter: nil)
            #expect(delay >= .milliseconds(25 * retry) && delay <= .milliseconds(75 * retry))
        }
        #expect(linear.delay(beforeRetry: 1, retryAfter: .seconds(600)) == .seconds(60))
    }

    @Test func retryableStatuses() {
        let policy = HTTPRetryPolicy()
        for code in [404, 408, 409, 429, 500, 502, 503, 504] { #expect(policy.isRetryable(status: code)) }
        for code in [400, 401, 403, 410, 413, 415] { #expect(!policy.isRetryable(status: code)) }
    }

    @Test func retryAfterParsing() throws {
        let now = try Timestamp(rfc3339: "1994-11-06T08:49:07Z")
        #expect(HTTPRetryPolicy.parseRetryAfter("120", now: now) == .seconds(120))
        #expect(HTTPRetryPolicy.parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", now: now) == .seconds(30))
        #expect(HTTPRetryPolicy.parseRetryAfter("Sun, 06 Nov 1994 08:48:37 GMT", now: now) == .zero)
        #expect(HTTPRetryPolicy.parseRetryAfter("soon", now: now) == nil)
        #expect(HTTPRetryPolicy.parseRetryAfter("-5", now: now) == nil)
    }
}
