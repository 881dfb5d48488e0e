import CloudEvents
import CloudEventsNATS
import CloudEventsTestSupport
import Foundation
import Synchronization
import Testing

/// The client against a nats-server of the test's own (`PrivateNATSServer`): a small
/// `max_payload`, a token, a restart mid-stream, the reconnect buffer's bound.
@Suite(
    .serialized,
    .enabled(
        if: PrivateNATSServer.binary != nil || BrokerRequirement.isRequired(by: NATSBroker.environment),
        "no nats-server binary (Scripts/bootstrap installs it)"))
struct ClientPrivateServerTests {
    private func configuration(_ server: PrivateNATSServer) -> NATSClientConfiguration {
        var configuration = NATSClientConfiguration(host: "127.0.0.1", port: server.port)
        configuration.reconnect = .exponential(initial: .milliseconds(50), maximum: .milliseconds(300))
        configuration.operationTimeout = .seconds(30)
        return configuration
    }

    @Test func aPayloadOverMaxPayloadIsRefusedAndTheConnectionStillWorks() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await PrivateNATSServer(directory: directory, configuration: "max_payload: 1024")
        defer { server.stopWaiting() }
        try await NATSClient.withClient(configuration: configuration(server)) { client in
            #expect(client.serverInfo.maxPayload == 1024)
            let subject = NATSBroker.uniqueSubject()
            let recorder = RecordingConsumer()
            _ = try await client.subscribe(to: subject, consumer: recorder.consumer)
            await #expect {
                try await client.publish(NATSMessage(subject: subject, payload: [UInt8](repeating: 1, count: 1025)))
            } throws: { error in
                guard let error = error as? TransportError else { return false }
                return error.code == .invalidMessage && error.message.contains("1025") && error.message.contains("1024")
            }
            var headers = NATSHeaders()
            headers.append(name: "k", value: "v")
            await #expect {
                try await client.publish(
                    NATSMessage(subject: subject, headers: headers, payload: [UInt8](repeating: 1, count: 1020)))
            } throws: { ($0 as? TransportError)?.code == .invalidMessage }
            try await client.publish(NATSMessage(subject: subject, payload: [UInt8](repeating: 1, count: 1024)))
            try await client.flush()
            #expect(await pollUntil(timeout: .seconds(30)) { recorder.count == 1 })
            #expect(client.isConnected)
            #expect(client.statistics.reconnects == 0)
        }
    }

    @Test func tokenAuthentication() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await PrivateNATSServer(directory: directory, configuration: #"authorization { token: "s3cret" }"#)
        defer { server.stopWaiting() }
        var right = configuration(server)
        right.authentication = .token("s3cret")
        try await NATSClient.withClient(configuration: right) { client in try await client.flush() }
        var wrong = configuration(server)
        wrong.authentication = .token("nope")
        await #expect { _ = try await NATSClient.connect(configuration: wrong) } throws: {
            ($0 as? TransportError)?.code == .notAuthorized
        }
    }

    @Test func aRestartMidStreamReconnectsReplaysAndDeliversTheBufferedPublishes() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await PrivateNATSServer(directory: directory)
        defer { server.stopWaiting() }
        let subject = NATSBroker.uniqueSubject()
        // One client publishes and subscribes: after a reconnect its SUBs are replayed before
        // its buffered publishes, so every one of them has a subscriber (another client's
        // subscription could be replayed after them: core NATS would then drop them).
        let publisher = try await NATSClient.connect(configuration: configuration(server))
        let recorder = RecordingConsumer()
        let subscription = try await publisher.subscribe(to: subject, consumer: recorder.consumer)
        await subscription.unsubscribe(afterMessages: 1_000_000)
        // Another client's subscription is replayed too.
        let receiver = try await NATSClient.connect(configuration: configuration(server))
        let other = RecordingConsumer()
        _ = try await receiver.subscribe(to: subject, consumer: other.consumer)
        try await receiver.flush()

        // Before: delivered.
        for index in 0..<100 { try await publisher.publish(NATSMessage(subject: subject, payload: .text("a\(index)"))) }
        try await publisher.flush()
        #expect(await pollUntil(timeout: .seconds(30)) { recorder.count == 100 })

        // A continuous publisher during the restart: what it published while the client knew
        // it was disconnected sat in the reconnect buffer and must all arrive.
        let buffered = Mutex<[String]>([])
        let keepGoing = Atomic<Bool>(true)
        let continuous = Task {
            var index = 0
            while keepGoing.load(ordering: .relaxed), index < 100_000 {
                let text = "c\(index)"
                let wasConnected = publisher.isConnected
                do {
                    try await publisher.publish(NATSMessage(subject: subject, payload: .text(text)))
                    if !wasConnected { buffered.withLock { $0.append(text) } }
                } catch {
                    Issue.record("publish \(text) failed: \(error)")
                }
                index += 1
                try? await Task.sleep(for: .milliseconds(2))
            }
        }
        try await Task.sleep(for: .milliseconds(200))
        await server.stop()
        #expect(await pollUntil(timeout: .seconds(30)) { !publisher.isConnected && !receiver.isConnected })
        // Published while the server is down: held in the reconnect buffer.
        for index in 0..<200 { try await publisher.publish(NATSMessage(subject: subject, payload: .text("b\(index)"))) }
        try await Task.sleep(for: .milliseconds(300))
        try await server.start()
        #expect(await pollUntil(timeout: .seconds(60)) { publisher.isConnected && receiver.isConnected })
        try await Task.sleep(for: .milliseconds(200))
        keepGoing.store(false, ordering: .relaxed)
        await continuous.value
        // After: delivered through the replayed subscription.
        for index in 0..<100 { try await publisher.publish(NATSMessage(subject: subject, payload: .text("d\(index)"))) }
        try await publisher.flush()

        let expected = Set((0..<200).map { "b\($0)" } + buffered.withLock { $0 } + (0..<100).map { "d\($0)" })
        let arrived = await pollUntil(timeout: .seconds(60)) {
            expected.isSubset(of: Set(recorder.messages.map { String(decoding: $0.payload, as: UTF8.self) }))
        }
        let texts = recorder.messages.map { String(decoding: $0.payload, as: UTF8.self) }
        #expect(arrived, "missing: \(expected.subtracting(texts).sorted().prefix(20))")
        // Order kept within what was buffered.
        let bs = texts.filter { $0.hasPrefix("b") }
        #expect(bs == (0..<200).map { "b\($0)" })
        #expect(
            await pollUntil(timeout: .seconds(30)) {
                other.messages.filter { $0.payload.first == UInt8(ascii: "d") }.count == 100
            })
        #expect(receiver.statistics.reconnects >= 1)
        #expect(publisher.statistics.reconnects >= 1)
        await publisher.close()
        await receiver.close()
    }

    @Test func aSubscribeAndAFlushDuringAnOutageCompleteAfterTheReconnect() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await PrivateNATSServer(directory: directory)
        defer { server.stopWaiting() }
        let client = try await NATSClient.connect(configuration: configuration(server))
        await server.stop()
        #expect(await pollUntil(timeout: .seconds(30)) { !client.isConnected })
        let subject = NATSBroker.uniqueSubject()
        let recorder = RecordingConsumer()
        _ = try await client.subscribe(to: subject, consumer: recorder.consumer)
        try await client.publish(NATSMessage(subject: subject, payload: .text("held")))
        let flushed = Task { try await client.flush() }
        try await Task.sleep(for: .milliseconds(200))
        try await server.start()
        try await flushed.value
        #expect(client.isConnected)
        #expect(await pollUntil(timeout: .seconds(30)) { recorder.count == 1 })
        #expect(recorder.messages.first?.payload == .text("held"))
        await client.close()
    }

    @Test func theReconnectBufferBoundRefusesInsteadOfLosing() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await PrivateNATSServer(directory: directory)
        defer { server.stopWaiting() }
        var bounded = configuration(server)
        bounded.reconnectBufferSize = 4096
        let client = try await NATSClient.connect(configuration: bounded)
        let subject = NATSBroker.uniqueSubject()
        let recorder = RecordingConsumer()
        _ = try await client.subscribe(to: subject, consumer: recorder.consumer)
        try await client.flush()
        await server.stop()
        #expect(await pollUntil(timeout: .seconds(30)) { !client.isConnected })
        var accepted = 0
        var refusal: TransportError?
        for index in 0..<100 {
            do {
                try await client.publish(NATSMessage(subject: subject, payload: [UInt8](repeating: UInt8(index), count: 100)))
                accepted += 1
            } catch {
                refusal = error
                break
            }
        }
        #expect(accepted > 10)
        #expect(accepted < 100)
        let error = try #require(refusal)
        #expect(error.code == .notDelivered)
        #expect(error.message.contains("4096"))
        try await server.start()
        #expect(await pollUntil(timeout: .seconds(60)) { client.isConnected })
        try await client.flush()
        #expect(await pollUntil(timeout: .seconds(30)) { recorder.count == accepted })
        await client.close()
    }

    @Test func givingUpAfterTheMaximumReconnectAttemptsFailsEverything() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await PrivateNATSServer(directory: directory)
        defer { server.stopWaiting() }
        var limited = configuration(server)
        limited.maximumReconnectAttempts = 2
        limited.reconnect = .exponential(initial: .milliseconds(20), maximum: .milliseconds(50))
        let client = try await NATSClient.connect(configuration: limited)
        let messages = try await client.messages(on: NATSBroker.uniqueSubject())
        await server.stop()
        var iterator = messages.makeAsyncIterator()
        await #expect { _ = try await iterator.next() } throws: { ($0 as? TransportError)?.code == .connectionFailed }
        await #expect { try await client.publish(NATSMessage(subject: "a")) } throws: {
            ($0 as? TransportError)?.code == .connectionFailed
        }
        await client.close()
    }
}
