import CloudEvents
import CloudEventsNATS
import CloudEventsTestSupport
import Foundation
import Synchronization
import Testing

/// User/password authentication and consumer back-pressure, against the nats-server of
/// `Scripts/brokers`.
@Suite(.serialized, NATSBroker.gate)
struct ClientAuthAndFlowTests {
    @Test func theRightUserAndPasswordConnect() async throws {
        var configuration = NATSBroker.configuration(port: NATSBroker.authPort)
        configuration.authentication = .userPassword(user: NATSBroker.username, password: NATSBroker.password)
        try await NATSClient.withClient(configuration: configuration) { client in
            let subject = NATSBroker.uniqueSubject()
            let recorder = RecordingConsumer()
            _ = try await client.subscribe(to: subject, consumer: recorder.consumer)
            try await client.publish(NATSMessage(subject: subject, payload: .text("x")))
            try await client.flush()
            #expect(await pollUntil(timeout: .seconds(30)) { recorder.count == 1 })
        }
    }

    @Test(arguments: [NATSAuthentication.userPassword(user: "cetest", password: "wrong"), .none, .token("nope")])
    func wrongCredentialsAreNotAuthorized(authentication: NATSAuthentication) async throws {
        var configuration = NATSBroker.configuration(port: NATSBroker.authPort)
        configuration.authentication = authentication
        await #expect {
            _ = try await NATSClient.connect(configuration: configuration)
        } throws: { error in
            guard let error = error as? TransportError else { return false }
            return error.code == .notAuthorized && error.message.contains("\(NATSBroker.authPort)")
                && !error.message.contains("wrong")
        }
    }

    @Test func aConsumerThatIsFullForAWhileLosesNothingAndKeepsTheOrder() async throws {
        try await NATSClient.withClient(configuration: NATSBroker.configuration()) { client in
            let subject = NATSBroker.uniqueSubject()
            /// Takes 10 messages, then answers `.full` until the test calls the saved `onRoom`.
            final class Stubborn: Sendable {
                let state = Mutex<(taken: [Int], room: (@Sendable () -> Void)?, refusals: Int)>(([], nil, 0))
                var consumer: NATSMessageConsumer {
                    NATSMessageConsumer(
                        deliver: { message, onRoom in
                            self.state.withLock { state in
                                if state.taken.count % 10 == 9, state.room == nil, state.refusals < 200 {
                                    state.room = onRoom
                                    state.refusals += 1
                                    return .full
                                }
                                state.taken.append(Int(String(decoding: message.payload, as: UTF8.self)) ?? -1)
                                return .taken
                            }
                        }, finish: { _ in })
                }
                /// Calls the saved `onRoom`, as a consumer that made room does.
                func makeRoom() -> Bool {
                    let room = state.withLock { state in
                        defer { state.room = nil }
                        return state.room
                    }
                    room?()
                    return room != nil
                }
            }
            let stubborn = Stubborn()
            _ = try await client.subscribe(to: subject, consumer: stubborn.consumer)
            try await client.flush()
            let count = 1000
            for index in 0..<count { try await client.publish(NATSMessage(subject: subject, payload: .text("\(index)"))) }
            try await client.flush()
            let done = await pollUntil(timeout: .seconds(60)) {
                _ = stubborn.makeRoom()
                return stubborn.state.withLock { $0.taken.count } == count
            }
            #expect(done)
            let state = stubborn.state.withLock { $0 }
            #expect(state.taken == Array(0..<count))
            #expect(state.refusals > 10)
            #expect(client.isConnected)
        }
    }

    @Test func aConsumerFullPastTheReadAheadLimitPausesReadingAndLosesNothing() async throws {
        var configuration = NATSBroker.configuration()
        configuration.operationTimeout = .seconds(60)
        try await NATSClient.withClient(configuration: configuration) { client in
            let subject = NATSBroker.uniqueSubject()
            let gate = Mutex<(open: Bool, room: (@Sendable () -> Void)?, taken: [UInt8])>((false, nil, []))
            _ = try await client.subscribe(
                to: subject,
                consumer: NATSMessageConsumer(
                    deliver: { message, onRoom in
                        gate.withLock { gate in
                            guard gate.open else {
                                gate.room = onRoom
                                return .full
                            }
                            gate.taken.append(message.payload[0])
                            return .taken
                        }
                    }, finish: { _ in }))
            try await client.flush()
            // 8 MiB: twice the read-ahead limit, so the socket's reading pauses.
            let count = 128
            for index in 0..<count {
                try await client.publish(
                    NATSMessage(subject: subject, payload: [UInt8](repeating: UInt8(index), count: 64 << 10)))
            }
            #expect(await pollUntil(timeout: .seconds(30)) { gate.withLock { $0.room != nil } })
            try await Task.sleep(for: .milliseconds(300))
            let room = gate.withLock { gate in
                gate.open = true
                return gate.room
            }
            room?()
            #expect(await pollUntil(timeout: .seconds(60)) { gate.withLock { $0.taken.count } == count })
            #expect(gate.withLock { $0.taken } == (0..<count).map { UInt8($0) })
            try await client.flush()
        }
    }

    @Test func aMessageStreamWithASmallCapacityLosesNothing() async throws {
        try await NATSClient.withClient(configuration: NATSBroker.configuration()) { client in
            let subject = NATSBroker.uniqueSubject()
            let messages = try await client.messages(on: subject, capacity: 4)
            let count = 2000
            for index in 0..<count { try await client.publish(NATSMessage(subject: subject, payload: .text("\(index)"))) }
            try await client.flush()
            var received: [Int] = []
            for try await message in messages {
                received.append(Int(String(decoding: message.payload, as: UTF8.self)) ?? -1)
                if received.count == count { break }
                if received.count % 100 == 0 { try await Task.sleep(for: .milliseconds(5)) }
            }
            #expect(received == Array(0..<count))
        }
    }

    @Test func droppingAMessageStreamUnsubscribes() async throws {
        try await NATSClient.withClient(configuration: NATSBroker.configuration()) { client in
            let subject = NATSBroker.uniqueSubject()
            do {
                let messages = try await client.messages(on: subject, capacity: 1)
                try await client.publish(NATSMessage(subject: subject, payload: .text("1")))
                try await client.publish(NATSMessage(subject: subject, payload: .text("2")))
                try await client.publish(NATSMessage(subject: subject, payload: .text("3")))
                try await client.flush()
                var iterator = messages.makeAsyncIterator()
                let first = try await iterator.next()
                #expect(first?.payload == .text("1"))
            }
            // The held message is dropped, reading resumes, and the client keeps working.
            let reply = RecordingConsumer()
            _ = try await client.subscribe(to: subject + ".after", consumer: reply.consumer)
            try await client.publish(NATSMessage(subject: subject + ".after"))
            try await client.flush()
            #expect(await pollUntil(timeout: .seconds(30)) { reply.count == 1 })
        }
    }
}
