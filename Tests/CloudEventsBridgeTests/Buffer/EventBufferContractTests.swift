import CloudEvents
import CloudEventsBridge
import Testing

/// What every ``EventBuffer`` does, durable or in memory.
@Suite("Event buffer contract")
struct EventBufferContractTests {
    @Test(arguments: BufferKind.allCases)
    func appendsComeBackInSequenceOrderAndRemovesForget(kind: BufferKind) async throws {
        try await withTemporaryDirectory("buffer-order") { directory in
            let buffer = try kind.make(in: directory)
            defer { buffer.close() }
            var sequences: [Int64] = []
            for index in 0..<5 {
                sequences.append(try BufferSamples.sequence(buffer.append(BufferSamples.event(index), ignoringBound: false)))
            }
            #expect(sequences == sequences.sorted() && Set(sequences).count == 5)
            let all = try buffer.pending(after: 0, limit: 100)
            #expect(all.map(\.sequence) == sequences)
            #expect(all.map(BufferSamples.id) == (0..<5).map { "e\($0)" })
            #expect(all.map(\.message) == (0..<5).map { BufferSamples.event($0).message })
            #expect(all.map(\.receivedAt) == (0..<5).map { 1_000 + Int64($0) })
            #expect(
                all.allSatisfy { $0.attempts == 0 && $0.lastStatus == nil && $0.lastError == nil && $0.deadLetterReason == nil })
            #expect(try buffer.pending(after: sequences[1], limit: 2).map(\.sequence) == [sequences[2], sequences[3]])
            #expect(try buffer.pending(after: sequences[4], limit: 10).isEmpty)
            #expect(try buffer.pending(after: 0, limit: 0).isEmpty)
            #expect(buffer.statistics == BufferStatistics(count: 5, bytes: all.map(\.size).reduce(0, +), oldestReceivedAt: 1_000))

            try buffer.remove(sequences[0])
            try buffer.remove(sequences[2])
            try buffer.remove(sequences[2])  // removed already: ignored
            #expect(try buffer.pending(after: 0, limit: 100).map(\.sequence) == [sequences[1], sequences[3], sequences[4]])
            #expect(buffer.statistics == BufferStatistics(count: 3, bytes: 3 * all[0].size, oldestReceivedAt: 1_001))
            for sequence in [sequences[3], sequences[1], sequences[4]] { try buffer.remove(sequence) }
            #expect(buffer.statistics == BufferStatistics(count: 0, bytes: 0, oldestReceivedAt: nil))

            // Never reused, even once the buffer emptied.
            let next = try BufferSamples.sequence(buffer.append(BufferSamples.event(5), ignoringBound: false))
            #expect(next > sequences[4])
            #expect(buffer.statistics.oldestReceivedAt == 1_005)
        }
    }

    @Test(arguments: BufferKind.allCases)
    func recordedAttemptsAndDeadLetterReasonsAreKept(kind: BufferKind) async throws {
        try await withTemporaryDirectory("buffer-attempts") { directory in
            let buffer = try kind.make(in: directory)
            defer { buffer.close() }
            var undecodable = BufferSamples.event(1)
            undecodable.deadLetterReason = "not a CloudEvent"
            let first = try BufferSamples.sequence(buffer.append(BufferSamples.event(0), ignoringBound: false))
            let second = try BufferSamples.sequence(buffer.append(undecodable, ignoringBound: false))
            try buffer.recordAttempt(first, attempts: 2, lastStatus: 503, lastError: "HTTP 503")
            try buffer.recordAttempt(first + 1_000, attempts: 9, lastStatus: nil, lastError: "unknown: ignored")
            var events = try buffer.pending(after: 0, limit: 10)
            #expect(events.map(\.sequence) == [first, second])
            #expect(events[0].attempts == 2 && events[0].lastStatus == 503 && events[0].lastError == "HTTP 503")
            #expect(events[1].attempts == 0 && events[1].deadLetterReason == "not a CloudEvent")

            try buffer.recordAttempt(first, attempts: 3, lastStatus: nil, lastError: "connection refused")
            events = try buffer.pending(after: 0, limit: 1)
            #expect(events.count == 1)
            #expect(events[0].attempts == 3 && events[0].lastStatus == nil && events[0].lastError == "connection refused")
        }
    }

    /// Both buffers count the same bytes, so a route pauses at the same depth in either.
    @Test(arguments: BufferKind.allCases)
    func sizeIsTheKeyAndTheStoredEncoding(kind: BufferKind) async throws {
        try await withTemporaryDirectory("buffer-size") { directory in
            let buffer = try kind.make(in: directory)
            defer { buffer.close() }
            let event = BufferSamples.event(0, key: "sensors/kitchen", dataSize: 500)
            _ = try buffer.append(event, ignoringBound: false)
            let stored = try #require(try buffer.pending(after: 0, limit: 1).first)
            #expect(stored.size == "sensors/kitchen".utf8.count + StoredMessageCodec.encodedSize(of: event.message))
            #expect(buffer.statistics.bytes == stored.size)
        }
    }

    @Test(arguments: BufferKind.allCases)
    func theBoundRefusesAndWhenRoomFiresOnceAtThreeQuarters(kind: BufferKind) async throws {
        try await withTemporaryDirectory("buffer-bound") { directory in
            let size = 1 + StoredMessageCodec.encodedSize(of: BufferSamples.event(0, dataSize: 100).message)
            let buffer = try kind.make(in: directory, maximumBytes: 4 * size)
            defer { buffer.close() }
            var sequences: [Int64] = []
            for index in 0..<4 {
                sequences.append(
                    try BufferSamples.sequence(buffer.append(BufferSamples.event(index, dataSize: 100), ignoringBound: false)))
            }
            #expect(try buffer.append(BufferSamples.event(4, dataSize: 100), ignoringBound: false) == .full)
            #expect(buffer.statistics.count == 4)
            // A stopping bridge stores what its source acknowledged already.
            sequences.append(
                try BufferSamples.sequence(buffer.append(BufferSamples.event(5, dataSize: 100), ignoringBound: true)))
            #expect(buffer.statistics == BufferStatistics(count: 5, bytes: 5 * size, oldestReceivedAt: 1_000))

            let replaced = CallCounter()
            let calls = CallCounter()
            buffer.whenRoom { replaced.increment() }
            buffer.whenRoom { calls.increment() }
            try buffer.remove(sequences[0])
            #expect(calls.value == 0, "4 of 4 events' bytes: still full")
            try buffer.remove(sequences[1])
            #expect(calls.value == 1, "3 of 4: three quarters")
            try buffer.remove(sequences[2])
            #expect(calls.value == 1, "called once")
            #expect(replaced.value == 0, "a later whenRoom replaces the earlier callback")
            buffer.whenRoom { calls.increment() }
            #expect(calls.value == 2, "room now: called at once")
            #expect(try buffer.append(BufferSamples.event(6, dataSize: 100), ignoringBound: false) != .full)
        }
    }

    /// An event bigger than the whole bound is taken by an empty buffer, else it could never
    /// be stored and its source would stay paused.
    @Test(arguments: BufferKind.allCases)
    func anEventBiggerThanTheBoundFitsOnlyAnEmptyBuffer(kind: BufferKind) async throws {
        try await withTemporaryDirectory("buffer-oversize") { directory in
            let buffer = try kind.make(in: directory, maximumBytes: 64)
            defer { buffer.close() }
            let big = try BufferSamples.sequence(buffer.append(BufferSamples.event(0, dataSize: 1_000), ignoringBound: false))
            #expect(try buffer.append(BufferSamples.event(1, dataSize: 0), ignoringBound: false) == .full)
            try buffer.remove(big)
            #expect(try buffer.append(BufferSamples.event(2, dataSize: 1_000), ignoringBound: false) != .full)
        }
    }

    @Test(arguments: BufferKind.allCases)
    func aClosedBufferRefusesEverythingAndNeverCallsBack(kind: BufferKind) async throws {
        try await withTemporaryDirectory("buffer-closed") { directory in
            let size = 1 + StoredMessageCodec.encodedSize(of: BufferSamples.event(0).message)
            let buffer = try kind.make(in: directory, maximumBytes: size)
            let sequence = try BufferSamples.sequence(buffer.append(BufferSamples.event(0), ignoringBound: false))
            let calls = CallCounter()
            buffer.whenRoom { calls.increment() }
            buffer.close()
            buffer.close()  // twice: nothing happens
            #expect(throws: BufferError.self) { try buffer.append(BufferSamples.event(1), ignoringBound: true) }
            #expect(throws: BufferError.self) { try buffer.pending(after: 0, limit: 1) }
            #expect(throws: BufferError.self) { try buffer.remove(sequence) }
            #expect(throws: BufferError.self) { try buffer.recordAttempt(sequence, attempts: 1, lastStatus: nil, lastError: "") }
            #expect(throws: BufferError.self) { try buffer.sync() }
            buffer.whenRoom { calls.increment() }
            #expect(calls.value == 0)
        }
    }

    /// Appends from several threads at once (MQTT callbacks, a stopping bridge) each get
    /// their own sequence number, and the totals add up.
    @Test(arguments: BufferKind.allCases)
    func concurrentAppendsAllLand(kind: BufferKind) async throws {
        try await withTemporaryDirectory("buffer-concurrent") { directory in
            let buffer = try kind.make(in: directory)
            defer { buffer.close() }
            let sequences = try await withThrowingTaskGroup(of: [Int64].self) { group in
                for writer in 0..<4 {
                    group.addTask {
                        try (0..<100).map { index in
                            try BufferSamples.sequence(
                                buffer.append(BufferSamples.event(writer * 100 + index, key: "k\(writer)"), ignoringBound: false))
                        }
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(Set(sequences).count == 400)
            #expect(buffer.statistics.count == 400)
            #expect(try buffer.pending(after: 0, limit: 1_000).map(\.sequence) == sequences.sorted())
        }
    }
}
