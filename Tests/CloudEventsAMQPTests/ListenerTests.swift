import CloudEvents
import CloudEventsAMQP
import CloudEventsTestSupport
import Foundation
import Testing

/// Peer mode: our listener and our client talk without a broker; every outcome the
/// listener's consumer gives reaches the sender as the real disposition.
@Suite("AMQP listener (peer to peer)")
struct ListenerTests {
    static func client(port: Int, tls: TLSSettings? = nil, host: String = "127.0.0.1") -> AMQPConnectionConfiguration {
        AMQPConnectionConfiguration(
            host: host, port: port, tls: tls, sasl: .anonymous,
            reconnect: .exponential(initial: .milliseconds(50), maximum: .milliseconds(500)),
            operationTimeout: .seconds(30))
    }

    @Test func everyOutcomeReachesTheSender() async throws {
        let inbox = RawInbox()
        let listener = try await AMQPListener.listen(consumer: inbox.consumer)
        try await closing(listener) {
            #expect(listener.port > 0)
            try await AMQPConnection.withConnection(configuration: Self.client(port: listener.port)) { connection in
                let sender = try await connection.openSender(address: "events/in")

                let accepted = Task { try await sender.send(RawMessage.encode("accept me")) }
                let first = try #require(await inbox.next())
                #expect(first.address == "events/in")
                #expect(RawMessage.decode(first.bytes)?.text == "accept me")
                #expect(await settle(first, .accepted).reachedPeer)
                try await accepted.value

                let rejected = Task { try await sender.send(RawMessage.encode("reject me")) }
                let second = try #require(await inbox.next())
                _ = await settle(second, .rejected(condition: "amqp:decode-error", description: "not a CloudEvent"))
                let rejection = await sendError(rejected)
                #expect(rejection?.code == .rejected)
                #expect(rejection?.condition == ErrorCondition("amqp:decode-error"))
                #expect(rejection?.message.contains("not a CloudEvent") == true)
                #expect(rejection?.isTransient == false)

                let released = Task { try await sender.send(RawMessage.encode("release me")) }
                let third = try #require(await inbox.next())
                _ = await settle(third, .released)
                let release = await sendError(released)
                #expect(release?.code == .released)
                #expect(release?.isTransient == true)

                let modified = Task { try await sender.send(RawMessage.encode("modify me")) }
                let fourth = try #require(await inbox.next())
                _ = await settle(fourth, .modified(deliveryFailed: true, undeliverableHere: true))
                let modification = await sendError(modified)
                #expect(modification?.code == .modified)
                #expect(modification?.isTransient == false)
                #expect(modification?.message.contains("undeliverable-here true") == true)

                let modifiedAgain = Task { try await sender.send(RawMessage.encode("modify me, retry")) }
                let fifth = try #require(await inbox.next())
                _ = await settle(fifth, .modified(deliveryFailed: true, undeliverableHere: false))
                let retryable = await sendError(modifiedAgain)
                #expect(retryable?.isTransient == true)
            }
        }
    }

    /// A listener cannot check PLAIN passwords (proton's built-in SASL): it refuses to
    /// start rather than let every peer in; with no SASL layer, a client without SASL talks.
    @Test func saslPlainIsRefusedAndNoSASLWorks() async throws {
        let error = await #expect(throws: TransportError.self) {
            _ = try await AMQPListener.listen(sasl: .plain(username: "u", password: "p"), consumer: RawInbox().consumer)
        }
        #expect(error?.code == .invalidEndpoint)
        let inbox = RawInbox()
        let listener = try await AMQPListener.listen(sasl: AMQPSASL.none, consumer: inbox.consumer)
        try await closing(listener) {
            var configuration = Self.client(port: listener.port)
            configuration.sasl = AMQPSASL.none
            try await AMQPConnection.withConnection(configuration: configuration) { connection in
                let sender = try await connection.openSender(address: "plain-tcp")
                let sent = Task { try await sender.send(RawMessage.encode("no SASL")) }
                let delivery = try #require(await inbox.next())
                _ = await settle(delivery, .accepted)
                try await sent.value
            }
        }
    }

    @Test func aReceiverLinkToTheListenerIsRefused() async throws {
        let listener = try await AMQPListener.listen(consumer: RawInbox().consumer)
        try await closing(listener) {
            try await AMQPConnection.withConnection(configuration: Self.client(port: listener.port)) { connection in
                await #expect(throws: TransportError.self) {
                    _ = try await connection.openReceiver(address: "anything", consumer: RawInbox().consumer)
                }
                // The connection goes on.
                _ = try await connection.openSender(address: "still-fine")
            }
        }
    }

    /// A full consumer stops the listener granting credit: with a window of 2 and a
    /// consumer with room for 1, the third message is not even sent until the consumer makes
    /// room; then every send succeeds, in order.
    @Test func creditIsTheBackPressure() async throws {
        let inbox = RawInbox(capacity: 1)
        let listener = try await AMQPListener.listen(credit: 2, consumer: inbox.consumer)
        try await closing(listener) {
            try await AMQPConnection.withConnection(configuration: Self.client(port: listener.port)) { connection in
                let sender = try await connection.openSender(address: "q")
                var sends: [Task<Void, any Error>] = []
                for index in 0..<3 {
                    sends.append(Task { try await sender.send(RawMessage.encode("m\(index)")) })
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(await pollUntil(timeout: .seconds(30)) { inbox.offered == 2 })
                try await Task.sleep(for: .milliseconds(500))
                // One taken, one refused and held by the link; no credit for the third.
                #expect(inbox.offered == 2)
                #expect(inbox.count == 1)
                var texts: [String] = []
                for _ in 0..<3 {
                    let delivery = try #require(await inbox.next())
                    texts.append(RawMessage.decode(delivery.bytes)?.text ?? "?")
                    #expect(await settle(delivery, .accepted).reachedPeer)
                }
                #expect(texts == ["m0", "m1", "m2"])
                for send in sends { try await send.value }
            }
        }
    }

    /// A send that gets no credit, or no outcome, fails with `.timedOut` after the operation
    /// timeout (checked once a second, so within a second of it).
    @Test func aSendWithoutCreditOrOutcomeTimesOut() async throws {
        let inbox = RawInbox(capacity: 0)
        let listener = try await AMQPListener.listen(credit: 1, consumer: inbox.consumer)
        try await closing(listener) {
            var configuration = Self.client(port: listener.port)
            configuration.operationTimeout = .seconds(2)
            try await AMQPConnection.withConnection(configuration: configuration) { connection in
                let sender = try await connection.openSender(address: "q")
                let start = ContinuousClock.now
                let noOutcome = Task { try await sender.send(RawMessage.encode("held, never settled")) }
                let noCredit = Task { try await sender.send(RawMessage.encode("no credit")) }
                #expect(await sendError(noOutcome)?.code == .timedOut)
                #expect(await sendError(noCredit)?.code == .timedOut)
                let elapsed = ContinuousClock.now - start
                #expect(elapsed >= .seconds(2) && elapsed < .seconds(20), "\(elapsed)")
            }
        }
    }

    /// The listener goes away with a message unsettled: the send fails with
    /// `.connectionFailed` (outcome unknown); a new listener on the same port gets the client
    /// back (reconnect, link attached again) and later sends succeed.
    @Test func reconnectsAndFailsTheSendInFlight() async throws {
        let first = RawInbox()
        let listener = try await AMQPListener.listen(consumer: first.consumer)
        let port = listener.port
        try await AMQPConnection.withConnection(configuration: Self.client(port: port)) { connection in
            let sender = try await connection.openSender(address: "q")
            let inFlight = Task { try await sender.send(RawMessage.encode("in flight")) }
            #expect(await first.next() != nil)
            await listener.close()
            let result = await inFlight.result
            guard case .failure(let error as TransportError) = result else {
                Issue.record("the send in flight must fail, got \(result)")
                return
            }
            #expect(error.code == .connectionFailed)
            #expect(error.message.contains("may or may not"))
            #expect(await pollUntil(timeout: .seconds(30)) { !connection.isConnected })

            let second = RawInbox()
            let again = try await AMQPListener.listen(port: port, consumer: second.consumer)
            try await closing(again) {
                let resent = Task { try await sender.send(RawMessage.encode("after reconnect")) }
                let delivery = try #require(await second.next(timeout: .seconds(30)))
                #expect(RawMessage.decode(delivery.bytes)?.text == "after reconnect")
                #expect(await settle(delivery, .accepted).reachedPeer)
                try await resent.value
                #expect(connection.connectionCount == 2)
            }
        }
    }

    @Test func tlsWithTheTestCA() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let directory = environment["CE_TEST_BROKERS_DIR"].map({ "\($0)/tls" }),
            FileManager.default.fileExists(atPath: "\(directory)/server.pem")
        else {
            try #require(
                !BrokerRequirement.isRequired(by: environment),
                "the test CA of Scripts/brokers (CE_TEST_BROKERS_DIR/tls) is required")
            return
        }
        let inbox = RawInbox()
        let listener = try await AMQPListener.listen(
            tls: TLSSettings(certificateChainFile: "\(directory)/server.pem", privateKeyFile: "\(directory)/server.key"),
            consumer: inbox.consumer)
        try await closing(listener) {
            let trusted = TLSSettings(trustedCertificatesFile: "\(directory)/ca.pem")
            try await AMQPConnection.withConnection(
                configuration: Self.client(port: listener.port, tls: trusted, host: "localhost")
            ) { connection in
                let sender = try await connection.openSender(address: "secure")
                let sent = Task { try await sender.send(RawMessage.encode("over TLS")) }
                let delivery = try #require(await inbox.next())
                #expect(RawMessage.decode(delivery.bytes)?.text == "over TLS")
                _ = await settle(delivery, .accepted)
                try await sent.value
            }
            // Without the CA the server's certificate is not trusted.
            let error = await #expect(throws: TransportError.self) {
                _ = try await AMQPConnection.connect(
                    configuration: Self.client(port: listener.port, tls: TLSSettings(), host: "localhost"))
            }
            #expect(error?.code == .connectionFailed)
        }
    }
}
