public import CloudEvents

/// The store between a route's receipt of an event and its delivery: durable
/// (``SQLiteEventBuffer``) or in memory (``MemoryEventBuffer``).
///
/// ``append(_:ignoringBound:)`` is called on the source's receive thread (for MQTT, inside
/// libmosquitto's message callback) and returns once the event is stored; the dispatcher
/// reads ``pending(after:limit:)`` in sequence order and removes what it delivered or
/// dead-lettered. Every method is safe to call from any thread.
public protocol EventBuffer: AnyObject, Sendable {
    /// Stores `event` and returns its sequence number, or `.full` without storing it when
    /// the buffer holds ``BufferConfiguration/maximumBytes`` already (unless `ignoringBound`:
    /// a stopping bridge stores what its source had already acknowledged).
    ///
    /// - Throws: ``BufferError`` when the store failed (disk full, I/O error).
    func append(_ event: NewBufferedEvent, ignoringBound: Bool) throws(BufferError) -> BufferAppendResult

    /// Up to `limit` stored events with a sequence number above `sequence`, in sequence order.
    ///
    /// - Throws: ``BufferError`` when the store failed.
    func pending(after sequence: Int64, limit: Int) throws(BufferError) -> [BufferedEvent]

    /// Forgets an event (delivered or dead-lettered).
    ///
    /// - Throws: ``BufferError`` when the store failed.
    func remove(_ sequence: Int64) throws(BufferError)

    /// Records a failed attempt, so that a restarted bridge goes on counting.
    ///
    /// - Throws: ``BufferError`` when the store failed.
    func recordAttempt(_ sequence: Int64, attempts: Int, lastStatus: Int?, lastError: String) throws(BufferError)

    /// Events held, bytes held, and the receipt time of the oldest.
    var statistics: BufferStatistics { get }

    /// Calls `callback` once, on any thread, when the buffer has room again after an append
    /// returned `.full` (bytes down to three quarters of the bound), or at once if it has
    /// room now. A later call replaces a callback not yet called.
    func whenRoom(_ callback: @escaping @Sendable () -> Void)

    /// Forces what was appended to disk now, whatever the sync policy (a stopping bridge).
    ///
    /// - Throws: ``BufferError`` when the store failed.
    func sync() throws(BufferError)

    /// Syncs and closes the store; later calls fail with ``BufferError``.
    func close()
}

/// An event as the intake hands it to the buffer.
public struct NewBufferedEvent: Sendable {
    /// The ordering key (see ``OrderingKey``).
    public var key: String
    /// The message as it arrived (or wrapped), with its protocol metadata.
    public var message: Message
    /// When the bridge received it, in nanoseconds since 1970 (wall clock), for the
    /// end-to-end latency and the oldest-undelivered age.
    public var receivedAt: Int64
    /// Why the intake already knows it cannot be delivered (a payload that is not a
    /// CloudEvent, for the dead-letter sink); `nil` for an event to deliver.
    public var deadLetterReason: String?

    /// An event to store.
    public init(key: String, message: Message, receivedAt: Int64, deadLetterReason: String? = nil) {
        self.key = key
        self.message = message
        self.receivedAt = receivedAt
        self.deadLetterReason = deadLetterReason
    }
}

/// An event as the buffer holds it.
public struct BufferedEvent: Sendable {
    /// Its place in the buffer: increasing in append order, never reused.
    public var sequence: Int64
    /// The ordering key.
    public var key: String
    /// The message as it arrived (or wrapped).
    public var message: Message
    /// When the bridge received it, in nanoseconds since 1970.
    public var receivedAt: Int64
    /// Why it goes to the dead-letter sink without an attempt, if it does.
    public var deadLetterReason: String?
    /// Attempts made so far (before a restart too).
    public var attempts: Int
    /// The sink's last answer (an HTTP status), if it answered.
    public var lastStatus: Int?
    /// The last failure, for a person to read.
    public var lastError: String?
    /// The bytes it counts against the bound.
    public var size: Int

    /// A stored event.
    public init(
        sequence: Int64, key: String, message: Message, receivedAt: Int64, deadLetterReason: String? = nil, attempts: Int = 0,
        lastStatus: Int? = nil, lastError: String? = nil, size: Int
    ) {
        self.sequence = sequence
        self.key = key
        self.message = message
        self.receivedAt = receivedAt
        self.deadLetterReason = deadLetterReason
        self.attempts = attempts
        self.lastStatus = lastStatus
        self.lastError = lastError
        self.size = size
    }
}

/// What ``EventBuffer/append(_:ignoringBound:)`` did.
public enum BufferAppendResult: Sendable, Equatable {
    /// Stored under this sequence number.
    case appended(Int64)
    /// Not stored: the buffer is at its bound. The caller pauses its source and waits for
    /// ``EventBuffer/whenRoom(_:)``.
    case full
}

/// A buffer's contents at one moment.
public struct BufferStatistics: Sendable, Equatable {
    /// Events held.
    public var count: Int
    /// Bytes held, as counted against the bound.
    public var bytes: Int
    /// When the oldest held event was received, in nanoseconds since 1970; `nil` when empty.
    public var oldestReceivedAt: Int64?

    /// Statistics with these values.
    public init(count: Int, bytes: Int, oldestReceivedAt: Int64?) {
        self.count = count
        self.bytes = bytes
        self.oldestReceivedAt = oldestReceivedAt
    }
}

/// A buffer that could not do what it was asked.
public struct BufferError: Error, Sendable, CustomStringConvertible {
    /// What failed, naming the file where there is one.
    public var message: String
    /// The store's own error.
    public var underlying: (any Error)?

    /// An error saying `message`.
    public init(_ message: String, underlying: (any Error)? = nil) {
        self.message = message
        self.underlying = underlying
    }

    /// The message and the underlying error.
    public var description: String {
        if let underlying { return "\(message) (\(underlying))" }
        return message
    }
}
