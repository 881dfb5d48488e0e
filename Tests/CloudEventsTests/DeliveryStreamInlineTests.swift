import CloudEvents
import Synchronization
import Testing

/// ``DeliveryStream/consumeInline(_:)``: deliveries reach the consumer on the producer's
/// thread, in order; a full consumer holds them in the stream and then pauses the producer;
/// ``InlineIntake/resume()`` hands them over and wakes the producer.
@Suite struct DeliveryStreamInlineTests {
    /// A consumer that takes up to `room` deliveries and records their ids.
    final class Consumer: Sendable {
        let taken = Mutex<[String]>([])
        let room: Mutex<Int>

        init(room: Int) { self.room = Mutex(room) }

        func take(_ delivery: Delivery) -> InlineIntakeResult {
            let hasRoom = room.withLock { room -> Bool in
                guard room > 0 else { return false }
                room -= 1
                return true
            }
            guard hasRoom else { return .full }
            taken.withLock { $0.append(delivery.message.metadata["id"] ?? "?") }
            delivery.accept()
            return .taken
        }
    }

    static func delivery(_ id: Int) -> Delivery {
        Delivery(message: Message(content: .binary(attributes: [], data: nil), metadata: ["id": "\(id)"])) { _ in }
    }

    @Test func deliveriesQueuedBeforeInstallingGoFirstInOrder() {
        let (stream, continuation) = DeliveryStream.makeStream(capacity: 8)
        for id in 0..<3 { #expect(continuation.trySend(Self.delivery(id)) == .enqueued) }
        let consumer = Consumer(room: 100)
        _ = stream.consumeInline(consumer.take)
        for id in 3..<6 { #expect(continuation.trySend(Self.delivery(id)) == .enqueued) }
        #expect(consumer.taken.withLock { $0 } == ["0", "1", "2", "3", "4", "5"])
    }

    @Test func aFullConsumerHoldsDeliveriesThenPausesTheProducerUntilResumed() {
        let (stream, continuation) = DeliveryStream.makeStream(capacity: 2)
        let consumer = Consumer(room: 1)
        let intake = stream.consumeInline(consumer.take)
        let woken = Mutex(0)
        #expect(continuation.trySend(Self.delivery(0)) == .enqueued)  // taken
        #expect(continuation.trySend(Self.delivery(1)) == .enqueued)  // refused: held
        #expect(continuation.trySend(Self.delivery(2)) == .enqueued)  // held behind it
        #expect(intake.waiting == 2)
        #expect(continuation.trySend(Self.delivery(3), onRoom: { woken.withLock { $0 += 1 } }) == .full)
        #expect(consumer.taken.withLock { $0 } == ["0"])
        consumer.room.withLock { $0 = 10 }
        intake.resume()
        #expect(consumer.taken.withLock { $0 } == ["0", "1", "2"])
        #expect(woken.withLock { $0 } == 1)
        #expect(continuation.trySend(Self.delivery(3)) == .enqueued)
        #expect(consumer.taken.withLock { $0 } == ["0", "1", "2", "3"])
    }

    /// A consumer whose room returns while it is still answering `.full` (its room callback
    /// fired at once) must not leave the stream paused.
    @Test func aResumeDuringTheFullAnswerIsNotLost() {
        let (stream, continuation) = DeliveryStream.makeStream(capacity: 4)
        let handle = Mutex<InlineIntake?>(nil)
        let calls = Mutex(0)
        let taken = Mutex<[String]>([])
        let intake = stream.consumeInline { delivery in
            let call = calls.withLock { calls -> Int in
                calls += 1
                return calls
            }
            if call == 1 {
                // Room appears before the answer: resume from inside, as a buffer's
                // callback that fires at once would.
                handle.withLock { $0 }?.resume()
                return .full
            }
            taken.withLock { $0.append(delivery.message.metadata["id"] ?? "?") }
            return .taken
        }
        handle.withLock { $0 = intake }
        #expect(continuation.trySend(Self.delivery(7)) == .enqueued)
        #expect(taken.withLock { $0 } == ["7"])
        #expect(intake.waiting == 0)
    }

    @Test func anAwaitingProducerWaitsForRoom() async throws {
        let (stream, continuation) = DeliveryStream.makeStream(capacity: 1)
        let consumer = Consumer(room: 0)
        let intake = stream.consumeInline(consumer.take)
        try await continuation.send(Self.delivery(0))  // held in the stream
        let sending = Task { try await continuation.send(Self.delivery(1)) }
        try await Task.sleep(for: .milliseconds(50))
        #expect(consumer.taken.withLock { $0 }.isEmpty)
        consumer.room.withLock { $0 = 10 }
        intake.resume()
        try await sending.value
        #expect(consumer.taken.withLock { $0 } == ["0", "1"])
    }
}
