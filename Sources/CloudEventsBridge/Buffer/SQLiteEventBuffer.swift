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
/// WAL mode, through one GRDB `DatabaseQueue` (one connection; every call is serialized and
/// synchronous, so ``append(_:ignoringBound:)`` returns once the row is written).
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
/// Deleted events (``remove(_:)``) follow the same policy: a delete lost by a power cut
/// makes the event be delivered again after the restart (at least once, never lost).
///
/// ## Contents
///
/// Table `events(sequence INTEGER PRIMARY KEY AUTOINCREMENT, key, received_at,
/// dead_letter_reason, attempts, last_status, last_error, size, message BLOB)`; the message is
/// ``StoredMessageCodec``'s encoding; AUTOINCREMENT keeps sequence numbers increasing across
/// restarts, even when the buffer emptied. Counts, bytes and the oldest event are kept in
/// memory beside the table (read at open), so ``statistics`` and the bound cost no query.
///
/// A second bridge opening the same route's file while this one has it open is refused
/// (``BufferDirectoryLock``, an `flock` on `<route>.lock` that the kernel drops with the
/// process).
public final class SQLiteEventBuffer: EventBuffer {
    /// The database file, `<directory>/<route>.sqlite`.
    public let path: String
    private let database: DatabaseQueue
    private let state: Locked<BufferAccounting>
    private let directoryLock: BufferDirectoryLock
    /// Runs the ``SyncPolicy/interval(_:)`` ticks.
    private let timerQueue: DispatchQueue
    /// Set to stop the ticks; the next one sees it and does not schedule another.
    private let timerStopped = Locked(false)
    private let policy: SyncPolicy
    private let logger: Logger

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
    public init(directory: String, route: String, maximumBytes: Int, sync: SyncPolicy, logger: Logger) throws(BufferError) {
        guard !route.isEmpty, route.utf8.allSatisfy(Self.isRouteNameByte) else {
            throw BufferError("\"\(route)\" is not a route name (letters, digits, '-' and '_'), so it cannot name a buffer file")
        }
        try BufferDirectoryLock.makeDirectory(directory)
        let base = directory.hasSuffix("/") ? directory + route : directory + "/" + route
        let path = base + ".sqlite"
        let directoryLock = try BufferDirectoryLock(path: base + ".lock", guarding: path)
        let database: DatabaseQueue
        let accounting: BufferAccounting
        do {
            var configuration = Configuration()
            configuration.label = "ce.bridge.buffer.\(route)"
            // Only this bridge writes (the lock says so); a wait would come from a reader
            // such as the sqlite3 shell, which should not fail an append at once.
            configuration.busyMode = .timeout(5)
            database = try DatabaseQueue(path: path, configuration: configuration)
            accounting = try database.writeWithoutTransaction { db in
                try Self.prepare(db, path: path, sync: sync, maximumBytes: maximumBytes)
            }
        } catch {
            directoryLock.release()
            throw Self.bufferError(error, "cannot open the buffer \(path)")
        }
        self.path = path
        self.database = database
        self.directoryLock = directoryLock
        self.state = Locked(accounting)
        self.policy = sync
        self.logger = logger
        timerQueue = DispatchQueue(label: "ce.bridge.buffer.sync.\(route)")
        if case .interval(let interval) = sync {
            let (seconds, attoseconds) = interval.components
            let nanoseconds = Swift.max(1_000_000, Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000))
            Self.scheduleSyncTick(
                SyncTick(
                    interval: .nanoseconds(nanoseconds), queue: timerQueue, stopped: timerStopped, database: database,
                    state: state, path: path, logger: logger))
        }
        let statistics = accounting.statistics
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
                return state.admits(size: size, ignoringBound: ignoringBound)
            }
            guard admitted else { return .full }
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO events (key, received_at, dead_letter_reason, attempts, size, message)
                    VALUES (?, ?, ?, 0, ?, ?)
                    """)
            try insert.execute(arguments: [event.key, event.receivedAt, event.deadLetterReason, size, message])
            let sequence = db.lastInsertedRowID
            state.withLock { $0.didAppend(sequence: sequence, receivedAt: event.receivedAt, size: size) }
            return .appended(sequence)
        }
    }

    /// Up to `limit` held events with a sequence number above `sequence`, in sequence order.
    ///
    /// - Parameters:
    ///   - sequence: the last sequence number already read (0 for the start).
    ///   - limit: the most events returned.
    /// - Throws: ``BufferError`` when the read failed, a stored message cannot be decoded
    ///   (the error names its sequence number), or the buffer is closed.
    public func pending(after sequence: Int64, limit: Int) throws(BufferError) -> [BufferedEvent] {
        try access("cannot read the buffer \(path)") { db, state in
            try Self.checkOpen(state.withLock { $0 }, path)
            let select = try db.cachedStatement(
                sql: """
                    SELECT sequence, key, received_at, dead_letter_reason, attempts, last_status, last_error, size, message
                    FROM events WHERE sequence > ? ORDER BY sequence LIMIT ?
                    """)
            var events: [BufferedEvent] = []
            let rows = try Row.fetchCursor(select, arguments: [sequence, Swift.max(0, limit)])
            while let row = try rows.next() {
                let sequence: Int64 = row[0]
                let message = try row.withUnsafeData(atIndex: 8) { data in
                    try Self.decodeMessage(data, sequence: sequence, path: self.path)
                }
                events.append(
                    BufferedEvent(
                        sequence: sequence, key: row[1], message: message, receivedAt: row[2], deadLetterReason: row[3],
                        attempts: row[4], lastStatus: row[5], lastError: row[6], size: row[7]))
            }
            return events
        }
    }

    /// Forgets an event; an unknown sequence number is ignored (removed already). Calls a
    /// waiting ``whenRoom(_:)`` callback, after the delete, when that made room.
    ///
    /// - Parameter sequence: the event's sequence number.
    /// - Throws: ``BufferError`` when the delete failed or the buffer is closed.
    public func remove(_ sequence: Int64) throws(BufferError) {
        let callback = try access("cannot remove event \(sequence) from the buffer \(path)") {
            db, state -> (@Sendable () -> Void)? in
            try Self.checkOpen(state.withLock { $0 }, path)
            let delete = try db.cachedStatement(sql: "DELETE FROM events WHERE sequence = ? RETURNING size")
            guard let size = try Int.fetchOne(delete, arguments: [sequence]) else { return nil }
            if state.withLock({ $0.didRemove(sequence: sequence, size: size) }) {
                let oldest = try Self.oldestEvent(db)
                state.withLock { $0.oldest = oldest }
            }
            return state.withLock { $0.takeCallbackIfRoom() }
        }
        callback?()
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
            try Self.checkOpen(state.withLock { $0 }, path)
            let update = try db.cachedStatement(
                sql: "UPDATE events SET attempts = ?, last_status = ?, last_error = ? WHERE sequence = ?")
            try update.execute(arguments: [attempts, lastStatus, lastError, sequence])
            state.withLock { $0.isDirty = true }
        }
    }

    /// Events held, bytes held, and the receipt time of the oldest: kept in memory, no query.
    public var statistics: BufferStatistics { state.withLock { $0.statistics } }

    /// Calls `callback` once there is room (bytes down to three quarters of the bound), or
    /// at once if there is room now; a closed buffer never calls it.
    ///
    /// - Parameter callback: called on the thread whose ``remove(_:)`` made room, outside
    ///   every lock.
    public func whenRoom(_ callback: @escaping @Sendable () -> Void) {
        state.withLock { $0.wait(for: callback) }?()
    }

    /// Puts everything written so far on disk now, whatever the sync policy.
    ///
    /// - Throws: ``BufferError`` when the sync failed or the buffer is closed.
    public func sync() throws(BufferError) {
        try access("cannot sync the buffer \(path)") { db, state in
            try Self.checkOpen(state.withLock { $0 }, path)
            try Self.syncLog(db, policy: policy, path: path)
            state.withLock { $0.isDirty = false }
        }
    }

    /// Stops the sync timer, syncs, closes the database and releases the file to the next
    /// bridge. Later calls do nothing; other methods then throw ``BufferError``.
    public func close() {
        guard state.withLock({ $0.close() }) else { return }
        stopSyncTimer()
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

    /// Behaves like a process killed without closing: stops the timer and releases the lock
    /// file but leaves the connection as it is, without a sync or a checkpoint, so that a
    /// test can open the file again as a restarted bridge would.
    package func releaseLockWithoutClosing() {
        stopSyncTimer()
        directoryLock.release()
    }
}

extension SQLiteEventBuffer {
    /// Runs `body` on the database queue, turning GRDB's errors into a ``BufferError`` that
    /// says what failed.
    private func access<Result>(
        _ failure: @autoclosure () -> String, _ body: (Database, Locked<BufferAccounting>) throws -> Result
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

    private static func checkOpen(_ state: BufferAccounting, _ path: String) throws(BufferError) {
        if state.isClosed { throw BufferError("the buffer \(path) is closed") }
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
    private static func prepare(_ db: Database, path: String, sync: SyncPolicy, maximumBytes: Int) throws -> BufferAccounting {
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
        let totals = try Row.fetchOne(db, sql: "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM events")
        return BufferAccounting(
            maximumBytes: maximumBytes, count: totals?[0] ?? 0, bytes: totals?[1] ?? 0, oldest: try oldestEvent(db))
    }

    /// The layout of the table, in `PRAGMA user_version`.
    private static var schemaVersion: Int { 1 }

    /// The first held event: the rowid B-tree's first entry, a lookup rather than a scan.
    private static func oldestEvent(_ db: Database) throws -> (sequence: Int64, receivedAt: Int64)? {
        let select = try db.cachedStatement(sql: "SELECT sequence, received_at FROM events ORDER BY sequence LIMIT 1")
        guard let row = try Row.fetchOne(select) else { return nil }
        return (row[0], row[1])
    }

    private static func decodeMessage(_ data: Data?, sequence: Int64, path: String) throws(BufferError) -> Message {
        guard let data else { throw BufferError("event \(sequence) in \(path) has no message") }
        let result = data.withUnsafeBytes { bytes in
            Result { () throws(BufferError) -> Message in try StoredMessageCodec.decode(bytes) }
        }
        do {
            return try result.get()
        } catch {
            throw BufferError("event \(sequence) in \(path) cannot be read: \(error.message)")
        }
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
        let state: Locked<BufferAccounting>
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
                        defer { state.isDirty = false }
                        return state.isDirty && !state.isClosed
                    }
                    guard dirty else { return }
                    do {
                        try syncLog(db, policy: .interval(.zero), path: tick.path)
                    } catch {
                        tick.state.withLock { $0.isDirty = true }
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
