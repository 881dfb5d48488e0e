import CloudEvents
import CloudEventsLoopDriver
import Testing

@testable import CloudEventsMQTT

/// The connection's rules without a broker, a thread or libmosquitto: events in, actions out.
@Suite struct MQTTConnectionStateMachineTests {
    typealias Machine = MQTTConnectionStateMachine
    typealias Action = Machine.Action

    static let t0 = ContinuousClock.now

    static func machine(drain: Duration = .seconds(2)) -> Machine {
        var configuration = Machine.Configuration(
            broker: "broker:1883", operationTimeout: .seconds(10),
            reconnect: .exponential(initial: .milliseconds(100), maximum: .seconds(1), jitter: 0), keepAlive: .seconds(30))
        configuration.disconnectGrace = drain
        return Machine(configuration: configuration)
    }

    /// A machine that is connected, its start waiter resumed.
    static func connected() -> Machine {
        var machine = machine()
        let start = machine.startRequested(waiter: ContinuationID(1), now: t0)
        #expect(start.contains { $0.isConnect })
        let actions = machine.connackReceived(reasonCode: 0, refusal: TransportError(.connectionFailed, "unused"))
        #expect(actions.completion(ContinuationID(1))?.isSuccess == true)
        #expect(machine.isConnected)
        return machine
    }

    static func delivery(_ id: Int) -> Delivery {
        Delivery(message: try! Message(CloudEvent(id: "\(id)", source: "/s", type: "t")), settle: { _ in })
    }

    static func message(_ topic: String = "t", qos: MQTTQoS = .atLeastOnce) -> MQTTMessage {
        MQTTMessage(topic: topic, payload: [1], qos: qos)
    }

    /// Takes the queued publishes and writes them with message ids from `firstID`.
    static func write(_ machine: inout Machine, firstID: Int32) -> [Int32] {
        let queued = machine.takeQueuedPublishes()
        let written = queued.enumerated().map { index, publish in
            (
                firstID + Int32(index),
                Machine.InFlightPublish(
                    waiter: publish.waiter, topic: publish.message.topic, qos: publish.message.qos, deadline: publish.deadline)
            )
        }
        machine.publishesWritten(written, unsent: [])
        return written.map(\.0)
    }

    // MARK: Reconnect

    @Test func aLostConnectionIsRetriedWithBackoffAndTheSubscriptionsAreReplayed() throws {
        var machine = Self.connected()
        let first = machine.addSubscription(filter: "a/#", qos: .atLeastOnce)
        let second = machine.addSubscription(filter: "b/+", qos: .exactlyOnce)
        // Publishes in flight at QoS 0 and 1.
        let qos0Request = machine.publishRequested(
            waiter: ContinuationID(10), message: Self.message(qos: .atMostOnce), deadline: Self.t0 + .seconds(10))
        #expect(qos0Request.isQueued)
        let qos1Request = machine.publishRequested(
            waiter: ContinuationID(11), message: Self.message(qos: .atLeastOnce), deadline: Self.t0 + .seconds(10))
        #expect(qos1Request.isQueued)
        #expect(Self.write(&machine, firstID: 1) == [1, 2])

        // Lost: the QoS 0 publish fails (libmosquitto dropped it), the QoS 1 one stays.
        let lost = machine.disconnected(returnCode: 7, connectError: TransportError(.connectionFailed, "unused"))
        let qos0 = try #require(lost.completion(ContinuationID(10)))
        #expect(qos0.failure?.code == .connectionFailed)
        #expect(lost.completion(ContinuationID(11)) == nil)
        #expect(lost.contains { if case .log(.connectionLost(7)) = $0 { true } else { false } })
        #expect(!machine.isConnected)

        // Scheduled with the backoff: 100 ms, then 200 ms after a failed attempt.
        let lostTurn = machine.loopTurn(now: Self.t0, socketOpen: false, connectError: Self.unused)
        let firstSchedule = try #require(lostTurn.scheduledReconnect)
        #expect(firstSchedule.attempt == 1 && firstSchedule.delay == .milliseconds(100))
        #expect(firstSchedule.at == Self.t0 + .milliseconds(100))
        let laterTurn = machine.loopTurn(now: Self.t0 + .milliseconds(50), socketOpen: false, connectError: Self.unused)
        #expect(laterTurn.isEmpty, "already scheduled")
        let firstFire = machine.reconnectTimerFired()
        #expect(firstFire.contains { $0.isReconnect })
        _ = machine.reconnectAttempted(error: TransportError(.connectionFailed, "refused"))
        #expect(machine.lastConnectError?.message == "refused")
        let secondSchedule = try #require(
            machine.loopTurn(now: Self.t0 + .milliseconds(150), socketOpen: false, connectError: Self.unused).scheduledReconnect)
        #expect(secondSchedule.attempt == 2 && secondSchedule.delay == .milliseconds(200))
        let secondFire = machine.reconnectTimerFired()
        #expect(secondFire.contains { $0.isReconnect })
        _ = machine.reconnectAttempted(error: nil)

        // A publish made while disconnected waits for the connection.
        let whileDisconnected = machine.publishRequested(
            waiter: ContinuationID(12), message: Self.message(), deadline: Self.t0 + .seconds(10))
        #expect(whileDisconnected.isQueued)
        let notWritten = machine.takeQueuedPublishes()
        #expect(notWritten.isEmpty, "not written while disconnected")

        // Reconnected: both subscriptions are replayed in order, the count goes up.
        let reconnected = machine.connackReceived(reasonCode: 0, refusal: TransportError(.connectionFailed, "unused"))
        let replay = try #require(reconnected.resubscriptions)
        #expect(replay.map(\.id) == [first, second])
        #expect(replay.map(\.filter) == ["a/#", "b/+"])
        #expect(replay.map(\.qos) == [.atLeastOnce, .exactlyOnce])
        #expect(reconnected.contains { if case .log(.reconnected(2)) = $0 { true } else { false } })
        #expect(machine.connectionCount == 2 && machine.reconnectAttempt == 0)
        machine.resubscribed(messageIDs: [20, 21])

        // The replay's SUBACKs are nobody's, not even a later subscribe's.
        let request = machine.subscribeRequested(
            waiter: ContinuationID(30), subscription: first, deadline: Self.t0 + .seconds(10))
        #expect(request.isSuccess)
        machine.subscribeSent(waiter: ContinuationID(30), messageID: 22)
        let replayAck = machine.subackReceived(messageID: 20, granted: 1)
        #expect(replayAck.isEmpty)
        let subscribeAck = machine.subackReceived(messageID: 22, granted: 1)
        #expect(subscribeAck.subscribeCompletion(ContinuationID(30))?.success == 1)

        // The QoS 1 publish is still acknowledged; the queued one goes out now.
        let acknowledged = machine.publishAcknowledged(messageID: 2)
        #expect(acknowledged?.waiter == ContinuationID(11))
        let nowWritten = machine.takeQueuedPublishes()
        #expect(nowWritten.map(\.waiter) == [ContinuationID(12)])
    }

    @Test func aSocketClosedBeforeTheFirstCONNACKFailsTheStartInsteadOfRetrying() {
        var machine = Self.machine()
        _ = machine.startRequested(waiter: ContinuationID(1), now: Self.t0)
        let actions = machine.loopTurn(
            now: Self.t0, socketOpen: false, connectError: TransportError(.connectionFailed, "TLS handshake refused"))
        #expect(actions.completion(ContinuationID(1))?.failure?.message == "TLS handshake refused")
        #expect(actions.contains { $0.isEndLoop })
        #expect(actions.scheduledReconnect == nil)
    }

    @Test func aRefusedFirstConnectionFailsTheStartWithTheRefusal() {
        var machine = Self.machine()
        _ = machine.startRequested(waiter: ContinuationID(1), now: Self.t0)
        let actions = machine.connackReceived(reasonCode: 0x86, refusal: TransportError(.notAuthorized, "bad password"))
        #expect(actions.completion(ContinuationID(1))?.failure?.code == .notAuthorized)
        #expect(actions.contains { $0.isEndLoop })
    }

    @Test func noCONNACKWithinTheOperationTimeoutFailsTheStart() {
        var machine = Self.machine()
        _ = machine.startRequested(waiter: ContinuationID(1), now: Self.t0)
        let beforeDeadline = machine.loopTurn(now: Self.t0 + .seconds(9), socketOpen: true, connectError: Self.unused)
        #expect(beforeDeadline.isEmpty)
        let actions = machine.loopTurn(now: Self.t0 + .seconds(10), socketOpen: true, connectError: Self.unused)
        #expect(actions.completion(ContinuationID(1))?.failure?.code == .timedOut)
        #expect(actions.contains { $0.isEndLoop })
    }

    // MARK: Pause and resume

    @Test func aFullBufferPausesReadingUntilEveryHeldDeliveryIsHandedOver() {
        var machine = Self.connected()
        let id = machine.addSubscription(filter: "a", qos: .atLeastOnce)
        #expect(!machine.isPaused && !machine.isOverflowing(id))

        let full = machine.deliveryBufferFull(id, Self.delivery(1), now: Self.t0)
        #expect(full.contains { $0.isPauseReading })
        #expect(machine.isPaused && machine.isOverflowing(id))
        // Later deliveries queue behind the held one instead of overtaking it.
        machine.appendOverflow(id, Self.delivery(2))
        machine.appendOverflow(id, Self.delivery(3))
        let fullAgain = machine.deliveryBufferFull(id, Self.delivery(4), now: Self.t0)
        #expect(fullAgain.isEmpty, "already paused")

        // The consumer made room for one: three are still held, reading stays paused.
        var held = machine.takeOverflow()
        #expect(held[id]?.count == 4)
        let partly = machine.overflowHandedOver(remaining: [id: Array(held[id]!.dropFirst())])
        #expect(partly.isEmpty)
        #expect(machine.isPaused)

        // Room for the rest: reading resumes.
        held = machine.takeOverflow()
        #expect(held[id].map { $0.map { try? $0.event().id } } == ["2", "3", "4"], "in order")
        let all = machine.overflowHandedOver(remaining: [:])
        #expect(all.contains { $0.isResumeReading })
        #expect(!machine.isPaused && !machine.isOverflowing(id))
        let nothing = machine.takeOverflow()
        #expect(nothing.isEmpty, "nothing to hand over when not paused")
    }

    @Test func whilePausedAKeepalivePacketIsDueEveryHalfKeepalive() {
        var machine = Self.connected()
        let id = machine.addSubscription(filter: "a", qos: .atLeastOnce)
        let unpaused = machine.pausedKeepAliveDue(now: Self.t0)
        #expect(!unpaused, "not paused")
        _ = machine.deliveryBufferFull(id, Self.delivery(1), now: Self.t0)
        var due: [Bool] = []
        for seconds in [14, 15, 16, 30] { due.append(machine.pausedKeepAliveDue(now: Self.t0 + .seconds(seconds))) }
        #expect(due == [false, true, false, true], "once per half keepalive (15 s)")
    }

    @Test func aStoppedConsumersHeldDeliveriesAreDroppedAndCounted() {
        var machine = Self.connected()
        let id = machine.addSubscription(filter: "a", qos: .atLeastOnce)
        let other = machine.addSubscription(filter: "a", qos: .atMostOnce)
        _ = machine.deliveryBufferFull(id, Self.delivery(1), now: Self.t0)
        machine.appendOverflow(id, Self.delivery(2))
        let removed = machine.removeSubscription(id)
        #expect(removed?.droppedDeliveries == 2)
        #expect(removed?.filterStillUsed == true, "the other subscription keeps the broker's")
        let resumed = machine.overflowHandedOver(remaining: [:])
        #expect(resumed.contains { $0.isResumeReading }, "nothing held any more: reading resumes")
        let last = machine.removeSubscription(other)
        #expect(last?.filterStillUsed == false)
    }

    // MARK: Deadlines

    @Test func aPublishFailsAtItsDeadlineQueuedOrInFlightAndALateAckIsIgnored() {
        var machine = Self.machine()
        _ = machine.startRequested(waiter: ContinuationID(1), now: Self.t0)
        // Queued while starting.
        let request = machine.publishRequested(
            waiter: ContinuationID(2), message: Self.message(), deadline: Self.t0 + .seconds(1))
        #expect(request.isQueued)
        let early = machine.deadlineReached(now: Self.t0 + .milliseconds(999))
        #expect(early.isEmpty, "not early")
        let queued = machine.deadlineReached(now: Self.t0 + .seconds(1))
        #expect(queued.completion(ContinuationID(2))?.failure?.code == .timedOut)
        #expect(queued.completion(ContinuationID(2))?.failure?.message.contains("waiting for the connection to publish") == true)

        _ = machine.connackReceived(reasonCode: 0, refusal: Self.unused)
        let written = machine.publishRequested(
            waiter: ContinuationID(3), message: Self.message(), deadline: Self.t0 + .seconds(2))
        #expect(written.isQueued)
        #expect(Self.write(&machine, firstID: 7) == [7])
        let beforeDeadline = machine.deadlineReached(now: Self.t0 + .seconds(1))
        #expect(beforeDeadline.isEmpty)
        let inFlight = machine.deadlineReached(now: Self.t0 + .seconds(2))
        #expect(inFlight.completion(ContinuationID(3))?.failure?.message.contains("acknowledgement of a publish") == true)
        let lateAck = machine.publishAcknowledged(messageID: 7)
        #expect(lateAck == nil, "the late PUBACK finds no waiter")
        #expect(!machine.hasPublishesInFlight)
    }

    @Test func aSubscribeFailsAtItsDeadlineAndItsLateSUBACKIsIgnored() {
        var machine = Self.connected()
        let id = machine.addSubscription(filter: "a", qos: .atLeastOnce)
        let request = machine.subscribeRequested(waiter: ContinuationID(5), subscription: id, deadline: Self.t0 + .seconds(3))
        #expect(request.isSuccess)
        machine.subscribeSent(waiter: ContinuationID(5), messageID: 9)
        let beforeDeadline = machine.deadlineReached(now: Self.t0 + .seconds(2))
        #expect(beforeDeadline.isEmpty)
        let expired = machine.deadlineReached(now: Self.t0 + .seconds(3))
        #expect(expired.subscribeCompletion(ContinuationID(5))?.failure?.message.contains("waiting for a SUBACK") == true)
        #expect(!machine.isSubscribePending(ContinuationID(5)))
        let lateAck = machine.subackReceived(messageID: 9, granted: 1)
        #expect(lateAck.isEmpty)
    }

    @Test func aConnectionWaitFailsAtItsDeadlineWithTheLastConnectError() {
        var machine = Self.connected()
        _ = machine.disconnected(returnCode: 7, connectError: Self.unused)
        _ = machine.reconnectAttempted(error: TransportError(.connectionFailed, "connection refused"))
        let wait = machine.connectionWaitRequested(waiter: ContinuationID(4), deadline: Self.t0 + .seconds(1))
        #expect(wait == .wait)
        let expired = machine.deadlineReached(now: Self.t0 + .seconds(1))
        #expect(expired.completion(ContinuationID(4))?.failure?.message == "connection refused")
    }

    // MARK: Shutdown

    @Test func shutdownDrainsPublishesInFlightUntilTheDrainTimeoutThenFailsTheRestAsClosed() throws {
        var machine = Self.connected()
        for waiter in 1...3 {
            _ = machine.publishRequested(
                waiter: ContinuationID(UInt64(100 + waiter)), message: Self.message(), deadline: Self.t0 + .seconds(60))
        }
        #expect(Self.write(&machine, firstID: 1) == [1, 2, 3])
        let first = machine.shutdownRequested(drainDeadline: Self.t0 + .seconds(5))
        #expect(first == .requested)
        let second = machine.shutdownRequested(drainDeadline: Self.t0 + .seconds(50))
        #expect(second == .requested)
        #expect(machine.shutdownDrainDeadline == Self.t0 + .seconds(5), "the first request's deadline holds")
        // New publishes are refused at once.
        if case .fail(let error) = machine.publishRequested(
            waiter: ContinuationID(200), message: Self.message(), deadline: Self.t0 + .seconds(60))
        {
            #expect(error.code == .closed)
        } else {
            Issue.record("a publish after shutdown was queued")
        }

        // Draining: acknowledgements still complete publishes; no DISCONNECT yet.
        let draining = machine.loopTurn(now: Self.t0 + .seconds(1), socketOpen: true, connectError: Self.unused)
        #expect(draining.isEmpty)
        let acknowledged = machine.publishAcknowledged(messageID: 1)
        #expect(acknowledged?.waiter == ContinuationID(101))
        let stillDraining = machine.loopTurn(now: Self.t0 + .seconds(4), socketOpen: true, connectError: Self.unused)
        #expect(stillDraining.isEmpty)

        // The drain timeout passes with two still in flight: DISCONNECT, then the grace.
        let disconnect = machine.loopTurn(now: Self.t0 + .seconds(5), socketOpen: true, connectError: Self.unused)
        #expect(disconnect.contains { if case .disconnect = $0 { true } else { false } })
        let inGrace = machine.loopTurn(now: Self.t0 + .seconds(6), socketOpen: true, connectError: Self.unused)
        #expect(inGrace.isEmpty)
        let afterGrace = machine.loopTurn(now: Self.t0 + .seconds(8), socketOpen: true, connectError: Self.unused)
        #expect(afterGrace.contains { $0.isEndLoop })

        let leftovers = machine.loopEnded()
        #expect(leftovers.waiters == [ContinuationID(102), ContinuationID(103)])
        #expect(machine.closedError().code == .closed)
        #expect(machine.isStopped)
        let again = machine.shutdownRequested(drainDeadline: Self.t0)
        #expect(again == .alreadyStopped)
    }

    @Test func shutdownDisconnectsAtOnceWhenNothingIsInFlightAndEndsWhenTheBrokerCloses() {
        var machine = Self.connected()
        _ = machine.publishRequested(waiter: ContinuationID(7), message: Self.message(), deadline: Self.t0 + .seconds(60))
        _ = Self.write(&machine, firstID: 1)
        _ = machine.shutdownRequested(drainDeadline: Self.t0 + .seconds(5))
        let acknowledged = machine.publishAcknowledged(messageID: 1)
        #expect(acknowledged?.waiter == ContinuationID(7))
        let actions = machine.loopTurn(now: Self.t0 + .milliseconds(10), socketOpen: true, connectError: Self.unused)
        #expect(actions.contains { if case .disconnect = $0 { true } else { false } })
        // A clean disconnect is not a lost connection.
        let closed = machine.disconnected(returnCode: 0, connectError: Self.unused)
        #expect(!closed.contains { if case .log(.connectionLost) = $0 { true } else { false } })
        let closedTurn = machine.loopTurn(now: Self.t0 + .milliseconds(20), socketOpen: false, connectError: Self.unused)
        #expect(closedTurn.contains { $0.isEndLoop })
        let leftovers = machine.loopEnded()
        #expect(leftovers.waiters.isEmpty)
    }

    static let unused = TransportError(.connectionFailed, "unused")
}

extension MQTTConnectionStateMachine.Action {
    var isConnect: Bool { if case .connect = self { true } else { false } }
    var isReconnect: Bool { if case .reconnect = self { true } else { false } }
    var isEndLoop: Bool { if case .endLoop = self { true } else { false } }
    var isPauseReading: Bool { if case .pauseReading = self { true } else { false } }
    var isResumeReading: Bool { if case .resumeReading = self { true } else { false } }
}

extension [MQTTConnectionStateMachine.Action] {
    func completion(_ id: ContinuationID) -> Result<Void, TransportError>? {
        for action in self { if case .complete(id, let result) = action { return result } }
        return nil
    }

    func subscribeCompletion(_ id: ContinuationID) -> Result<Int32, TransportError>? {
        for action in self { if case .completeSubscribe(id, let result) = action { return result } }
        return nil
    }

    var scheduledReconnect: (at: ContinuousClock.Instant, delay: Duration, attempt: Int)? {
        for action in self { if case .scheduleReconnect(let at, let delay, let attempt) = action { return (at, delay, attempt) } }
        return nil
    }

    var resubscriptions: [MQTTConnectionStateMachine.Subscription]? {
        for action in self { if case .resubscribe(let list) = action { return list } }
        return nil
    }
}

extension Result {
    var isSuccess: Bool { if case .success = self { true } else { false } }
    var failure: Failure? { if case .failure(let error) = self { error } else { nil } }
    var success: Success? { if case .success(let value) = self { value } else { nil } }
}

extension MQTTConnectionStateMachine.PublishRequestAction {
    var isQueued: Bool { if case .queued = self { true } else { false } }
}
