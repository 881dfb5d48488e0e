import AsyncHTTPClient
import CloudEvents
import CloudEventsHTTP
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing

/// The receiver's transport: HTTPS with HTTP/2 and client certificates, the connection
/// limit, `Retry-After`, `Connection: close`, and what cancelling `run()` answers. Each test
/// runs our sender or async-http-client against the real receiver over loopback.
@Suite("HTTP receiver transport")
struct HTTPReceiverTransportTests {
    let event = CloudEvent(id: "t-1", source: "/transport", type: "com.example.transport")

    // MARK: HTTPS and HTTP/2

    @Test func httpsNegotiatesHTTP2AndMultiplexesEvents() async throws {
        let pki = try await TestPKI.make()
        let configuration = HTTPReceiverConfiguration(
            tls: TLSSettings(certificateChainFile: pki.serverCertificate, privateKeyFile: pki.serverKey))
        try await withReceiver(configuration) { port, _, received in
            let sender = HTTPSenderConfiguration(
                url: "https://localhost:\(port)/", timeout: .seconds(30), tls: TLSSettings(trustedCertificatesFile: pki.caFile))
            let responses = try await HTTPEventSender.withSender(configuration: sender) { sender in
                try await withThrowingTaskGroup(of: HTTPEventResponse.self) { group in
                    for index in 0..<8 {
                        let event = CloudEvent(id: "h2-\(index)", source: "/transport", type: "com.example.h2")
                        group.addTask { try await sender.exchange(event) }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            }
            #expect(responses.map(\.status.code) == Array(repeating: 202, count: 8))
            #expect(responses.allSatisfy { $0.version == "HTTP/2.0" })
            #expect(Set(received.decoded.compactMap { $0?.first?.id }) == Set((0..<8).map { "h2-\($0)" }))
        }
    }

    @Test func httpsWithoutHTTP2SpeaksHTTP1() async throws {
        let pki = try await TestPKI.make()
        let configuration = HTTPReceiverConfiguration(
            tls: TLSSettings(certificateChainFile: pki.serverCertificate, privateKeyFile: pki.serverKey), allowsHTTP2: false)
        try await withReceiver(configuration) { port, _, received in
            let sender = HTTPSenderConfiguration(
                url: "https://localhost:\(port)/", timeout: .seconds(30), tls: TLSSettings(trustedCertificatesFile: pki.caFile))
            let response = try await HTTPEventSender.withSender(configuration: sender) { try await $0.exchange(event) }
            #expect(response.status.code == 202)
            #expect(response.version == "HTTP/1.1")
            #expect(received.decoded.first??.first == event)
        }
    }

    @Test func clientCertificatesAreRequiredWhenATrustedAuthorityIsSet() async throws {
        let pki = try await TestPKI.make()
        let configuration = HTTPReceiverConfiguration(
            tls: TLSSettings(
                trustedCertificatesFile: pki.caFile, certificateChainFile: pki.serverCertificate, privateKeyFile: pki.serverKey))
        try await withReceiver(configuration) { port, _, received in
            var once = HTTPRetryPolicy()
            once.maximumAttempts = 1
            let anonymous = HTTPSenderConfiguration(
                url: "https://localhost:\(port)/", timeout: .seconds(2), retry: once,
                tls: TLSSettings(trustedCertificatesFile: pki.caFile))
            // async-http-client retries a failed connection until the attempt's deadline.
            await #expect(throws: TransportError.self) {
                try await HTTPEventSender.withSender(configuration: anonymous) { try await $0.send(event) }
            }
            #expect(received.all.isEmpty)

            let identified = HTTPSenderConfiguration(
                url: "https://localhost:\(port)/", timeout: .seconds(30), retry: once,
                tls: TLSSettings(
                    trustedCertificatesFile: pki.caFile, certificateChainFile: pki.clientCertificate,
                    privateKeyFile: pki.clientKey))
            let response = try await HTTPEventSender.withSender(configuration: identified) { try await $0.exchange(event) }
            #expect(response.status.code == 202)
            #expect(received.all.count == 1)
        }
    }

    @Test func tlsWithoutAKeyIsATypedError() async throws {
        let configuration = HTTPReceiverConfiguration(tls: TLSSettings(certificateChainFile: "/nonexistent/server.pem"))
        await #expect {
            _ = try await HTTPEventReceiver.bind(configuration: configuration)
        } throws: { error in
            (error as? TransportError)?.code == .invalidEndpoint
        }
    }

    // MARK: Limits and responses

    @Test func connectionsOverTheLimitWaitUntilOneCloses() async throws {
        var configuration = HTTPReceiverConfiguration()
        configuration.maximumConnections = 1
        try await withReceiver(configuration) { port, _, received in
            let (fields, body) = try event.httpFields()
            let first = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
            // `first` keeps its connection open (pooled, keep-alive): the one slot is taken.
            let firstStatus = try await post(first, port: port, fields: fields, body: body).status
            #expect(firstStatus == 202)
            let second = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
            try await withThrowingTaskGroup(of: Int.self) { group in
                group.addTask {
                    try await post(second, port: port, fields: fields, body: body).status
                }
                try await Task.sleep(for: .milliseconds(500))
                #expect(received.all.count == 1, "a second connection was served past the limit of 1")
                // Closing the first connection frees the slot.
                try await first.shutdown()
                let secondStatus = try await group.next()
                #expect(secondStatus == 202)
            }
            try await second.shutdown()
            #expect(received.all.count == 2)
        }
    }

    @Test func releasedDeliveriesGet503WithRetryAfter() async throws {
        let (fields, body) = try event.httpFields()
        try await withReceiver(settle: { $0.release() }) { port, client, _ in
            let response = try await post(client, port: port, fields: fields, body: body)
            #expect(response.status == 503)
            #expect(response.headers["retry-after"] == ["1"])
        }
        var configuration = HTTPReceiverConfiguration()
        configuration.retryAfterWhenReleased = .milliseconds(2500)
        try await withReceiver(configuration, settle: { $0.release() }) { port, client, _ in
            let response = try await post(client, port: port, fields: fields, body: body)
            #expect(response.headers["retry-after"] == ["3"])
        }
        configuration.retryAfterWhenReleased = nil
        try await withReceiver(configuration, settle: { $0.release() }) { port, client, _ in
            let response = try await post(client, port: port, fields: fields, body: body)
            #expect(response.headers["retry-after"].isEmpty)
        }
    }

    @Test func webhookHandshakeOnAnotherPathGets404() async throws {
        var configuration = HTTPReceiverConfiguration()
        configuration.path = "/events"
        try await withReceiver(configuration) { port, client, _ in
            let handshake = fields([("WebHook-Request-Origin", "eventemitter.example.com")])
            let elsewhere = try await post(client, port: port, path: "/other", method: .OPTIONS, fields: handshake, body: [])
            #expect(elsewhere.status == 404)
            let here = try await post(client, port: port, path: "/events", method: .OPTIONS, fields: handshake, body: [])
            #expect(here.status == 200)
            #expect(here.headers["webhook-allowed-origin"] == ["eventemitter.example.com"])
        }
    }

    @Test func connectionCloseIsAnsweredAndHonoured() async throws {
        var (requestFields, body) = try event.httpFields()
        requestFields[.connection] = "close"
        try await withReceiver { port, client, received in
            let response = try await post(client, port: port, fields: requestFields, body: body)
            #expect(response.status == 202)
            #expect(response.headers["connection"] == ["close"])
            #expect(received.all.count == 1)
        }
    }

    /// Cancelling `run()` answers a request that waits for its settlement at once (503),
    /// instead of leaving the sender hanging on a delivery nobody will settle.
    @Test func cancellingRunAnswersWaitingRequests503() async throws {
        let receiver = try await HTTPEventReceiver.bind()
        let held = Mutex<[Delivery]>([])
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
        let (fields, body) = try event.httpFields()
        let run = Task { try await receiver.run() }
        let consumer = Task {
            for try await delivery in receiver.deliveries() { held.withLock { $0.append(delivery) } }
        }
        let request = Task { try await post(client, port: receiver.port, fields: fields, body: body) }
        let deadline = ContinuousClock.now + .seconds(60)
        while held.withLock({ $0.isEmpty }) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(held.withLock { $0.count } == 1)
        run.cancel()
        let response = try await request.value
        #expect(response.status == 503)
        try await run.value
        consumer.cancel()
        _ = try? await consumer.value
        held.withLock { $0.removeAll() }
        try await client.shutdown()
    }

    /// `shutdown()` lets the request in progress finish, then `run()` returns.
    @Test func shutdownFinishesTheRequestInProgress() async throws {
        let receiver = try await HTTPEventReceiver.bind()
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
        let (fields, body) = try event.httpFields()
        let run = Task { try await receiver.run() }
        let consumer = Task {
            for try await delivery in receiver.deliveries() {
                receiver.shutdown()  // before settling: the response must still go out
                try await Task.sleep(for: .milliseconds(100))
                delivery.accept()
            }
        }
        let response = try await post(client, port: receiver.port, fields: fields, body: body)
        #expect(response.status == 202)
        try await run.value
        try await consumer.value  // the stream ended when run() returned
        try await client.shutdown()
    }
}

@Suite("HTTP sender responses")
struct HTTPSenderResponseTests {
    @Test func anUndecodableEventInA2xxResponseIsReportedNotThrown() async throws {
        // A binary-mode event without `ce-id`.
        let reply = ScriptedServer.Reply(
            status: 200, headers: [("ce-specversion", "1.0"), ("ce-source", "/r"), ("ce-type", "t"), ("content-length", "0")])
        try await ScriptedServer.with([reply]) { port, _ in
            let configuration = HTTPSenderConfiguration(url: "http://127.0.0.1:\(port)/", timeout: .seconds(30))
            let response = try await HTTPEventSender.withSender(configuration: configuration) { sender in
                try await sender.exchange(CloudEvent(id: "1", source: "/s", type: "t"))
            }
            #expect(response.status.code == 200)
            #expect(response.event == nil)
            #expect(response.eventError?.description.contains("id") == true)
        }
        try await ScriptedServer.with([.init(status: 202, headers: [("content-length", "0")])]) { port, _ in
            let configuration = HTTPSenderConfiguration(url: "http://127.0.0.1:\(port)/", timeout: .seconds(30))
            let response = try await HTTPEventSender.withSender(configuration: configuration) { sender in
                try await sender.exchange(CloudEvent(id: "1", source: "/s", type: "t"))
            }
            #expect(response.event == nil)
            #expect(response.eventError == nil)
        }
    }
}
