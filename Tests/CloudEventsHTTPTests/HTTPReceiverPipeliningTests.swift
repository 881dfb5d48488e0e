import CloudEvents
import CloudEventsHTTP
import Foundation
import HTTPTypes
import Synchronization
import Testing

/// HTTP/1 pipelining (the receiver holds requests that arrive behind one waiting for its
/// settlement, and answers them in order) and a consumer running on the receiver's event
/// loop.
@Suite("HTTP receiver pipelining and event-loop consumers")
struct HTTPReceiverPipeliningTests {
    /// Three requests in one write: each reaches the consumer only after the one before it
    /// was settled, and the responses come back in request order.
    @Test func pipelinedRequestsAreServedInOrderOneAtATime() async throws {
        let requests = try ["p-1", "p-2", "p-3"].map { id in
            try rawRequest(CloudEvent(id: id, source: "/pipelining", type: "com.example.pipelined"))
        }
        let tracker = UnsettledTracker()
        let text = try await HTTPEventReceiver.withReceiver(configuration: .init(host: "127.0.0.1", port: 0)) { receiver in
            let consumer = Task {
                for try await delivery in receiver.deliveries() {
                    tracker.delivered()
                    // Held a while: a receiver that served the next pipelined request meanwhile
                    // would deliver it while this one is unsettled.
                    try await Task.sleep(for: .milliseconds(100))
                    let id = try delivery.event().id
                    tracker.settling()
                    if id == "p-2" { delivery.reject(reason: "second: \(id)") } else { delivery.accept() }
                }
            }
            defer { consumer.cancel() }
            return try await exchange(port: receiver.port, sending: requests.joined(), responses: 3)
        }
        // Status codes in order (a response's status line follows the previous body directly).
        let statuses = text.components(separatedBy: "HTTP/1.1 ").dropFirst().map { String($0.prefix(3)) }
        #expect(statuses == ["202", "400", "202"])
        #expect(text.contains("second: p-2"))
        #expect(tracker.unsettledAtEachDelivery == [0, 0, 0])
    }

    /// `Expect: 100-continue`: the receiver invites the body, then answers the request; a
    /// body over the limit is refused (413) before the client sends it.
    @Test func expectContinueIsInvitedOrRefusedAtOnce() async throws {
        let event = CloudEvent(id: "c-1", source: "/expect", type: "com.example.expect", data: .text("hello"))
        var configuration = HTTPReceiverConfiguration(host: "127.0.0.1", port: 0)
        configuration.maximumBodySize = 1000
        try await HTTPEventReceiver.withReceiver(configuration: configuration) { receiver in
            let consumer = Task {
                for try await delivery in receiver.deliveries() { delivery.accept() }
            }
            defer { consumer.cancel() }
            let (head, body) = try rawRequestParts(event, extraHeaders: "Expect: 100-continue\r\n")
            let connection = try RawSocket(port: receiver.port)
            connection.send(head)
            #expect(await connection.read(statusLines: 1, within: .seconds(60)).hasPrefix("HTTP/1.1 100 Continue\r\n"))
            connection.send(body)
            #expect(await connection.read(statusLines: 2, within: .seconds(60)).contains("HTTP/1.1 202 Accepted\r\n"))

            let tooLarge =
                "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n"
                + "ce-specversion: 1.0\r\nce-id: big\r\nce-source: /s\r\nce-type: t\r\n\r\n"
            let refused = try RawSocket(port: receiver.port)
            refused.send(tooLarge)
            let answer = await refused.read(statusLines: 1, within: .seconds(60))
            #expect(answer.hasPrefix("HTTP/1.1 413 "))
            #expect(!answer.contains("100 Continue"))
        }
    }

    /// A consumer on `eventLoopExecutor` receives and settles concurrent requests.
    @Test func aConsumerOnTheEventLoopSettlesEveryRequest() async throws {
        let ids = (1...20).map { "loop-\($0)" }
        try await HTTPEventReceiver.withReceiver(configuration: .init(host: "127.0.0.1", port: 0)) { receiver in
            let consumer = Task(executorPreference: receiver.eventLoopExecutor) {
                var seen: Set<String> = []
                for try await delivery in receiver.deliveries() {
                    seen.insert(try delivery.event().id)
                    delivery.accept()
                    if seen.count == ids.count { break }
                }
                return seen
            }
            let sender = try HTTPEventSender(configuration: .init(url: "http://127.0.0.1:\(receiver.port)/"))
            try await withThrowingTaskGroup(of: Int.self) { group in
                for id in ids {
                    group.addTask {
                        try await sender.exchange(CloudEvent(id: id, source: "/loop", type: "com.example.loop")).status.code
                    }
                }
                for try await status in group { #expect(status == 202) }
            }
            try await sender.shutdown()
            #expect(try await consumer.value == Set(ids))
        }
    }
}

/// How many deliveries were still unsettled each time one arrived.
private final class UnsettledTracker: Sendable {
    private let state = Mutex<(outstanding: Int, atDelivery: [Int])>((0, []))

    func delivered() {
        state.withLock {
            $0.atDelivery.append($0.outstanding)
            $0.outstanding += 1
        }
    }

    func settling() { state.withLock { $0.outstanding -= 1 } }

    var unsettledAtEachDelivery: [Int] { state.withLock { $0.atDelivery } }
}

/// The bytes of a binary-mode HTTP/1.1 request carrying `event`: head and body.
private func rawRequestParts(_ event: CloudEvent, extraHeaders: String = "") throws -> (head: String, body: String) {
    let (fields, body) = try event.httpFields()
    var text = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(body.count)\r\n" + extraHeaders
    for field in fields { text += "\(field.name.rawName): \(field.value)\r\n" }
    return (text + "\r\n", String(decoding: body, as: UTF8.self))
}

private func rawRequest(_ event: CloudEvent) throws -> String {
    let (head, body) = try rawRequestParts(event)
    return head + body
}

/// Sends `text` over one TCP connection in one write and reads until `responses` status
/// lines have arrived, or 10 s have passed.
private func exchange(port: Int, sending text: String, responses: Int) async throws -> String {
    let connection = try RawSocket(port: port)
    connection.send(text)
    return await connection.read(statusLines: responses, within: .seconds(60))
}
