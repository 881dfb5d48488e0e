public import CloudEvents

/// One route of a bridge: where events come from, where they go, and how hard the bridge
/// tries. The defaults are the safe ones (durable buffer on, bounded attempts, per-topic
/// ordering).
public struct RouteConfiguration: Sendable {
    /// The route's name: it labels metrics and logs and names the route's buffer file, so it
    /// is made of letters, digits, `-` and `_`.
    public var name: String
    /// Where events come from: any endpoint a registered binding receives from
    /// (`mqtt://broker:1883/sensors/%23?qos=1`).
    public var source: Endpoint
    /// Where events go: any endpoint a registered binding sends to (`http://sink:8080/events`).
    public var sink: Endpoint
    /// Where events go that cannot be delivered (attempts used up, refused by the sink, not
    /// CloudEvents when ``nonCloudEvents`` says so); `nil` for none, in which case they are
    /// dropped, logged and counted with their reason.
    public var deadLetter: Endpoint?
    /// The content mode of what goes out.
    public var outputMode: OutputMode
    /// What happens to a message that is not a CloudEvent.
    public var nonCloudEvents: NonCloudEventsPolicy
    /// How failed sends are retried.
    public var retry: RetryConfiguration
    /// Sink answers (protocol status codes, such as HTTP statuses) that count as delivered
    /// although they are not success (Redpanda Connect's `successful_on`). Empty by default.
    public var successfulOn: Set<Int>
    /// What orders events: events with the same key are delivered one at a time, in order.
    public var orderingKey: OrderingKey
    /// Events of this route being sent at once, across keys. 64 by default.
    public var maximumInFlight: Int
    /// The buffer between receipt and delivery.
    public var buffer: BufferConfiguration

    /// A route with the documented defaults.
    ///
    /// - Parameters:
    ///   - name: the route's name (letters, digits, `-`, `_`).
    ///   - source: where events come from.
    ///   - sink: where they go.
    public init(name: String, source: Endpoint, sink: Endpoint) {
        self.name = name
        self.source = source
        self.sink = sink
        self.deadLetter = nil
        self.outputMode = .same
        self.nonCloudEvents = .deadLetter
        self.retry = RetryConfiguration()
        self.successfulOn = []
        self.orderingKey = .topic
        self.maximumInFlight = 64
        self.buffer = BufferConfiguration()
    }
}

/// The content mode a route sends in.
public enum OutputMode: String, Sendable, Hashable, CaseIterable {
    /// Binary mode: a structured input is decoded and written as attributes.
    case binary
    /// Structured mode in the sink's format (`format=` on the sink endpoint, JSON by
    /// default): a structured input in that format passes through without a decode.
    case structured
    /// The mode the event arrived in: nothing is decoded or re-encoded.
    case same
}

/// What a route does with a message that is not a CloudEvent (no `specversion`, or a
/// structured body that is not an event).
public enum NonCloudEventsPolicy: Sendable, Hashable {
    /// Sends it to the dead-letter sink, wrapped as an event of type
    /// `io.cloudevents.bridge.undecodable` whose data is the payload as it arrived.
    case deadLetter
    /// Wraps it into an event with this `type` and `source`, `subject` = the topic (or the
    /// source's address), and an `id` computed from the topic and payload, so that a
    /// redelivered message gets the same id.
    case wrap(type: String, source: String)
}

/// What a route orders events by.
public enum OrderingKey: String, Sendable, Hashable, CaseIterable {
    /// The source's topic or address (MQTT: the topic the message was published to).
    case topic
    /// The event's `subject` (events without one share the empty key).
    case subject
    /// No ordering: every event is its own key, so only ``RouteConfiguration/maximumInFlight``
    /// limits concurrency.
    case none
}

/// How a route retries a failed send.
///
/// A send is retried after a network error (the sink could not be reached, or did not answer
/// in time) and after an answer the sink may change its mind about: 5xx, 404, 408, 409 and
/// 429 for HTTP (``retryableStatuses``). Other answers (such as 400) dead-letter the event at
/// once.
///
/// Answers count against ``maximumAttempts``; an unreachable sink does not (unless
/// ``countUnreachable`` is set): during an outage events wait in the buffer, which pauses the
/// source when full, instead of being dead-lettered.
public struct RetryConfiguration: Sendable, Hashable {
    /// Attempts in total, the first included, before the event is dead-lettered. 8 by default.
    public var maximumAttempts: Int
    /// The wait between attempts: exponential from 200 ms up to 30 s, ±20 % by default.
    public var backoff: Backoff
    /// The longest `Retry-After` honoured; longer values are cut to this. 5 minutes by default.
    public var maximumRetryAfter: Duration
    /// The sink's answers that are retried besides every 5xx: 404, 408, 409, 429 by default.
    public var retryableStatuses: Set<Int>
    /// Whether an unreachable sink counts against ``maximumAttempts``. `false` by default.
    public var countUnreachable: Bool

    /// The documented defaults.
    public init(
        maximumAttempts: Int = 8,
        backoff: Backoff = .exponential(initial: .milliseconds(200), maximum: .seconds(30), jitter: 0.2),
        maximumRetryAfter: Duration = .seconds(300),
        retryableStatuses: Set<Int> = [404, 408, 409, 429],
        countUnreachable: Bool = false
    ) {
        self.maximumAttempts = Swift.max(1, maximumAttempts)
        self.backoff = backoff
        self.maximumRetryAfter = maximumRetryAfter
        self.retryableStatuses = retryableStatuses
        self.countUnreachable = countUnreachable
    }
}

/// The buffer between receipt and delivery.
public struct BufferConfiguration: Sendable, Hashable {
    /// Where events are kept.
    public enum Storage: Sendable, Hashable {
        /// A SQLite database in WAL mode, one file per route (`<route>.sqlite`) in `directory`:
        /// events survive a sink outage and a bridge restart.
        case durable(directory: String)
        /// Memory only: events held when the bridge stops or crashes are lost.
        case memory
    }

    /// Where events are kept: durable in `./ce-bridge-buffer` by default.
    public var storage: Storage
    /// The most bytes the buffer holds (payloads and attributes as stored); when full, the
    /// source is paused until deliveries make room. 256 MiB by default.
    public var maximumBytes: Int
    /// When appended events reach the disk.
    public var sync: SyncPolicy

    /// The documented defaults.
    public init(
        storage: Storage = .durable(directory: "ce-bridge-buffer"), maximumBytes: Int = 256 << 20,
        sync: SyncPolicy = .interval(.milliseconds(200))
    ) {
        self.storage = storage
        self.maximumBytes = maximumBytes
        self.sync = sync
    }
}

/// When a durable buffer's appends reach the disk (`fsync`).
///
/// Whatever the policy, an append is written to the operating system before the source's
/// callback returns, so a crash of the bridge process alone (SIGKILL, a panic) loses
/// nothing the buffer took. The policy bounds what a power cut or kernel crash can lose.
public enum SyncPolicy: Sendable, Hashable {
    /// Every append is on disk before it returns (SQLite `synchronous=FULL`): nothing is lost
    /// even on a power cut; the slowest.
    case everyEvent
    /// The log is synced at this interval (`synchronous=NORMAL`, with a checkpoint-and-sync
    /// timer): a power cut loses at most the last interval.
    case interval(Duration)
    /// Never synced by the bridge (`synchronous=OFF`): a power cut may lose everything the
    /// operating system had not written yet.
    case off
}
