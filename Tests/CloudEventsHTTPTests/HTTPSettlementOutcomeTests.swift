import AsyncHTTPClient
import CloudEvents
import CloudEventsHTTP
import NIOPosix
import Testing

/// ``Delivery/settlementOutcome()`` over HTTP: `.reachedPeer` once the settlement's response
/// was written, `.failed` when the request was gone before the settlement (the client left,
/// or the settlement timeout answered it 503 first).
@Suite("HTTP settlement outcome", .timeLimit(.minutes(2)))
struct HTTPSettlementOutcomeTests {
    static let request =
        "POST / HTTP/1.1\r\nHost: localhost\r\nce-specversion: 1.0\r\nce-id: 1\r\nce-source: /s\r\nce-type: t\r\n"
        + "Content-Length: 0\r\n\r\n"

    /// Runs a loopback receiver whose deliveries `body` takes from the stream it is given.
    static func withDeliveries(
        settlementTimeout: Duration = .seconds(60),
        _ body: (_ port: Int, _ deliveries: AsyncStream<Delivery>) async throws -> Void
    ) async throws {
        var configuration = HTTPReceiverConfiguration(host: "127.0.0.1", port: 0)
        configuration.settlementTimeout = settlementTimeout
        try await HTTPEventReceiver.withReceiver(configuration: configuration) { receiver in
            let (deliveries, handOver) = AsyncStream<Delivery>.makeStream()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await delivery in receiver.deliveries() { handOver.yield(delivery) }
                    handOver.finish()
                }
                defer { group.cancelAll() }
                try await body(receiver.port, deliveries)
            }
        }
    }

    /// HTTP has no `modified` outcome: a modification answers 503 with `Retry-After`, as a
    /// release does.
    @Test func aModificationIsAnsweredAsARelease() async throws {
        try await Self.withDeliveries { port, deliveries in
            let socket = try RawSocket(port: port)
            socket.send(Self.request)
            var iterator = deliveries.makeAsyncIterator()
            let delivery = try #require(await iterator.next())
            delivery.modify(deliveryFailed: true, undeliverableHere: true)
            let answer = await socket.read(statusLines: 1, within: .seconds(30))
            #expect(answer.hasPrefix("HTTP/1.1 503 "))
            #expect(answer.lowercased().contains("retry-after: 1\r\n"))
            #expect(await delivery.settlementOutcome() == .reachedPeer)
        }
    }

    @Test(arguments: [false, true])
    func theResponseReachesThePeer(reject: Bool) async throws {
        try await Self.withDeliveries { port, deliveries in
            let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
            let (requestFields, body) = try CloudEvent(id: "1", source: "/s", type: "t").httpFields()
            let response = Task { try await post(client, port: port, fields: requestFields, body: body) }
            var iterator = deliveries.makeAsyncIterator()
            let delivery = try #require(await iterator.next())
            if reject {
                delivery.reject(reason: "no", condition: .invalidMessage)
            } else {
                delivery.accept()
            }
            let status = try await response.value.status
            try await client.shutdown()
            #expect(status == (reject ? 400 : 202))
            #expect(await delivery.settlementOutcome() == .reachedPeer)
        }
    }

    @Test func aClientThatLeftBeforeTheSettlementMakesItFail() async throws {
        try await Self.withDeliveries { port, deliveries in
            var iterator = deliveries.makeAsyncIterator()
            let delivery: Delivery
            do {
                let socket = try RawSocket(port: port)
                socket.send(Self.request)
                delivery = try #require(await iterator.next())
            }  // the socket closes here
            // Time for the receiver to see the connection close (the settlement below would
            // otherwise be written before it noticed: then the outcome is `.reachedPeer`).
            try await Task.sleep(for: .seconds(1))
            delivery.accept()
            guard case .failed(let code, let message) = await delivery.settlementOutcome() else {
                Issue.record("the settlement of a request whose client left reached the peer")
                return
            }
            #expect(code == .connectionFailed)
            #expect(message.contains("closed"))
        }
    }

    @Test func aSettlementAfterTheTimeoutAnsweredFails() async throws {
        try await Self.withDeliveries(settlementTimeout: .milliseconds(300)) { port, deliveries in
            let socket = try RawSocket(port: port)
            socket.send(Self.request)
            var iterator = deliveries.makeAsyncIterator()
            let delivery = try #require(await iterator.next())
            let answer = await socket.read(statusLines: 1, within: .seconds(30))
            #expect(answer.hasPrefix("HTTP/1.1 503 "))
            delivery.accept()
            guard case .failed(.timedOut, let message) = await delivery.settlementOutcome() else {
                Issue.record("a settlement after the timeout answered 503 reached the peer")
                return
            }
            #expect(message.contains("not settled within"))
        }
    }
}
