import CloudEvents
import CloudEventsBridge
import CloudEventsTestSupport
import Foundation
import GRDB
import Logging
import Testing

/// The durable buffer's shortcuts: reads of recent appends from memory, batched deletes,
/// exclusive locking, and rows it cannot decode.
@Suite("SQLite event buffer batching")
struct SQLiteEventBufferBatchingTests {
    static func open(_ directory: String, sync: SyncPolicy = .off) throws -> SQLiteEventBuffer {
        try SQLiteEventBuffer(
            directory: directory, route: "route", maximumBytes: 1 << 30, sync: sync, logger: BufferSamples.logger)
    }

    /// Random appends, reads (forward as the dispatcher reads, and sometimes from the start),
    /// attempts and removes, with a recent-append cache small enough to overflow often (50
    /// events, 40 kB), give what the memory buffer gives.
    @Test(arguments: [UInt64(1), 2, 3])
    func theDurableBufferAnswersAsTheMemoryBufferDoes(seed: UInt64) async throws {
        try await withTemporaryDirectory("buffer-model") { directory in
            let durable = try SQLiteEventBuffer(
                directory: directory, route: "route", maximumBytes: 1 << 30, sync: .off, logger: BufferSamples.logger,
                recentAppends: (count: 50, bytes: 40_000))
            defer { durable.close() }
            let model = try BufferKind.memory.make(in: directory, maximumBytes: 1 << 30)
            defer { model.close() }
            var random = SeededGenerator(seed: seed)
            var after: Int64 = 0
            var index = 0
            for _ in 0..<3_000 {
                switch Int.random(in: 0..<10, using: &random) {
                case 0..<5:
                    let burst = Int.random(in: 0..<10, using: &random) == 0 ? 60 : 1
                    for _ in 0..<burst {
                        let dataSize = Int.random(in: 1...2_000, using: &random)
                        let event = BufferSamples.event(index, key: "k\(index % 3)", dataSize: dataSize)
                        index += 1
                        #expect(try durable.append(event, ignoringBound: false) == model.append(event, ignoringBound: false))
                    }
                case 5..<8:
                    let start = Int.random(in: 0..<20, using: &random) == 0 ? 0 : after
                    let limit = Int.random(in: 0...80, using: &random)
                    let got = try durable.pending(after: start, limit: limit)
                    let expected = try model.pending(after: start, limit: limit)
                    #expect(got.map(\.sequence) == expected.map(\.sequence))
                    #expect(got.map(\.message) == expected.map(\.message))
                    #expect(got.map(\.attempts) == expected.map(\.attempts))
                    #expect(got.map(\.lastError) == expected.map(\.lastError))
                    if let last = got.last?.sequence { after = last }
                case 8:
                    let held = try model.pending(after: 0, limit: 50)
                    guard let event = held.randomElement(using: &random) else { continue }
                    try durable.recordAttempt(
                        event.sequence, attempts: event.attempts + 1, lastStatus: 503, lastError: "HTTP 503")
                    try model.recordAttempt(event.sequence, attempts: event.attempts + 1, lastStatus: 503, lastError: "HTTP 503")
                default:
                    for event in try model.pending(after: 0, limit: Int.random(in: 0...40, using: &random))
                    where Bool.random(using: &random) {
                        try durable.remove(event.sequence)
                        try model.remove(event.sequence)
                    }
                }
                #expect(durable.statistics == model.statistics)
            }
        }
    }

    /// A removed event is never read again, from memory or from the table, although its
    /// delete is still queued.
    @Test func aRemovedEventIsNotReadAgainBeforeItsDeleteIsWritten() async throws {
        try await withTemporaryDirectory("buffer-removed") { directory in
            var buffer = try Self.open(directory)
            var sequences: [Int64] = []
            for index in 0..<6 {
                sequences.append(try BufferSamples.sequence(buffer.append(BufferSamples.event(index), ignoringBound: false)))
            }
            buffer.close()
            // Reopened: these come from the table, not from the recent appends.
            buffer = try Self.open(directory)
            defer { buffer.close() }
            let appended = try BufferSamples.sequence(buffer.append(BufferSamples.event(6), ignoringBound: false))
            try buffer.remove(sequences[0])
            try buffer.remove(sequences[3])
            try buffer.remove(appended)
            let expected = [sequences[1], sequences[2], sequences[4], sequences[5]]
            #expect(try buffer.pending(after: 0, limit: 4).map(\.sequence) == expected)
            #expect(try buffer.pending(after: sequences[4], limit: 10).map(\.sequence) == [sequences[5]])
            #expect(buffer.statistics.count == 4)
            #expect(buffer.statistics.oldestReceivedAt == 1_001)
        }
    }

    /// A crash loses at most the queued deletes: 256 queued are written by the remove that
    /// queued the 256th, and a queued delete is written within about 20 ms.
    @Test func queuedDeletesAreWrittenInBatchesAndOnATimer() async throws {
        try await withTemporaryDirectory("buffer-batches") { directory in
            let buffer = try Self.open(directory, sync: .interval(.seconds(3_600)))
            defer { buffer.close() }
            var sequences: [Int64] = []
            for index in 0..<300 {
                sequences.append(try BufferSamples.sequence(buffer.append(BufferSamples.event(index), ignoringBound: false)))
            }
            for sequence in sequences.prefix(280) { try buffer.remove(sequence) }
            try SQLiteEventBufferTests.crashCopy(of: buffer, to: directory + "/crash-1")
            let afterBatch = try Self.open(directory + "/crash-1")
            let left = try afterBatch.pending(after: 0, limit: 1_000).map(\.sequence)
            afterBatch.close()
            // The first 256 at least are deleted; the rest are still held or delivered again.
            #expect(left.count <= 300 - 256)
            #expect(Array(left.suffix(20)) == Array(sequences.suffix(20)))

            try await withTimeout(.seconds(10), "the timer's write of the queued deletes") {
                var attempt = 0
                while true {
                    attempt += 1
                    try await Task.sleep(for: .milliseconds(50))
                    try SQLiteEventBufferTests.crashCopy(of: buffer, to: directory + "/crash-timer-\(attempt)")
                    let restarted = try Self.open(directory + "/crash-timer-\(attempt)")
                    defer { restarted.close() }
                    if try restarted.pending(after: 0, limit: 1_000).count == 20 { return }
                }
            }
        }
    }

    /// `sync()` writes the queued deletes: nothing removed before it comes back after a crash.
    @Test func syncWritesTheQueuedDeletes() async throws {
        try await withTemporaryDirectory("buffer-sync-deletes") { directory in
            let buffer = try Self.open(directory, sync: .interval(.seconds(3_600)))
            defer { buffer.close() }
            var sequences: [Int64] = []
            for index in 0..<10 {
                sequences.append(try BufferSamples.sequence(buffer.append(BufferSamples.event(index), ignoringBound: false)))
            }
            for sequence in sequences.prefix(4) { try buffer.remove(sequence) }
            try buffer.sync()
            try SQLiteEventBufferTests.crashCopy(of: buffer, to: directory + "/crash")
            let restarted = try Self.open(directory + "/crash")
            defer { restarted.close() }
            #expect(try restarted.pending(after: 0, limit: 100).map(\.sequence) == Array(sequences.dropFirst(4)))
        }
    }

    /// An attempt recorded on an event still among the recent appends is read back with it.
    @Test func attemptsOfARecentAppendAreReadBack() async throws {
        try await withTemporaryDirectory("buffer-attempts") { directory in
            let buffer = try Self.open(directory)
            defer { buffer.close() }
            let sequence = try BufferSamples.sequence(buffer.append(BufferSamples.event(0), ignoringBound: false))
            try buffer.recordAttempt(sequence, attempts: 2, lastStatus: nil, lastError: "connection refused")
            let event = try #require(try buffer.pending(after: 0, limit: 1).first)
            #expect(event.attempts == 2 && event.lastStatus == nil && event.lastError == "connection refused")
        }
    }

    /// A row whose message cannot be decoded comes back with an empty message and a reason
    /// to dead-letter it, between the others, instead of failing every read.
    @Test func aRowThatCannotBeDecodedIsReturnedForTheDeadLetterSink() async throws {
        try await withTemporaryDirectory("buffer-corrupt") { directory in
            var buffer = try Self.open(directory)
            var sequences: [Int64] = []
            for index in 0..<3 {
                sequences.append(try BufferSamples.sequence(buffer.append(BufferSamples.event(index), ignoringBound: false)))
            }
            let path = buffer.path
            buffer.close()
            let raw = try DatabaseQueue(path: path)
            try raw.write { db in
                try db.execute(sql: "UPDATE events SET message = x'00FF17' WHERE sequence = ?", arguments: [sequences[1]])
            }
            try raw.close()

            buffer = try Self.open(directory)
            defer { buffer.close() }
            let pending = try buffer.pending(after: 0, limit: 10)
            #expect(pending.map(\.sequence) == sequences)
            #expect(pending[0].message == BufferSamples.event(0).message && pending[0].deadLetterReason == nil)
            #expect(pending[1].message == Message())
            #expect(pending[1].deadLetterReason?.hasPrefix("the buffer could not read it back: ") == true)
            #expect(pending[2].message == BufferSamples.event(2).message && pending[2].deadLetterReason == nil)
            try buffer.remove(sequences[1])
            #expect(try buffer.pending(after: 0, limit: 10).map(\.sequence) == [sequences[0], sequences[2]])
        }
    }

    /// Exclusive locking leaves the refusal to the lock file, across processes: another
    /// process cannot take the lock of an open buffer, and a buffer whose lock another
    /// process holds is refused with the usual message.
    @Test func anotherProcessIsRefusedByTheLockFile() async throws {
        try await withTemporaryDirectory("buffer-process") { directory in
            let lockFile = directory + "/route.lock"
            let buffer = try Self.open(directory)
            #expect(try Self.run("/usr/bin/flock", ["-n", "-E", "75", lockFile, "true"]) == 75)
            buffer.close()

            // One process that takes the lock, says so by creating a marker file, and becomes
            // `sleep`, so that terminating it releases the lock (`flock COMMAND` would leave a
            // child holding it). Nothing here competes for the lock while it waits: an earlier
            // version opened the buffer in a loop until refused (holding the lock for a moment
            // at every open), and on a loaded CI machine it was never refused within 60 s.
            let marker = directory + "/holder-has-the-lock"
            let holder = ChildProcess()
            holder.executableURL = URL(fileURLWithPath: "/bin/sh")
            holder.arguments = [
                "-c", "exec 9>>\"$0\" && flock -w 120 9 && : > \"$1\" && exec sleep 180", lockFile, marker
            ]
            try holder.run()
            defer {
                holder.terminate()
                holder.waitUntilExit()
            }
            // Bounded in time, not in tries: a loaded CI run took over 2 s to start the shell.
            let deadline = ContinuousClock.now + .seconds(120)
            while !FileManager.default.fileExists(atPath: marker), holder.isRunning, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            try #require(FileManager.default.fileExists(atPath: marker), "the holder never took the lock")
            var error: BufferError?
            do {
                try Self.open(directory).close()
            } catch let refusal as BufferError {
                error = refusal
            }
            #expect(error?.message.contains("\(directory)/route.sqlite is in use by another bridge") == true)
        }
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> Int32 {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
