import CloudEvents
import CloudEventsAMQP
import CloudEventsTestSupport
import CloudEventsTransports
import Foundation
import Synchronization
import Testing

/// The endpoint of a fresh queue on RabbitMQ at `port` (guest/guest over loopback).
private func queueEndpoint(port: Int, host: String = "127.0.0.1", _ test: String = #function) throws -> Endpoint {
    try Endpoint("amqp://guest:guest@\(host):\(port)//queue/\(AMQPBroker.uniqueQueue(test))")
}

/// `AMQPBinding` through the RabbitMQ of `Scripts/brokers`: what a consumer's release and
/// modify make the broker do.
@Suite("AMQPBinding through RabbitMQ: redelivery", AMQPBroker.gate)
struct AMQPBindingRabbitMQTests {
    @Test func aReleasedOrModifiedDeliveryComesBack() async throws {
        let endpoint = try queueEndpoint(port: AMQPBroker.port, host: AMQPBroker.host)
        try await BindingHarness.registry.withReceiver(for: endpoint, options: BindingHarness.options) { receiver in
            let consumer = BindingHarness.consumer {
                var iterator = receiver.deliveries().makeAsyncIterator()
                let first = try await BindingHarness.next(&iterator)
                #expect(first.redeliveryCount == 0 && first.isRedelivered == false)
                first.release()
                #expect(await first.settlementOutcome() == .reachedPeer)
                let released = try await BindingHarness.next(&iterator)
                #expect(try released.event().id == "again")
                released.modify(deliveryFailed: true)
                let modified = try await BindingHarness.next(&iterator)
                #expect(try modified.event().id == "again")
                // RabbitMQ 3.10's AMQP 1.0 plugin redelivers both, but writes no delivery-count
                // (0) even after a failed delivery: the DocC says so; a broker that counts
                // makes this fail, and the documentation must change with it.
                #expect(modified.redeliveryCount == 0, "\(String(describing: modified.redeliveryCount))")
                modified.accept()
                return released.redeliveryCount
            }
            try await BindingHarness.registry.withSender(for: endpoint, options: BindingHarness.options) { sender in
                let outcome = try await sender.send(BindingHarness.event("again"))
                #expect(outcome.summary.hasSuffix("accepted"))
            }
            let countAfterRelease = try await consumer.value
            #expect(countAfterRelease == 0, "RabbitMQ counted a release: \(String(describing: countAfterRelease))")
            // The peer-to-peer suite checks that the consumer's modify reaches the sender.
        }
    }
}

/// Collects the ids a consumer accepted, from the consumer's task, for the test to read.
private final class AcceptedIDs: Sendable {
    private let ids = Mutex<Set<String>>([])
    func insert(_ id: String) { ids.withLock { _ = $0.insert(id) } }
    var all: Set<String> { ids.withLock { $0 } }
}

/// `AMQPBinding` through a RabbitMQ of the test's own, restarted mid-stream: the sender and
/// the receiver reconnect, and nothing the broker accepted is lost.
@Suite(
    "AMQPBinding through a restarted RabbitMQ",
    BrokerRequirement.gate(skipComment: PrivateRabbitMQRequirement.skipComment) {
        PrivateRabbitMQRequirement.decide(in: ProcessInfo.processInfo.environment)
    })
struct AMQPBindingBrokerRestartTests {
    @Test func aBrokerRestartMidStreamLosesNothingAccepted() async throws {
        try await PrivateRabbitMQ.withBroker { broker in
            let endpoint = try queueEndpoint(port: broker.port)
            let options = BindingOptions(timeout: .seconds(60))
            let received = AcceptedIDs()
            var accepted: [String] = []
            try await BindingHarness.registry.withReceiver(for: endpoint, options: options) { receiver in
                let consumer = BindingHarness.consumer(timeout: .seconds(240)) {
                    for try await delivery in receiver.deliveries() {
                        received.insert(try delivery.event().id)
                        delivery.accept()
                    }
                }
                try await BindingHarness.registry.withSender(for: endpoint, options: options) { sender in
                    for index in 0..<40 {
                        if index == 20 { try await broker.restart() }
                        // A send whose outcome was lost with the connection is tried again,
                        // as the bridge would: its message may arrive twice, never not at all.
                        let id = "e\(index)"
                        let deadline = ContinuousClock.now + .seconds(90)
                        while true {
                            do {
                                _ = try await sender.send(BindingHarness.event(id))
                                accepted.append(id)
                                break
                            } catch let error as TransportError where error.isTransient || error.code == .connectionFailed {
                                guard ContinuousClock.now < deadline else { throw error }
                                try await Task.sleep(for: .milliseconds(200))
                            }
                        }
                    }
                }
                let all = Set(accepted)
                let arrived = await pollUntil(timeout: .seconds(60)) { all.isSubset(of: received.all) }
                #expect(arrived, "missing: \(all.subtracting(received.all).sorted()); \(broker.logTail(500))")
                consumer.cancel()
                _ = try? await consumer.value
            }
            #expect(accepted.count == 40)
        }
    }
}
