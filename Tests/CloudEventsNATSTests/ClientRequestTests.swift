import CloudEvents
import CloudEventsNATS
import CloudEventsTestSupport
import Foundation
import Testing

/// Request-reply through the client's inbox, against the nats-server of `Scripts/brokers`.
@Suite(.serialized, NATSBroker.gate)
struct ClientRequestTests {
    /// A responder answering every request on `subject` with its payload reversed.
    private func respond(on subject: String, with client: NATSClient) async throws -> NATSSubscription {
        try await client.subscribe(
            to: subject,
            consumer: NATSMessageConsumer(
                deliver: { message, _ in
                    guard let replyTo = message.replyTo else { return .taken }
                    Task { try await client.publish(NATSMessage(subject: replyTo, payload: message.payload.reversed())) }
                    return .taken
                }, finish: { _ in }))
    }

    @Test func requestGetsTheReply() async throws {
        try await NATSClient.withClient(configuration: NATSBroker.configuration()) { responder in
            try await NATSClient.withClient(configuration: NATSBroker.configuration()) { client in
                let subject = NATSBroker.uniqueSubject()
                _ = try await respond(on: subject, with: responder)
                try await responder.flush()
                for text in ["abc", "hello", ""] {
                    let reply = try await client.request(NATSMessage(subject: subject, payload: .text(text)))
                    #expect(reply.payload == .text(String(text.reversed())))
                    #expect(reply.subject.hasPrefix("_INBOX."))
                }
            }
        }
    }

    @Test func concurrentRequestsGetTheirOwnReplies() async throws {
        try await NATSClient.withClient(configuration: NATSBroker.configuration()) { client in
            let subject = NATSBroker.uniqueSubject()
            _ = try await respond(on: subject, with: client)
            try await client.flush()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        let reply = try await client.request(NATSMessage(subject: subject, payload: .text("r\(index)")))
                        #expect(reply.payload == .text(String("r\(index)".reversed())))
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test func noRespondersIsNotDelivered() async throws {
        try await NATSClient.withClient(configuration: NATSBroker.configuration()) { client in
            let subject = NATSBroker.uniqueSubject()
            await #expect {
                _ = try await client.request(NATSMessage(subject: subject), timeout: .seconds(30))
            } throws: { error in
                guard let error = error as? TransportError else { return false }
                return error.code == .notDelivered && error.message == "no responders for '\(subject)'"
            }
        }
    }

    @Test func aCancelledRequestEndsAtOnce() async throws {
        try await NATSClient.withClient(configuration: NATSBroker.configuration()) { client in
            let subject = NATSBroker.uniqueSubject()
            let silent = RecordingConsumer()
            _ = try await client.subscribe(to: subject, consumer: silent.consumer)
            try await client.flush()
            let request = Task { try await client.request(NATSMessage(subject: subject), timeout: .seconds(60)) }
            #expect(await pollUntil(timeout: .seconds(30)) { silent.count == 1 })
            request.cancel()
            await #expect {
                _ = try await request.value
            } throws: { error in
                guard let error = error as? TransportError else { return false }
                return error.code == .timedOut && error.underlying is CancellationError
            }
        }
    }

    @Test func requestTimesOutWhenTheResponderIsSilent() async throws {
        try await NATSClient.withClient(configuration: NATSBroker.configuration()) { client in
            let subject = NATSBroker.uniqueSubject()
            let silent = RecordingConsumer()
            _ = try await client.subscribe(to: subject, consumer: silent.consumer)
            try await client.flush()
            let started = ContinuousClock.now
            await #expect {
                _ = try await client.request(NATSMessage(subject: subject), timeout: .milliseconds(300))
            } throws: { ($0 as? TransportError)?.code == .timedOut }
            #expect(ContinuousClock.now - started >= .milliseconds(300))
            #expect(silent.count == 1)
            // The client still works after the timeout.
            _ = try await respond(on: subject + ".echo", with: client)
            let reply = try await client.request(NATSMessage(subject: subject + ".echo", payload: .text("ok")))
            #expect(reply.payload == .text("ko"))
        }
    }
}
