import CloudEvents
import CloudEventsBridge
import CloudEventsTestSupport
import Foundation
import Logging
import Testing

/// What only the durable buffer does: files, restarts, the lock, the sync policies.
@Suite("SQLite event buffer")
struct SQLiteEventBufferTests {
    static func open(_ directory: String, sync: SyncPolicy = .off, logger: Logger = BufferSamples.logger) throws
        -> SQLiteEventBuffer
    {
        try SQLiteEventBuffer(directory: directory, route: "route", maximumBytes: 1 << 20, sync: sync, logger: logger)
    }

    static func fileSize(_ path: String) throws -> Int {
        try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
    }

    @Test func oneFilePerRouteInADirectoryCreatedWhenMissing() async throws {
        try await withTemporaryDirectory("buffer-files") { root in
            let directory = root + "/nested/buffers"
            let logs = CapturedLogs()
            let buffer = try Self.open(directory, logger: logs.logger())
            defer { buffer.close() }
            #expect(buffer.path == directory + "/route.sqlite")
            #expect(FileManager.default.fileExists(atPath: directory + "/route.sqlite"))
            #expect(FileManager.default.fileExists(atPath: directory + "/route.lock"))
            _ = try buffer.append(BufferSamples.event(0), ignoringBound: false)
            // WAL mode: the append went to the log beside the database file.
            #expect(try Self.fileSize(directory + "/route.sqlite-wal") > 0)
            let opened = try #require(logs.all.first { $0.message == "Opened the durable buffer" })
            #expect(opened.metadata["buffer_path"] == buffer.path)
            #expect(opened.metadata["buffer_events"] == "0")
        }
    }

    @Test(arguments: ["", "../escape", "a/b", "spaced name", "dot.ted"])
    func aNameThatIsNotARouteNameIsRefused(route: String) async throws {
        try await withTemporaryDirectory("buffer-names") { directory in
            let error = #expect(throws: BufferError.self) {
                try SQLiteEventBuffer(
                    directory: directory, route: route, maximumBytes: 1_000, sync: .off, logger: BufferSamples.logger)
            }
            #expect(error?.message.contains("is not a route name") == true)
        }
    }

    @Test func reopeningFindsEventsAndAttemptsAndContinuesTheSequence() async throws {
        try await withTemporaryDirectory("buffer-reopen") { directory in
            var buffer = try Self.open(directory)
            var sequences: [Int64] = []
            for index in 0..<3 {
                sequences.append(try BufferSamples.sequence(buffer.append(BufferSamples.event(index), ignoringBound: false)))
            }
            try buffer.recordAttempt(sequences[1], attempts: 3, lastStatus: 503, lastError: "HTTP 503")
            try buffer.remove(sequences[0])
            let before = buffer.statistics
            buffer.close()

            buffer = try Self.open(directory)
            #expect(buffer.statistics == before)
            #expect(before.oldestReceivedAt == 1_001)
            let pending = try buffer.pending(after: 0, limit: 10)
            #expect(pending.map(\.sequence) == [sequences[1], sequences[2]])
            #expect(pending[0].attempts == 3 && pending[0].lastStatus == 503 && pending[0].lastError == "HTTP 503")
            #expect(pending[1].message == BufferSamples.event(2).message)
            #expect(try BufferSamples.sequence(buffer.append(BufferSamples.event(3), ignoringBound: false)) > sequences[2])

            // Emptied and reopened, it still never reuses a number (AUTOINCREMENT).
            let last = try #require(try buffer.pending(after: 0, limit: 10).last?.sequence)
            for event in try buffer.pending(after: 0, limit: 10) { try buffer.remove(event.sequence) }
            buffer.close()
            buffer = try Self.open(directory)
            defer { buffer.close() }
            #expect(buffer.statistics == BufferStatistics(count: 0, bytes: 0, oldestReceivedAt: nil))
            #expect(try BufferSamples.sequence(buffer.append(BufferSamples.event(4), ignoringBound: false)) > last)
        }
    }

    @Test func aSecondOpenerOfTheSameRouteIsRefusedUntilTheFirstCloses() async throws {
        try await withTemporaryDirectory("buffer-lock") { directory in
            let first = try Self.open(directory)
            let error = #expect(throws: BufferError.self) { try Self.open(directory) }
            #expect(error?.message.contains("\(directory)/route.sqlite is in use by another bridge (pid \(getpid()))?") == true)
            // Another route in the same directory is another file.
            let other = try SQLiteEventBuffer(
                directory: directory, route: "other", maximumBytes: 1_000, sync: .off, logger: BufferSamples.logger)
            other.close()
            first.close()
            try Self.open(directory).close()
        }
    }

    @Test(arguments: [SyncPolicy.everyEvent, .interval(.milliseconds(20)), .off])
    func everySyncPolicyStoresAndReopens(policy: SyncPolicy) async throws {
        try await withTemporaryDirectory("buffer-policy") { directory in
            var buffer = try Self.open(directory, sync: policy)
            var sequences: [Int64] = []
            for index in 0..<20 {
                sequences.append(try BufferSamples.sequence(buffer.append(BufferSamples.event(index), ignoringBound: false)))
            }
            for sequence in sequences.prefix(5) { try buffer.remove(sequence) }
            try buffer.sync()
            buffer.close()
            buffer = try Self.open(directory, sync: policy)
            defer { buffer.close() }
            #expect(try buffer.pending(after: 0, limit: 100).map(\.sequence) == Array(sequences.dropFirst(5)))
        }
    }

    /// The interval timer's checkpoint copies the log into the database file (and syncs it
    /// first): the file grows without any call on the buffer.
    @Test func theIntervalTimerCheckpointsTheLog() async throws {
        try await withTemporaryDirectory("buffer-interval") { directory in
            let buffer = try Self.open(directory, sync: .interval(.milliseconds(20)))
            defer { buffer.close() }
            let databaseFile = buffer.path
            _ = try buffer.append(BufferSamples.event(0, dataSize: 200_000), ignoringBound: false)
            try await withTimeout(.seconds(10), "the checkpoint of a 200 kB event") {
                while try Self.fileSize(databaseFile) < 200_000 { try await Task.sleep(for: .milliseconds(10)) }
            }
        }
    }

    /// Under `.off` nothing checkpoints on a timer; `sync()` does.
    @Test func syncCheckpointsUnderEveryPolicy() async throws {
        try await withTemporaryDirectory("buffer-sync") { directory in
            let buffer = try Self.open(directory, sync: .off)
            defer { buffer.close() }
            _ = try buffer.append(BufferSamples.event(0, dataSize: 200_000), ignoringBound: false)
            #expect(try Self.fileSize(buffer.path) < 200_000)
            try buffer.sync()
            #expect(try Self.fileSize(buffer.path) >= 200_000)
        }
    }

    /// The buffer's files as a process killed now would leave them: copied while the buffer is
    /// open, from the kernel's page cache, as a restart would find them (with no `-shm`: the
    /// exclusive-mode WAL index lives in the connection's memory). The real kill is in the
    /// bridge's fault tests.
    static func crashCopy(of buffer: SQLiteEventBuffer, to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: buffer.path + suffix) {
            try FileManager.default.copyItem(atPath: buffer.path + suffix, toPath: directory + "/route.sqlite" + suffix)
        }
    }

    /// A bridge that dies without closing (SIGKILL) leaves its appends in the log, written to
    /// the kernel: the next opener replays the log and finds every one.
    @Test func appendsOfABufferNeverClosedAreFoundByTheNextOpener() async throws {
        try await withTemporaryDirectory("buffer-crash") { directory in
            let abandoned = try Self.open(directory, sync: .interval(.seconds(3_600)))
            defer { abandoned.close() }
            var sequences: [Int64] = []
            for index in 0..<50 {
                sequences.append(try BufferSamples.sequence(abandoned.append(BufferSamples.event(index), ignoringBound: false)))
            }
            try abandoned.recordAttempt(sequences[7], attempts: 4, lastStatus: 500, lastError: "HTTP 500")
            #expect(!FileManager.default.fileExists(atPath: abandoned.path + "-shm"))
            try Self.crashCopy(of: abandoned, to: directory + "/after-crash")

            let restarted = try Self.open(directory + "/after-crash")
            defer { restarted.close() }
            let pending = try restarted.pending(after: 0, limit: 100)
            #expect(pending.map(\.sequence) == sequences)
            #expect(pending.map(\.message) == (0..<50).map { BufferSamples.event($0).message })
            #expect(pending[7].attempts == 4 && pending[7].lastStatus == 500)
            #expect(restarted.statistics.count == 50)
            #expect(try BufferSamples.sequence(restarted.append(BufferSamples.event(50), ignoringBound: false)) > sequences[49])
        }
    }
}
