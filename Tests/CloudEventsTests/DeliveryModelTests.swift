import CloudEvents
import Synchronization
import Testing

/// The delivery model every binding shares: settlements, their conditions, the redelivery
/// fields, and ``Delivery/settlementOutcome()``.
@Suite("Delivery model")
struct DeliveryModelTests {
    static let message = Message()

    /// What a binding heard: the settlements, in order, and the last report.
    final class Heard: Sendable {
        private let state = Mutex<(settlements: [Settlement], report: SettlementReport?)>(([], nil))
        var settlements: [Settlement] { state.withLock { $0.settlements } }
        var report: SettlementReport? { state.withLock { $0.report } }
        func record(_ settlement: Settlement, _ report: SettlementReport? = nil) {
            state.withLock {
                $0.settlements.append(settlement)
                $0.report = report
            }
        }
    }

    static func plain(_ heard: Heard, redeliveryCount: Int? = nil, isRedelivered: Bool? = nil) -> Delivery {
        Delivery(message: message, redeliveryCount: redeliveryCount, isRedelivered: isRedelivered) { heard.record($0) }
    }

    static func reporting(_ heard: Heard) -> Delivery {
        Delivery(message: message) { settlement, report in heard.record(settlement, report) }
    }

    @Test func rejectionCarriesTheDefaultCondition() {
        let heard = Heard()
        let delivery = Self.plain(heard)
        #expect(delivery.reject(reason: "poison"))
        #expect(heard.settlements == [.rejected(reason: "poison", condition: .rejected)])
        #expect(delivery.settlement == .rejected(reason: "poison"))
        #expect(ErrorCondition.rejected.rawValue == "cloudevents:rejected")
        #expect(delivery.settlement?.description == "rejected (poison)")
    }

    @Test func rejectionCarriesACustomCondition() {
        let heard = Heard()
        let delivery = Self.plain(heard)
        #expect(delivery.reject(reason: "not JSON", condition: .invalidMessage))
        #expect(heard.settlements == [.rejected(reason: "not JSON", condition: ErrorCondition("amqp:decode-error"))])
        #expect(delivery.settlement?.description == "rejected [amqp:decode-error] (not JSON)")
        #expect(ErrorCondition(rawValue: "x:y") == ErrorCondition("x:y"))
    }

    @Test func modifyDefaultsToAFailedAttemptAndSettlesOnce() {
        let heard = Heard()
        let delivery = Self.plain(heard)
        #expect(delivery.modify())
        #expect(!delivery.accept())
        #expect(!delivery.modify(deliveryFailed: false, undeliverableHere: true))
        #expect(heard.settlements == [.modified(deliveryFailed: true, undeliverableHere: false)])
        let other = Self.plain(Heard())
        other.modify(deliveryFailed: false, undeliverableHere: true)
        #expect(other.settlement == .modified(deliveryFailed: false, undeliverableHere: true))
    }

    @Test func redeliveryFields() {
        let heard = Heard()
        #expect(Self.plain(heard).redeliveryCount == nil)
        #expect(Self.plain(heard).isRedelivered == nil)
        #expect(Self.plain(heard, redeliveryCount: 0).isRedelivered == false)
        #expect(Self.plain(heard, redeliveryCount: 2).isRedelivered == true)
        #expect(Self.plain(heard, redeliveryCount: 2).redeliveryCount == 2)
        #expect(Self.plain(heard, isRedelivered: true).isRedelivered == true)
        #expect(Self.plain(heard, isRedelivered: true).redeliveryCount == nil)
    }

    @Test func plainSettlementIsLocal() async {
        let delivery = Self.plain(Heard())
        delivery.accept()
        #expect(await delivery.settlementOutcome() == .local)
    }

    @Test func reportedOutcomesReachTheWaiter() async {
        let reached = Heard()
        let delivery = Self.reporting(reached)
        delivery.accept()
        try? #require(reached.report).reachedPeer()
        #expect(await delivery.settlementOutcome() == .reachedPeer)

        let failed = Heard()
        let lost = Self.reporting(failed)
        lost.release()
        failed.report?.failed(TransportError(.connectionFailed, "the link detached"))
        failed.report?.reachedPeer()  // only the first report counts
        #expect(await lost.settlementOutcome() == .failed(.connectionFailed, "the link detached"))
        #expect(failed.report?.outcome == .failed(.connectionFailed, "the link detached"))

        let local = Heard()
        let kept = Self.reporting(local)
        kept.reject(reason: "no")
        local.report?.local()
        #expect(await kept.settlementOutcome() == .local)
    }

    @Test func outcomeWaitsForTheSettlementAndTheReport() async throws {
        let heard = Heard()
        let delivery = Self.reporting(heard)
        let waiting = Task { await delivery.settlementOutcome() }
        let second = Task { await delivery.settlementOutcome() }
        try await Task.sleep(for: .milliseconds(50))
        delivery.accept()
        let report = try #require(heard.report)
        try await Task.sleep(for: .milliseconds(50))
        report.reachedPeer()
        #expect(await waiting.value == .reachedPeer)
        #expect(await second.value == .reachedPeer)
    }

    @Test func plainOutcomeWaitsForTheSettlement() async throws {
        let heard = Heard()
        let delivery = Self.plain(heard)
        let waiting = Task { await delivery.settlementOutcome() }
        try await Task.sleep(for: .milliseconds(50))
        delivery.release()
        #expect(await waiting.value == .local)
        #expect(heard.settlements == [.released])
    }

    @Test func cancelledWaitReturnsAtOnce() async {
        let delivery = Self.reporting(Heard())
        let waiting = Task { await delivery.settlementOutcome() }
        waiting.cancel()
        guard case .failed(.closed, _) = await waiting.value else {
            Issue.record("a cancelled wait should return .failed(.closed, …)")
            return
        }
    }

    @Test func droppedReportEndsTheWait() async throws {
        let heard = Heard()
        let delivery = Delivery(message: Self.message) { settlement, _ in heard.record(settlement) }
        let waiting = Task { await delivery.settlementOutcome() }
        try await Task.sleep(for: .milliseconds(20))
        delivery.accept()
        guard case .failed(.closed, let message) = await waiting.value else {
            Issue.record("a report dropped unanswered should end the wait with .failed(.closed, …)")
            return
        }
        #expect(message.contains("dropped"))
    }

    @Test func droppedDeliveryIsReleasedOnceWithAReport() {
        let heard = Heard()
        do { _ = Self.reporting(heard) }
        #expect(heard.settlements == [.released])
        #expect(heard.report != nil)
        let plain = Heard()
        do {
            let delivery = Self.plain(plain)
            delivery.accept()
        }
        #expect(plain.settlements == [.accepted])
    }

    @Test func transportErrorCodesForGivenBackMessages() {
        #expect(TransportError(.released, "given back").isTransient)
        #expect(TransportError(.modified, "not processed").isTransient)
        #expect(!TransportError(.modified, "not here", condition: nil).isTransient)
        let rejected = TransportError(.rejected, "refused: bad", condition: .invalidMessage)
        #expect(rejected.condition == .invalidMessage)
        #expect(!rejected.isTransient)
        #expect(TransportError(.rejected, "refused").condition == nil)
    }
}

@Suite("In-process channel settlement")
struct InProcessSettlementTests {
    let event = CloudEvent(id: "1", source: "/s", type: "t")

    @Test func rejectionConditionReachesTheSender() async throws {
        try await InProcessChannel.withChannel { channel in
            let sent = Task { try await channel.send(event) }
            var iterator = channel.deliveries().makeAsyncIterator()
            let delivery = try #require(try await iterator.next())
            delivery.reject(reason: "poison", condition: ErrorCondition("com.example:poison"))
            #expect(await delivery.settlementOutcome() == .local)
            let error = try await #require(throws: TransportError.self) { try await sent.value }
            #expect(error.code == .rejected)
            #expect(error.condition == ErrorCondition("com.example:poison"))
        }
    }

    @Test func modifiedRedeliversWithACount() async throws {
        try await InProcessChannel.withChannel { channel in
            let sent = Task { try await channel.send(event) }
            var iterator = channel.deliveries().makeAsyncIterator()
            let first = try #require(try await iterator.next())
            #expect(first.redeliveryCount == 0)
            #expect(first.isRedelivered == false)
            first.modify()
            let second = try #require(try await iterator.next())
            #expect(second.redeliveryCount == 1)
            #expect(second.isRedelivered == true)
            second.accept()
            try await sent.value
        }
    }
}
