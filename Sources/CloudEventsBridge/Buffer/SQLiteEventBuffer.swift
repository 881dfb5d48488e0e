import CloudEvents
import Dispatch
import Foundation
import GRDB
public import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A durable ``EventBuffer``: one SQLite database per route, `<directory>/<route>.sqlite`, in
/// WAL mode, through one GRDB `DatabaseQueue` (one connection; every write is serialized and
/// synchronous, so ``append(_:ignoringBound:)`` returns once the row is written).
///
/// ## Cost per event
///
/// The connection runs in `locking_mode=EXCLUSIVE`, set before its first access so that the
/// WAL index lives in the connection's memory (no `-shm` file): SQLite takes the file locks
/// once and keeps them, instead of `fcntl` calls around every transaction. The `flock` of
/// ``BufferDirectoryLock`` already keeps every other bridge out; the price is that no other
/// program (the `sqlite3` shell) can read the file while the bridge has it open.
///
/// Recent appends are also kept in memory (``RecentAppendCache``), so that the dispatcher's
/// ``pending(after:limit:)`` usually returns them without reading back and decoding the rows
/// just written, and without waiting for the database queue. ``remove(_:)`` updates the
/// totals at once but queues the delete: queued deletes are written in one transaction once
/// 256 are queued, 20 ms after the first, and by ``sync()`` and ``close()``.
///
/// ## What survives what
///
/// - **The bridge process dies** (SIGKILL, a trap, the OOM killer): nothing appended is lost,
///   whatever the ``SyncPolicy``. An append returns after SQLite's commit, which has
///   `write()`n the WAL frames holding the row to the kernel; the kernel's page cache
///   outlives the process, and the next open replays the WAL. (``close()`` is not needed.)
/// - **The machine loses power** (or the kernel crashes): what is lost depends on when the
///   WAL last reached the disk.
///   - ``SyncPolicy/everyEvent``: `synchronous=FULL`; every commit fsyncs the WAL before
///     it returns: nothing is lost.
///   - ``SyncPolicy/interval(_:)``: `synchronous=NORMAL`, where commits do not fsync but
///     every checkpoint fsyncs the WAL before it copies the WAL's pages into the database
///     file, and fsyncs the database file after (SQLite's `walCheckpoint`, and the
///     `PRAGMA synchronous` documentation). A timer runs a PASSIVE checkpoint every interval
///     when something was written: the buffer has a single connection, so no reader holds
///     back a frame and the checkpoint copies (hence first syncs) every frame; should it
///     ever copy fewer (another connection reading the file), the timer fsyncs the `-wal`
///     file itself. After a power cut, the database file holds everything up to the last
///     checkpoint and the WAL's checksummed frames everything that reached the disk since:
///     at most the last interval (plus the duration of one sync) is lost. A checkpoint
///     that finds nothing new to copy syncs nothing, which is right: nothing new was written.
///   - ``SyncPolicy/off``: `synchronous=OFF`: SQLite never syncs (even its checkpoints do
///     not), so whatever the kernel had not written back when the power went is lost
///     (Linux writes dirty pages back within about 30 s by default). The database stays
///     consistent in every case; only recent events go missing.
///
/// ``sync()`` and ``close()`` sync under every policy: they checkpoint with at least
/// `synchronous=NORMAL` (raised for the call under ``SyncPolicy/off``).
///
/// Deleted events (``remove(_:)``) are written in batches (at most 20 ms or 256 events
/// late), then follow the same policy. A crash or power cut loses at most the queued deletes
/// and those not yet synced: those events are delivered again after the restart (at least
/// once, never lost).
///
/// ## Contents
///
/// Table `events(sequence INTEGER PRIMARY KEY AUTOINCREMENT, key, received_at,
/// dead_letter_reason, attempts, last_status, last_error, size, message BLOB)`; the message is
/// ``StoredMessageCodec``'s encoding; AUTOINCREMENT keeps sequence numbers increasing across
/// restarts, even when the buffer emptied. Counts, bytes and the oldest event are kept in
/// memory beside the table, with each held event's sequence number, receipt time and size
/// (``HeldEventIndex``, read at open), so ``statistics``, the bound and ``remove(_:)`` cost
/// no query.
///
/// A second bridge opening the same route's file while this one has it open is refused
/// (``BufferDirectoryLock``, an `flock` on `<route>.lock` that the kernel drops with the
/// process).
public final class SQLiteEventBuffer: EventBuffer {
    /// The database file, `<directory>/<route>.sqlite`.
    public let path: String
    private let database: DatabaseQueue
    private let state: Locked<DurableBufferState>
    private let directoryLock: BufferDirectoryLock
    /// Runs the ``SyncPolicy/interval(_:)`` ticks.
    private let timerQueue: DispatchQueue
    /// Set to stop the ticks; the next one sees it and does not schedule another.
    private let timerStopped = Locked(false)
    private let policy: SyncPolicy
    private let logger: Logger
    /// What the timer that writes queued deletes needs.
    private let deleteWriter: DeleteWriter

    /// Opens (or creates) the route's buffer and finds the events a previous run left.
    ///
    /// - Parameters:
    ///   - directory: where the route's file lives; created with its parents when missing.
    ///   - route: the route's name (letters, digits, `-`, `_`), which names the file.
    ///   - maximumBytes: the bound, ``BufferConfiguration/maximumBytes``.
    ///   - sync: when appends reach the disk.
    ///   - logger: where opening, and syncs that failed in the background, are logged.
    /// - Throws: ``BufferError`` when the name is not a route name, the directory or file
    ///   cannot be created or read, or another bridge has the file open.
    public convenience init(directory: String, route: String, maximumBytes: Int, sync: SyncPolicy, logger: Logger)
        throws(BufferError)
    {
        try self.init(
            directory: directory, route: route, maximumBytes: maximumBytes, sync: sync, logger: logger,
            recentAppends: (count: 4_096, bytes: 8 << 20))
    }

    /// Opens the buffer with the bounds of its cache of recent appends (small ones for tests).
    package init(
        directory: String, route: String, maximumBytes: Int, sync: SyncPolicy, logger: Logger,
        recentAppends: (count: Int, bytes: Int)
    ) throws(BufferError) {
        guard !route.isEmpty, route.utf8.allSatisfy(Self.isRouteNameByte) else {
            throw BufferError("\"\(route)\" is not a route name (letters, digits, '-' and '_'), so it cannot name a buffer file")
        }
        try BufferDirectoryLock.makeDirectory(directory)
        let base = directory.hasSuffix("/") ? directory + route : directory + "/" + route
        let path = base + ".sqlite"
        let directoryLock = try BufferDirectoryLock(path: base + ".lock", guarding: path)
        let database: DatabaseQueue
        let opened: DurableBufferState
        do {
            var configuration = Configuration()
            configuration.label = "ce.bridge.buffer.\(route)"
            // Before GRDB's first read of the file: the WAL index then stays in this
            // connection's memory and the locks are taken once (see the type's documentation).
            configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA locking_mode = EXCLUSIVE") }
            // Only this bridge opens the file (the flock says so); a wait would come from
            // another program holding it, which should not fail the open at once.
            configuration.busyMode = .timeout(5)
            database = try DatabaseQueue(path: path, configuration: configuration)
            opened = try database.writeWithoutTransaction { db in
                try Self.prepare(db, path: path, sync: sync, maximumBytes: maximumBytes, recentAppends: recentAppends)
            }
        } catch {
            directoryLock.release()
            throw Self.bufferError(error, "cannot open the buffer \(path)")
        }
        self.path = path
        self.database = database
        self.directoryLock = directoryLock
        self.state = Locked(opened)
        self.policy = sync
        self.logger = logger
        timerQueue = DispatchQueue(label: "ce.bridge.buffer.sync.\(route)")
        deleteWriter = DeleteWriter(
            queue: timerQueue, stopped: timerStopped, database: database, state: state, path: path, logger: logger)
        if case .interval(let interval) = sync {
            let (seconds, attoseconds) = interval.components
            let nanoseconds = Swift.max(1_000_000, Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000))
            Self.scheduleSyncTick(
                SyncTick(
                    interval: .nanoseconds(nanoseconds), queue: timerQueue, stopped: timerStopped, database: database,
                    state: state, path: path, logger: logger))
        }
        let statistics = opened.accounting.statistics
        logger.info(
            "Opened the durable buffer",
            metadata: [
                "buffer_path": "\(path)", "buffer_events": "\(statistics.count)", "buffer_bytes": "\(statistics.bytes)",
                "buffer_sync": "\(sync)"
            ])
    }

    deinit { close() }

    /// Stores `event` and returns its sequence number once the row is written to the
    /// operating system (on disk too under ``SyncPolicy/everyEvent``), or `.full` without
    /// storing it when it would take the buffer beyond its bound (an event bigger than the
    /// whole bound is stored when the buffer is empty).
    ///
    /// - Parameters:
    ///   - event: the event to store.
    ///   - ignoringBound: store it even when the buffer is full.
    /// - Throws: ``BufferError`` when the write failed (disk full, I/O error) or the buffer
    ///   is closed.
    public func append(_ event: NewBufferedEvent, ignoringBound: Bool) throws(BufferError) -> BufferAppendResult {
        let message = Data(StoredMessageCodec.encode(event.message))
        let size = event.key.utf8.count + message.count
        return try access("cannot append to the buffer \(path)") { db, state in
            // The check and the insert are one step: the queue serializes every write.
            let admitted = try state.withLock { (state) throws(BufferError) -> Bool in
                try Self.checkOpen(state, path)
                return state.accounting.admits(size: size, ignoringBound: ignoringBound)
            }
            guard admitted else { return .full }
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO events (key, received_at, dead_letter_reason, attempts, size, message)
                    VALUES (?, ?, ?, 0, ?, ?)
                    """)
            try insert.execute(arguments: [event.key, event.receivedAt, event.deadLetterReason, size, message])
            let stored = BufferedEvent(
                sequence: db.lastInsertedRowID, key: event.key, message: event.message, receivedAt: event.receivedAt,
                deadLetterReason: event.deadLetterReason, size: size)
            state.withLock { $0.didAppend(stored) }
            return .appended(stored.sequence)
        }
    }

    /// Up to `limit` held events with a sequence number above `sequence`, in sequence order:
    /// from memory when every such event is among the recent appends, from the table
    /// otherwise. A row whose message cannot be decoded is returned with an empty message and
    /// a ``BufferedEvent/deadLetterReason`` saying so, rather than stopping every later read.
    ///
    /// - Parameters:
    ///   - sequence: the last sequence number already read (0 for the start).
    ///   - limit: the most events returned.
    /// - Throws: ``BufferError`` when the read failed or the buffer is closed.
    public func pending(after sequence: Int64, limit: Int) throws(BufferError) -> [BufferedEvent] {
        let limit = Swift.max(0, limit)
        let cached = try state.withLock { (state) throws(BufferError) -> [BufferedEvent]? in
            try Self.checkOpen(state, path)
            return state.cache.events(after: sequence, limit: limit)
        }
        if let cached { return cached }
        return try access("cannot read the buffer \(path)") { db, state in
            // Rows whose delete is still queued are skipped, so read that many more.
            let queued = try state.withLock { (state) throws(BufferError) -> Int in
                try Self.checkOpen(state, path)
                return state.queuedDeletes.count
            }
            let select = try db.cachedStatement(
                sql: """
                    SELECT sequence, key, received_at, dead_letter_reason, attempts, last_status, last_error, size, message
                    FROM events WHERE sequence > ? ORDER BY sequence LIMIT ?
                    """)
            var events: [BufferedEvent] = []
            let rows = try Row.fetchCursor(select, arguments: [sequence, limit + queued])
            while events.count < limit, let row = try rows.next() {
                let sequence: Int64 = row[0]
                guard state.withLock({ $0.index.holds(sequence) }) else { continue }
                var event = BufferedEvent(
                    sequence: sequence, key: row[1], message: Message(), receivedAt: row[2], deadLetterReason: row[3],
                    attempts: row[4], lastStatus: row[5], lastError: row[6], size: row[7])
                do {
                    event.message = try row.withUnsafeData(atIndex: 8) { data in try Self.decodeMessage(data) }
                } catch {
                    event.deadLetterReason = "the buffer could not read it back: \(error)"
                }
                events.append(event)
            }
            return events
        }
    }

    /// Forgets an event at once (the totals, ``statistics`` and ``whenRoom(_:)`` see it, and no
    /// ``pending(after:limit:)`` returns it again) and queues its delete from the table, written
    /// with others (see the type's documentation); an unknown sequence number is ignored
    /// (removed already). Calls a waiting ``whenRoom(_:)`` callback when that made room.
    ///
    /// - Parameter sequence: the event's sequence number.
    /// - Throws: ``BufferError`` when the buffer is closed, or when this call wrote the queued
    ///   deletes and that failed (they are retried at the next write; the event stays removed).
    public func remove(_ sequence: Int64) throws(BufferError) {
        let (callback, writeNow, schedule) = try state.withLock {
            (state) throws(BufferError) -> ((@Sendable () -> Void)?, Bool, Bool) in
            try Self.checkOpen(state, path)
            return state.remove(sequence, batch: Self.deleteBatch)
        }
        callback?()
        if schedule { Self.scheduleDeleteWrite(deleteWriter) }
        if writeNow {
            try access("cannot remove event \(sequence) from the buffer \(path)") { db, state in
                try Self.writeQueuedDeletes(db, state)
            }
        }
    }

    /// Records a failed attempt on a held event; an unknown sequence number is ignored.
    ///
    /// - Parameters:
    ///   - sequence: the event's sequence number.
    ///   - attempts: attempts made so far.
    ///   - lastStatus: the sink's answer, if it answered.
    ///   - lastError: the failure, for a person to read.
    /// - Throws: ``BufferError`` when the update failed or the buffer is closed.
    public func recordAttempt(_ sequence: Int64, attempts: Int, lastStatus: Int?, lastError: String) throws(BufferError) {
        try access("cannot record an attempt of event \(sequence) in the buffer \(path)") { db, state in
            let held = try state.withLock { (state) throws(BufferError) -> Bool in
                try Self.checkOpen(state, path)
                return state.index.holds(sequence)
            }
            guard held else { return }
            let update = try db.cachedStatement(
                sql: "UPDATE events SET attempts = ?, last_status = ?, last_error = ? WHERE sequence = ?")
            try update.execute(arguments: [attempts, lastStatus, lastError, sequence])
            state.withLock { state in
                state.accounting.isDirty = true
                state.cache.recordAttempt(sequence, attempts: attempts, lastStatus: lastStatus, lastError: lastError)
            }
        }
    }

    /// Events held, bytes held, and the receipt time of the oldest: kept in memory, no query.
    public var statistics: BufferStatistics { state.withLock { $0.accounting.statistics } }

    /// Calls `callback` once there is room (bytes down to three quarters of the bound), or
    /// at once if there is room now; a closed buffer never calls it.
    ///
    /// - Parameter callback: called on the thread whose ``remove(_:)`` made room, outside
    ///   every lock.
    public func whenRoom(_ callback: @escaping @Sendable () -> Void) {
        state.withLock { $0.accounting.wait(for: callback) }?()
    }

    /// Writes the queued deletes and puts everything written so far on disk now, whatever
    /// the sync policy.
    ///
    /// - Throws: ``BufferError`` when the write or the sync failed, or the buffer is closed.
    public func sync() throws(BufferError) {
        try access("cannot sync the buffer \(path)") { db, state in
            try Self.checkOpen(state.withLock { $0 }, path)
            try Self.writeQueuedDeletes(db, state)
            try Self.syncLog(db, policy: policy, path: path)
            state.withLock { $0.accounting.isDirty = false }
        }
    }

    /// Stops the timers, writes the queued deletes, syncs, closes the database and releases the
    /// file to the next bridge. Later calls do nothing; other methods then throw ``BufferError``.
    public func close() {
        guard state.withLock({ $0.accounting.close() }) else { return }
        stopSyncTimer()
        do {
            try database.writeWithoutTransaction { db in try Self.writeQueuedDeletes(db, state) }
        } catch {
            logger.error(
                "Writing the removed events' deletes at close failed: they are delivered again after the restart",
                metadata: ["buffer_path": "\(path)", "error": "\(error)"])
        }
        do {
            try database.writeWithoutTransaction { db in try Self.syncLog(db, policy: policy, path: path) }
        } catch {
            logger.error("Syncing the durable buffer at close failed", metadata: ["buffer_path": "\(path)", "error": "\(error)"])
        }
        // Closed even when the sync failed: closing the last connection checkpoints again.
        do {
            try database.close()
        } catch {
            logger.error("Closing the durable buffer failed", metadata: ["buffer_path": "\(path)", "error": "\(error)"])
        }
        directoryLock.release()
    }
}

extension SQLiteEventBuffer {
    /// Runs `body` on the database queue, turning GRDB's errors into a ``BufferError`` that
    /// says what failed.
    private func access<Result>(
        _ failure: @autoclosure () -> String, _ body: (Database, Locked<DurableBufferState>) throws -> Result
    ) throws(BufferError) -> Result {
        do {
            return try database.writeWithoutTransaction { db in try body(db, state) }
        } catch {
            throw Self.bufferError(error, failure())
        }
    }

    private static func bufferError(_ error: any Error, _ message: String) -> BufferError {
        if let error = error as? BufferError { return error }
        return BufferError(message, underlying: error)
    }

    private static func checkOpen(_ state: DurableBufferState, _ path: String) throws(BufferError) {
        if state.accounting.isClosed { throw BufferError("the buffer \(path) is closed") }
    }

    private static func isRouteNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default: false
        }
    }

    /// Sets the file up (WAL, the sync level, the table) and reads the totals of what a
    /// previous run left.
    private static func prepare(
        _ db: Database, path: String, sync: SyncPolicy, maximumBytes: Int, recentAppends: (count: Int, bytes: Int)
    ) throws -> DurableBufferState {
        guard try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") == "wal" else {
            throw BufferError("cannot put the buffer \(path) in WAL mode (a file system without shared memory?)")
        }
        let level =
            switch sync {
            case .everyEvent: "FULL"
            case .interval: "NORMAL"
            case .off: "OFF"
            }
        try db.execute(sql: "PRAGMA synchronous = \(level)")
        let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
        guard version <= schemaVersion else {
            throw BufferError("the buffer \(path) was written by a newer bridge (schema version \(version))")
        }
        try db.execute(
            sql: """
                CREATE TABLE IF NOT EXISTS events (
                    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                    key TEXT NOT NULL,
                    received_at INTEGER NOT NULL,
                    dead_letter_reason TEXT,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    last_status INTEGER,
                    last_error TEXT,
                    size INTEGER NOT NULL,
                    message BLOB NOT NULL
                );
                PRAGMA user_version = \(schemaVersion);
                """)
        var index = HeldEventIndex()
        var count = 0
        var bytes = 0
        var last: Int64 = 0
        let rows = try Row.fetchCursor(db, sql: "SELECT sequence, received_at, size FROM events ORDER BY sequence")
        while let row = try rows.next() {
            let sequence: Int64 = row[0]
            let size: Int = row[2]
            index.append(sequence: sequence, receivedAt: row[1], size: size)
            count += 1
            bytes += size
            last = sequence
        }
        return DurableBufferState(
            accounting: BufferAccounting(maximumBytes: maximumBytes, count: count, bytes: bytes, oldest: index.oldest),
            index: index,
            cache: RecentAppendCache(floor: last, maximumCount: recentAppends.count, maximumBytes: recentAppends.bytes))
    }

    /// The layout of the table, in `PRAGMA user_version`.
    private static var schemaVersion: Int { 1 }

    private static func decodeMessage(_ data: Data?) throws(BufferError) -> Message {
        guard let data else { throw BufferError("it has no message") }
        let result = data.withUnsafeBytes { bytes in
            Result { () throws(BufferError) -> Message in try StoredMessageCodec.decode(bytes) }
        }
        return try result.get()
    }

    /// Puts the WAL on disk: a checkpoint fsyncs the WAL before copying it and the database
    /// file after (see the type's documentation); the `-wal` file is fsynced directly when
    /// the checkpoint could not copy every frame. Under ``SyncPolicy/off`` the level is
    /// raised for the call, or SQLite would skip the fsyncs.
    private static func syncLog(_ db: Database, policy: SyncPolicy, path: String) throws {
        if policy == .off { try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        defer { if policy == .off { try? db.execute(sql: "PRAGMA synchronous = OFF") } }
        let result = try db.checkpoint(.passive)
        if result.checkpointedFrameCount < result.walFrameCount { try fileDataSync(path + "-wal") }
    }

    private static func fileDataSync(_ path: String) throws(BufferError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BufferError("cannot open \(path) to sync it: \(String(cString: strerror(errno)))") }
        defer { closeDescriptor(fd) }
        guard fdatasync(fd) == 0 else { throw BufferError("cannot sync \(path): \(String(cString: strerror(errno)))") }
    }

    /// What a sync tick needs. It holds the database and the totals, not the buffer, so that
    /// a buffer nobody closed can still be released.
    private struct SyncTick: Sendable {
        let interval: DispatchTimeInterval
        let queue: DispatchQueue
        let stopped: Locked<Bool>
        let database: DatabaseQueue
        let state: Locked<DurableBufferState>
        let path: String
        let logger: Logger
    }

    /// Syncs the log after `tick.interval` when something was written, then schedules the
    /// next tick, until stopped. (One-shot `asyncAfter` rather than a `DispatchSourceTimer`,
    /// which is not `Sendable`.)
    private static func scheduleSyncTick(_ tick: SyncTick) {
        tick.queue.asyncAfter(deadline: .now() + tick.interval) {
            guard !tick.stopped.withLock({ $0 }) else { return }
            do {
                try tick.database.writeWithoutTransaction { db in
                    // Cleared inside the queue: an append after this point sets it again for
                    // the next tick.
                    let dirty = tick.state.withLock { state in
                        defer { state.accounting.isDirty = false }
                        return state.accounting.isDirty && !state.accounting.isClosed
                    }
                    guard dirty else { return }
                    do {
                        try syncLog(db, policy: .interval(.zero), path: tick.path)
                    } catch {
                        tick.state.withLock { $0.accounting.isDirty = true }
                        throw error
                    }
                }
            } catch {
                tick.logger.warning(
                    "Syncing the durable buffer failed; retrying at the next interval",
                    metadata: ["buffer_path": "\(tick.path)", "error": "\(error)"])
            }
            scheduleSyncTick(tick)
        }
    }

    /// Queued deletes are written when this many are queued.
    private static var deleteBatch: Int { 256 }

    /// The longest a queued delete waits for others.
    private static var deleteDelay: DispatchTimeInterval { .milliseconds(20) }

    /// Writes the queued deletes in one transaction; on failure they stay queued for the
    /// next write. Runs on the database queue.
    private static func writeQueuedDeletes(_ db: Database, _ state: Locked<DurableBufferState>) throws {
        let batch = state.withLock { state in
            defer { state.queuedDeletes.removeAll(keepingCapacity: true) }
            return state.queuedDeletes
        }
        guard !batch.isEmpty else { return }
        do {
            let delete = try db.cachedStatement(sql: "DELETE FROM events WHERE sequence = ?")
            try db.inTransaction {
                for sequence in batch { try delete.execute(arguments: [sequence]) }
                return .commit
            }
        } catch {
            state.withLock { $0.queuedDeletes.insert(contentsOf: batch, at: 0) }
            throw error
        }
        // After the commit: a sync tick that ran since the remove must not miss these.
        state.withLock { $0.accounting.isDirty = true }
    }

    /// What the delete timer needs. It holds the database and the state, not the buffer, so
    /// that the timer never releases the buffer's last reference (its `deinit` waits for the
    /// timer queue).
    private struct DeleteWriter: Sendable {
        let queue: DispatchQueue
        let stopped: Locked<Bool>
        let database: DatabaseQueue
        let state: Locked<DurableBufferState>
        let path: String
        let logger: Logger
    }

    /// Writes the queued deletes after ``deleteDelay`` (``close()`` writes them once stopped).
    private static func scheduleDeleteWrite(_ writer: DeleteWriter) {
        writer.queue.asyncAfter(deadline: .now() + deleteDelay) {
            guard !writer.stopped.withLock({ $0 }) else { return }
            // Cleared before the write takes the queue: a remove after this point schedules
            // the next write.
            writer.state.withLock { $0.isDeleteWriteScheduled = false }
            do {
                try writer.database.writeWithoutTransaction { db in try writeQueuedDeletes(db, writer.state) }
            } catch {
                writer.logger.warning(
                    "Writing the removed events' deletes failed; retrying with the next ones",
                    metadata: ["buffer_path": "\(writer.path)", "error": "\(error)"])
            }
        }
    }

    /// Stops the ticks and waits for one that is running, so that none syncs after.
    private func stopSyncTimer() {
        timerStopped.withLock { $0 = true }
        timerQueue.sync {}
    }
}

/// `close(2)`, out of the buffer's scope, where `close` names ``SQLiteEventBuffer/close()``.
private func closeDescriptor(_ fd: Int32) {
    close(fd)
}

/// The durable buffer's memory beside the table, under one lock.
struct DurableBufferState: Sendable {
    /// Totals, the bound, the room callback, closed or not.
    var accounting: BufferAccounting
    /// Every held event's sequence number, receipt time and size.
    var index: HeldEventIndex
    /// The latest appends, for ``SQLiteEventBuffer/pending(after:limit:)``.
    var cache: RecentAppendCache
    /// Removed events whose row is still in the table, in removal order.
    var queuedDeletes: [Int64] = []
    /// Whether a timer will write the queued deletes.
    var isDeleteWriteScheduled = false

    /// Counts a stored event.
    mutating func didAppend(_ event: BufferedEvent) {
        accounting.didAppend(sequence: event.sequence, receivedAt: event.receivedAt, size: event.size)
        index.append(sequence: event.sequence, receivedAt: event.receivedAt, size: event.size)
        cache.append(event)
    }

    /// Forgets a held event in memory and queues its delete.
    ///
    /// - Returns: the room callback to call now, whether the caller writes the queued deletes
    ///   now (`batch` are queued), and whether it schedules their write (the first queued).
    mutating func remove(_ sequence: Int64, batch: Int) -> (callback: (@Sendable () -> Void)?, writeNow: Bool, schedule: Bool) {
        guard let size = index.remove(sequence) else { return (nil, false, false) }
        cache.remove(sequence)
        _ = accounting.didRemove(sequence: sequence, size: size)
        accounting.oldest = index.oldest
        queuedDeletes.append(sequence)
        let writeNow = queuedDeletes.count >= batch
        let schedule = !writeNow && !isDeleteWriteScheduled
        if schedule { isDeleteWriteScheduled = true }
        return (accounting.takeCallbackIfRoom(), writeNow, schedule)
    }
}
