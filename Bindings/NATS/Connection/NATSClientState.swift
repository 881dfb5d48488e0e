import CloudEvents
import NIOCore

/// One subscription as the client keeps it across connections.
struct NATSSubscriptionRecord {
    let subject: String
    let queueGroup: String?
    let consumer: NATSMessageConsumer
    /// Messages the server sent for it so far (on every connection): `UNSUB <sid> <max>`
    /// counts them, so a replay after a reconnect asks for `max - received` more.
    var received = 0
    /// The total after which the server ends it (`UNSUB <sid> <max>`), if any.
    var maximum: Int?
}

/// Who waits for the `PONG` of a `PING` the client sent: PONGs answer PINGs in order.
enum NATSPongWaiter {
    /// The keepalive timer's PING.
    case keepalive
    /// A ``NATSClient/flush()``.
    case flush(EventLoopPromise<Void>)
}

/// A pending request, keyed by its reply token.
struct NATSPendingRequest {
    let subject: String
    let promise: EventLoopPromise<NATSMessage>
}

/// Everything about a client that more than one thread touches, behind `NATSClient.state`'s
/// lock (`Locked`: a pthread mutex the thread sanitizer sees). The event loop and callers of
/// `publish`, `subscribe`, `flush`, `request` and `close` all go through that one lock; nothing
/// here is read without it.
struct NATSClientState {
    enum Phase {
        /// A connection is up and replayed (``channel`` is set).
        case connected
        /// The connection was lost; publishes go to ``reconnectBuffer``.
        case reconnecting
        /// Closed by ``NATSClient/close()`` (`nil`), or given up for good (the error).
        case closed(TransportError?)
    }

    var phase: Phase = .reconnecting
    /// Whether a connection was installed before (the next one is a reconnect).
    var hasConnected = false
    /// The connection, when ``phase`` is `.connected`.
    var channel: (any Channel)?
    /// The server of ``channel`` (or the last one).
    var server: NATSServerAddress
    /// The latest INFO.
    var serverInfo = NATSServerInfo()
    /// The configured servers, then the ones INFO announced.
    var knownServers: [NATSServerAddress]
    /// Bytes for ``channel``, written at the next flush tick (one write per event-loop tick).
    var outbound: ByteBuffer
    /// Whether a flush tick is queued on the event loop.
    var flushScheduled = false
    /// When the last flush tick wrote, and whether it came soon after the one before: a
    /// publisher streaming that fast gets its next tick a little later (``NATSClient/batchingDelay``),
    /// so that one write carries many messages instead of one or two.
    var lastFlush = NIODeadline.distantPast
    var streaming = false
    /// Whether ``channel`` is writable (below its high water mark).
    var writable = true
    /// Publishers waiting for the channel to become writable again.
    var writabilityWaiters: [EventLoopPromise<Void>] = []
    /// Publishes (and flush PINGs) made while reconnecting, sent after the replayed SUBs.
    var reconnectBuffer: ByteBuffer
    /// The subscriptions by id.
    var subscriptions: [UInt64: NATSSubscriptionRecord] = [:]
    var nextSubscriptionID: UInt64 = 1
    /// The waiters for the PONGs of PINGs written on ``channel``, oldest first.
    var pongWaiters = CircularBuffer<NATSPongWaiter>()
    /// Flushes whose PINGs sit in ``reconnectBuffer``.
    var deferredPongWaiters: [NATSPongWaiter] = []
    /// Keepalive PINGs sent without an answer since the last PONG.
    var outstandingPings = 0
    /// The request inbox prefix (`_INBOX.<random>`) once the inbox subscription exists.
    var inboxPrefix: String?
    var requests: [String: NATSPendingRequest] = [:]
    var nextRequestToken: UInt64 = 1
    /// The reconnect loop while it runs.
    var reconnectTask: Task<Void, Never>?
    var statistics = NATSClientStatistics()

    init(configuration: NATSClientConfiguration, allocator: ByteBufferAllocator) {
        server = configuration.servers.first ?? NATSServerAddress(host: "127.0.0.1")
        knownServers = configuration.servers
        outbound = allocator.buffer(capacity: 0)
        reconnectBuffer = allocator.buffer(capacity: 0)
    }

    var isClosed: Bool {
        if case .closed = phase { return true }
        return false
    }

    /// The error for an operation attempted after the client closed or gave up.
    func closedError(_ operation: String) -> TransportError? {
        guard case .closed(let failure) = phase else { return nil }
        if let failure {
            return TransportError(.connectionFailed, "cannot \(operation): \(failure.message)", underlying: failure)
        }
        return TransportError(.closed, "cannot \(operation): the NATS client is closed")
    }

    /// Appends `command` for the current connection (`true`: the caller must schedule a flush
    /// tick), or to the reconnect buffer while reconnecting (`false`).
    mutating func append(_ command: NATSClientCommand) -> Bool {
        guard case .connected = phase else {
            command.write(into: &reconnectBuffer)
            return false
        }
        command.write(into: &outbound)
        return scheduleFlush()
    }

    /// Marks a flush tick as queued; `true` when the caller must queue it.
    mutating func scheduleFlush() -> Bool {
        guard !flushScheduled else { return false }
        flushScheduled = true
        return true
    }

    /// Adds the servers an INFO announced (`connect_urls`) that are not known yet.
    mutating func learn(_ info: NATSServerInfo) {
        serverInfo = info
        for url in info.connectURLs {
            guard let address = NATSServerAddress(parsing: url), !knownServers.contains(address) else { continue }
            knownServers.append(address)
        }
    }
}
