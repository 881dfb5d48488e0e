import CloudEvents
import CloudEventsNATS
import CloudEventsTestSupport
import Foundation
import Logging
import ServiceLifecycle
import Testing

/// Connect, publish, subscribe, flush, queue groups, UNSUB max, request-reply, against the
/// nats-server of `Scripts/brokers`.
@Suite(.serialized, NATSBroker.gate)
struct ClientRoundTripTests {
    @Test func connectReadsTheServerInfo() async throws {
        try await NATSClient.withClient(configuration: NATSBroker.configuration()) { client in
            let info = client.serverInfo
            #expect(info.headers)
            #expect(info.maxPayload > 0)
            #expect(!info.serverID.isEmpty)
            #expect(client.isConnected)
        }
    }

    @Test func publishedMessagesArriveWithAndWithoutHeaders() async throws {
        try await NATSClient.withClient(configuration: NATSBroker.configuration()) { client in
            let subject = NATSBroker.uniqueSubject()
            let messages = try await client.messages(on: subject)
            var headers = NATSHeaders()
            headers.append(name: "ce-id", value: "1")
            headers.append(name: "Content-Type", value: "text/plain")
            try await client.publish(NATSMessage(subject: subject, payload: .text("plain")))
            try await client.publish(NATSMessage(subject: subject, replyTo: "re.ply", headers: headers, payload: .text("with")))
            try await client.publish(NATSMessage(subject: subject, payload: []))
            try await client.flush()
            var iterator = messages.makeAsyncIterator()
            let first = try #require(try await iterator.next())
            #expect(first == NATSMessage(subject: subject, payload: .text("plain")))
            let second = try #require(try await iterator.next())
            #expect(second.subject == subject)
            #expect(second.replyTo == "re.ply")
            #expect(second.headers?["ce-id"] == "1")
            #expect(second.headers?["content-type"] == "text/plain")
            #expect(second.payload == .text("with"))
            let third = try #require(try await iterator.next())
            #expect(third.payload.isEmpty)
            #expect(third.headers == nil)
            #expect(client.statistics.messagesOut == 3)
            #expect(client.statistics.messagesIn == 3)
        }
    }

    @Test func manyPublishesArriveInOrder() async throws {
        try await NATSClient.withClient(configuration: NATSBroker.configuration()) { client in
            let subject = NATSBroker.uniqueSubject()
            let recorder = RecordingConsumer()
            _ = try await client.subscribe(to: subject, consumer: recorder.consumer)
            try await client.flush()
            let count = 20_000
            let payload = [UInt8](repeating: 0x61, count: 500)
            for index in 0..<count {
                var message = NATSMessage(subject: subject, payload: payload)
                message.payload.replaceSubrange(0..<8, with: Array(String(format: "%08d", index).utf8))
                try await client.publish(message)
            }
            try await client.flush()
            #expect(await pollUntil(timeout: .seconds(60)) { recorder.count == count })
            let indices = recorder.messages.map { Int(String(decoding: $0.payload.prefix(8), as: UTF8.self)) }
            #expect(indices == Array(0..<count))
        }
    }

    @Test func concurrentPublishersEachKeepTheirOrder() async throws {
        try await NATSClient.withClient(configuration: NATSBroker.configuration()) { client in
            let subject = NATSBroker.uniqueSubject()
            let recorder = RecordingConsumer()
            _ = try await client.subscribe(to: subject + ".*", consumer: recorder.consumer)
            try await client.flush()
            let publishers = 8
            let each = 2000
            try await withThrowingTaskGroup(of: Void.self) { group in
                for publisher in 0..<publishers {
                    group.addTask {
                        for index in 0..<each {
                            try await client.publish(NATSMessage(subject: "\(subject).\(publisher)", payload: .text("\(index)")))
                        }
                    }
                }
                try await group.waitForAll()
            }
            try await client.flush()
            #expect(await pollUntil(timeout: .seconds(60)) { recorder.count == publishers * each })
            for publisher in 0..<publishers {
                let mine = recorder.messages.filter { $0.subject == "\(subject).\(publisher)" }
                #expect(mine.map { String(decoding: $0.payload, as: UTF8.self) } == (0..<each).map { "\($0)" })
            }
        }
    }

    @Test func runAsAServiceClosesOnGracefulShutdown() async throws {
        let client = try await NATSClient.connect(configuration: NATSBroker.configuration())
        let recorder = RecordingConsumer()
        _ = try await client.subscribe(to: NATSBroker.uniqueSubject(), consumer: recorder.consumer)
        let group = ServiceGroup(services: [client], logger: Logger(label: "test"))
        let running = Task { try await group.run() }
        try await client.flush()
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(!client.isConnected)
        #expect(recorder.finished)
    }

    @Test func withoutEchoTheClientDoesNotReceiveItsOwnPublishes() async throws {
        var configuration = NATSBroker.configuration()
        configuration.echo = false
        try await NATSClient.withClient(configuration: configuration) { client in
            try await NATSClient.withClient(configuration: NATSBroker.configuration()) { other in
                let subject = NATSBroker.uniqueSubject()
                let own = RecordingConsumer()
                _ = try await client.subscribe(to: subject, consumer: own.consumer)
                try await client.flush()
                try await client.publish(NATSMessage(subject: subject, payload: .text("mine")))
                try await other.publish(NATSMessage(subject: subject, payload: .text("theirs")))
                try await client.flush()
                try await other.flush()
                #expect(await pollUntil(timeout: .seconds(30)) { own.count == 1 })
                try await client.flush()
                #expect(own.messages.map(\.payload) == [.text("theirs")])
            }
        }
    }

    @Test func wildcardSubscriptionsMatch() async throws {
        try await NATSClient.withClient(configuration: NATSBroker.configuration()) { client in
            let subject = NATSBroker.uniqueSubject()
            let star = RecordingConsumer()
            let rest = RecordingConsumer()
            _ = try await client.subscribe(to: subject + ".*", consumer: star.consumer)
            _ = try await client.subscribe(to: subject + ".>", consumer: rest.consumer)
            try await client.publish(NATSMessage(subject: subject + ".a"))
            try await client.publish(NATSMessage(subject: subject + ".a.b"))
            try await client.flush()
            #expect(await pollUntil(timeout: .seconds(30)) { star.count == 1 && rest.count == 2 })
            #expect(star.messages.map(\.subject) == [subject + ".a"])
        }
    }

    @Test func queueGroupMembersShareTheMessages() async throws {
        try await NATSClient.withClient(configuration: NATSBroker.configuration()) { client in
            try await NATSClient.withClient(configuration: NATSBroker.configuration()) { other in
                let subject = NATSBroker.uniqueSubject()
                let first = RecordingConsumer()
                let second = RecordingConsumer()
                _ = try await client.subscribe(to: subject, queueGroup: "workers", consumer: first.consumer)
                _ = try await other.subscribe(to: subject, queueGroup: "workers", consumer: second.consumer)
                try await client.flush()
                try await other.flush()
                let count = 400
                for index in 0..<count {
                    try await client.publish(NATSMessage(subject: subject, payload: .text("\(index)")))
                }
                try await client.flush()
                #expect(await pollUntil(timeout: .seconds(30)) { first.count + second.count == count })
                try await Task.sleep(for: .milliseconds(200))
                let all = (first.messages + second.messages).map { String(decoding: $0.payload, as: UTF8.self) }
                #expect(first.count > 0)
                #expect(second.count > 0)
                #expect(all.count == count)
                #expect(Set(all).count == count)
            }
        }
    }

    @Test func unsubscribeAfterMessagesEndsTheSubscription() async throws {
        try await NATSClient.withClient(configuration: NATSBroker.configuration()) { client in
            let subject = NATSBroker.uniqueSubject()
            let recorder = RecordingConsumer()
            let subscription = try await client.subscribe(to: subject, consumer: recorder.consumer)
            await subscription.unsubscribe(afterMessages: 3)
            for index in 0..<10 { try await client.publish(NATSMessage(subject: subject, payload: .text("\(index)"))) }
            try await client.flush()
            #expect(await pollUntil(timeout: .seconds(30)) { recorder.finished })
            try await client.flush()
            #expect(recorder.messages.map { String(decoding: $0.payload, as: UTF8.self) } == ["0", "1", "2"])
        }
    }

    @Test func unsubscribeNowFinishesTheConsumer() async throws {
        try await NATSClient.withClient(configuration: NATSBroker.configuration()) { client in
            let subject = NATSBroker.uniqueSubject()
            let recorder = RecordingConsumer()
            let subscription = try await client.subscribe(to: subject, consumer: recorder.consumer)
            try await client.publish(NATSMessage(subject: subject))
            try await client.flush()
            #expect(await pollUntil(timeout: .seconds(30)) { recorder.count == 1 })
            await subscription.unsubscribe()
            #expect(recorder.finished)
            #expect(recorder.failure == nil)
            try await client.publish(NATSMessage(subject: subject))
            try await client.flush()
            try await client.flush()
            #expect(recorder.count == 1)
        }
    }

    @Test func closeFinishesConsumersAndRefusesFurtherWork() async throws {
        let client = try await NATSClient.connect(configuration: NATSBroker.configuration())
        let recorder = RecordingConsumer()
        _ = try await client.subscribe(to: NATSBroker.uniqueSubject(), consumer: recorder.consumer)
        await client.close()
        #expect(recorder.finished)
        #expect(recorder.failure == nil)
        #expect(!client.isConnected)
        await #expect { try await client.publish(NATSMessage(subject: "a")) } throws: {
            ($0 as? TransportError)?.code == .closed
        }
        await #expect { try await client.flush() } throws: { ($0 as? TransportError)?.code == .closed }
        await client.close()
    }

    @Test func invalidSubjectsAreRefusedBeforeSending() async throws {
        try await NATSClient.withClient(configuration: NATSBroker.configuration()) { client in
            for subject in ["", "a b", "a..b", "a.*", "a.>"] {
                await #expect { try await client.publish(NATSMessage(subject: subject)) } throws: {
                    ($0 as? TransportError)?.code == .invalidMessage
                }
            }
            await #expect {
                _ = try await client.subscribe(to: "a b", consumer: RecordingConsumer().consumer)
            } throws: { ($0 as? TransportError)?.code == .invalidMessage }
            try await client.flush()
            #expect(client.isConnected)
        }
    }
}
