import CloudEvents
import Synchronization
import Testing

/// The delivery stream's room callback, on which the MQTT client's loop thread relies to
/// resume reading after a full buffer paused it (without it, reading resumed only at the
/// loop's next poll timeout).
@Suite struct DeliveryStreamRoomTests {
    static func delivery(_ id: Int) -> Delivery {
        Delivery(message: try! Message(CloudEvent(id: "\(id)", source: "/s", type: "t")), settle: { _ in })
    }

    @Test func aRefusedSendIsToldOnceWhenTheConsumerHasTakenHalfTheBuffer() async throws {
        let (stream, continuation) = DeliveryStream.makeStream(capacity: 4)
        let calls = Atomic<Int>(0)
        for id in 1...4 {
            #expect(continuation.trySend(Self.delivery(id), onRoom: { calls.add(1, ordering: .relaxed) }) == .enqueued)
        }
        #expect(continuation.trySend(Self.delivery(5), onRoom: { calls.add(1, ordering: .relaxed) }) == .full)
        #expect(calls.load(ordering: .relaxed) == 0, "not called while full")

        var iterator = stream.makeAsyncIterator()
        #expect(try await iterator.next()?.event().id == "1")
        #expect(calls.load(ordering: .relaxed) == 0, "three of four still buffered")
        #expect(try await iterator.next()?.event().id == "2")
        #expect(calls.load(ordering: .relaxed) == 1, "called at half the capacity")
        #expect(try await iterator.next()?.event().id == "3")
        #expect(try await iterator.next()?.event().id == "4")
        #expect(calls.load(ordering: .relaxed) == 1, "called once")

        #expect(continuation.trySend(Self.delivery(5), onRoom: { calls.add(1, ordering: .relaxed) }) == .enqueued)
        #expect(try await iterator.next()?.event().id == "5")
        #expect(calls.load(ordering: .relaxed) == 1, "an accepted send registers nothing")
    }

    @Test func aConsumerThatStopsWakesThePausedProducer() async throws {
        let (stream, continuation) = DeliveryStream.makeStream(capacity: 1)
        let calls = Atomic<Int>(0)
        #expect(continuation.trySend(Self.delivery(1)) == .enqueued)
        #expect(continuation.trySend(Self.delivery(2), onRoom: { calls.add(1, ordering: .relaxed) }) == .full)
        let consumer = Task {
            while !Task.isCancelled { await Task.yield() }
            var iterator = stream.makeAsyncIterator()
            _ = try? await iterator.next()
        }
        consumer.cancel()
        await consumer.value
        #expect(calls.load(ordering: .relaxed) == 1)
        #expect(continuation.trySend(Self.delivery(2)) == .terminated)
    }
}
