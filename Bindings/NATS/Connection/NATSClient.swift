public import CloudEvents
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// A NATS client speaking the client protocol over TCP (optionally TLS) on a SwiftNIO event
/// loop: one connection at a time, replaced after a loss.
///
/// ```swift
/// try await NATSClient.withClient(configuration: .init(host: "127.0.0.1")) { client in
///     let messages = try await client.messages(on: "orders.>")
///     try await client.publish(NATSMessage(subject: "orders.1", payload: Array("hi".utf8)))
///     for try await message in messages { print(message.subject) }
/// }
/// ```
///
/// - **Publishing** queues the message and returns: the bytes of every publish made during one
///   event-loop tick go out in one write. A publish waits only when the socket is not writable
///   (back-pressure). ``flush()`` waits until the server has read everything published before.
/// - **Subscriptions** deliver on the event loop to a ``NATSMessageConsumer``; a consumer that
///   answers ``NATSConsumerResult/full`` has its messages held (reading pauses past 4 MiB)
///   until it has room, so nothing is dropped by the client (the server may then drop messages for a slow consumer:
///   it reports it with `-ERR 'Slow Consumer'`, counted in ``statistics``).
/// - **Reconnection** is automatic after any loss but ``close()``: every known server is tried
///   in order with the configured backoff between rounds; subscriptions are replayed, then the
///   publishes held meanwhile are sent (at most `reconnectBufferSize` bytes; beyond it a publish
///   throws ``TransportError/Code/notDelivered``). Core NATS is at-most-once: messages in flight
///   when a connection drops are lost.
/// - **Lifecycle**: ``withClient(configuration:_:)`` closes the client on every path; otherwise
///   call ``close()``: a client left open keeps its connection (and itself) alive.
public final class NATSClient: Sendable {
    /// The configuration the client was created with.
    public let configuration: NATSClientConfiguration
    let eventLoop: any EventLoop
    let logger: Logger
    /// NIOSSL's context for ``NATSClientConfiguration/tls``, made once.
    let tlsContext: NIOSSLContext?
    /// Everything shared between the event loop and callers (see ``NATSClientState``).
    let state: Locked<NATSClientState>
    /// Completed when the client closes or gives up (``run()`` returns then).
    let ended: EventLoopPromise<Void>

    /// Bytes published during one tick beyond which a publisher waits for the next write.
    static let outboundHighWater = 1 << 20
    /// How much later the flush tick runs for a publisher streaming messages (the previous tick
    /// wrote less than ``streamingWindow`` ago): a write per message or two would cost a
    /// system call each; a lone publish still goes out at once.
    static let batchingDelay = TimeAmount.microseconds(50)
    static let streamingWindow = TimeAmount.microseconds(200)

    init(configuration: NATSClientConfiguration, tlsContext: NIOSSLContext?) {
        self.configuration = configuration
        eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        logger = configuration.logger
        self.tlsContext = tlsContext
        state = Locked(NATSClientState(configuration: configuration, allocator: ByteBufferAllocator()))
        ended = eventLoop.makePromise()
    }

    deinit {
        // A promise must be completed before it goes (completing it twice does nothing).
        ended.succeed()
    }

    /// Connects to the first configured server that accepts the connection and returns once
    /// the server answered the first PING (so credentials have been checked).
    ///
    /// - Parameter configuration: how to connect.
    /// - Returns: the connected client.
    /// - Throws: ``TransportError``: `.notAuthorized` when the server refused the credentials;
    ///   `.connectionFailed` naming `host:port` when no server could be reached (or TLS failed);
    ///   `.timedOut` after the operation timeout; `.invalidEndpoint` for no servers or unloadable
    ///   TLS files.
    public static func connect(configuration: NATSClientConfiguration) async throws(TransportError) -> NATSClient {
        guard !configuration.servers.isEmpty else {
            throw TransportError(.invalidEndpoint, "a NATS client needs at least one server")
        }
        let tlsContext = try configuration.tls.map { settings throws(TransportError) in try makeTLSContext(settings) }
        let client = NATSClient(configuration: configuration, tlsContext: tlsContext)
        var failure = TransportError(.connectionFailed, "no NATS server to connect to")
        for server in configuration.servers {
            do {
                try await client.establish(server)
                client.logger.info("connected to NATS", metadata: ["server": "\(server)"])
                return client
            } catch {
                failure = error
                client.logger.debug("cannot connect to NATS", metadata: ["server": "\(server)", "reason": "\(error)"])
                if error.code == .notAuthorized { break }
            }
        }
        await client.close()
        throw failure
    }

    /// Connects, runs `body` with the client, then closes it (also when `body` throws).
    ///
    /// - Parameters:
    ///   - configuration: how to connect.
    ///   - body: what to do with the client.
    /// - Returns: what `body` returns.
    /// - Throws: what ``connect(configuration:)`` or `body` throws.
    @discardableResult
    public static func withClient<R: Sendable>(
        configuration: NATSClientConfiguration, _ body: (NATSClient) async throws -> R
    ) async throws -> R {
        let client = try await connect(configuration: configuration)
        do {
            let result = try await body(client)
            await client.close()
            return result
        } catch {
            await client.close()
            throw error
        }
    }

    /// The latest INFO of the server connected to.
    public var serverInfo: NATSServerInfo { state.withLock { $0.serverInfo } }

    /// The client's counters.
    public var statistics: NATSClientStatistics { state.withLock { $0.statistics } }

    /// Whether a connection is up (`false` while reconnecting and after ``close()``).
    public var isConnected: Bool {
        state.withLock {
            if case .connected = $0.phase { return true }
            return false
        }
    }

    /// Queues `message` for the socket (batched per event-loop tick) and returns; waits only
    /// while the socket is not writable. While reconnecting, holds it in the reconnect buffer.
    ///
    /// - Parameter message: the message; with headers it goes out as `HPUB`.
    /// - Throws: ``TransportError``: `.invalidMessage` for a subject or reply subject NATS cannot
    ///   carry, a payload (with its headers) over the server's `max_payload` (naming both sizes),
    ///   or headers to a server without header support; `.notDelivered` when the reconnect
    ///   buffer is full; `.closed` after ``close()``; `.connectionFailed` after the client gave up.
    public func publish(_ message: NATSMessage) async throws(TransportError) {
        try NATSSubject.validate(message.subject, allowsWildcards: false)
        if let replyTo = message.replyTo { try NATSSubject.validate(replyTo, allowsWildcards: false) }
        try message.headers?.validate()
        let (schedule, wait) = try state.withLock { (state) throws(TransportError) in
            try enqueue(message, in: &state)
        }
        switch schedule {
        case .none: break
        case .now: eventLoop.execute { self.flushOutbound() }
        case .later: eventLoop.scheduleTask(in: Self.batchingDelay) { self.flushOutbound() }
        }
        if let wait {
            do { try await wait.futureResult.get() } catch { throw Self.transportError(error, "publish to '\(message.subject)'") }
        }
    }

    private func enqueue(
        _ message: NATSMessage, in state: inout NATSClientState
    ) throws(TransportError) -> (schedule: FlushTick, wait: EventLoopPromise<Void>?) {
        if let error = state.closedError("publish to '\(message.subject)'") { throw error }
        let headerBytes = message.headers?.encodedByteCount ?? 0
        if message.headers != nil, !state.serverInfo.headers {
            throw TransportError(
                .invalidMessage,
                "cannot publish headers to '\(message.subject)': the NATS server \(state.server) does not support headers")
        }
        let size = message.payload.count + headerBytes
        if size > state.serverInfo.maxPayload {
            throw TransportError(
                .invalidMessage,
                "the message to '\(message.subject)' is \(size) bytes (payload \(message.payload.count) + headers "
                    + "\(headerBytes)), over the server's max_payload of \(state.serverInfo.maxPayload) bytes")
        }
        guard case .connected = state.phase else {
            let before = state.reconnectBuffer.writerIndex
            NATSClientCommand.publish(message).write(into: &state.reconnectBuffer)
            if state.reconnectBuffer.readableBytes > configuration.reconnectBufferSize {
                state.reconnectBuffer.moveWriterIndex(to: before)
                throw TransportError(
                    .notDelivered,
                    "the reconnect buffer of \(configuration.reconnectBufferSize) bytes is full (\(before) bytes held "
                        + "while reconnecting to NATS): the message to '\(message.subject)' was not sent")
            }
            state.statistics.messagesOut += 1
            state.statistics.bytesOut += message.payload.count
            return (.none, nil)
        }
        NATSClientCommand.publish(message).write(into: &state.outbound)
        state.statistics.messagesOut += 1
        state.statistics.bytesOut += message.payload.count
        let schedule: FlushTick = state.scheduleFlush() ? (state.streaming ? .later : .now) : .none
        guard !state.writable || state.outbound.readableBytes > Self.outboundHighWater else { return (schedule, nil) }
        let promise = eventLoop.makePromise(of: Void.self)
        state.writabilityWaiters.append(promise)
        return (schedule, promise)
    }

    /// Sends `PING` and waits for its `PONG`: everything published before has then reached the
    /// server. While reconnecting, the PING waits in the reconnect buffer.
    ///
    /// - Throws: ``TransportError``: `.timedOut` after the operation timeout; `.connectionFailed`
    ///   when the connection was lost before the answer; `.closed` after ``close()``.
    public func flush() async throws(TransportError) {
        try await flush(timeout: configuration.operationTimeout)
    }

    func flush(timeout: Duration) async throws(TransportError) {
        let promise = eventLoop.makePromise(of: Void.self)
        let schedule = try state.withLock { (state) throws(TransportError) -> Bool in
            if let error = state.closedError("flush") {
                promise.fail(error)  // a promise must be completed before it goes
                throw error
            }
            if case .connected = state.phase {
                state.pongWaiters.append(.flush(promise))
            } else {
                state.deferredPongWaiters.append(.flush(promise))
            }
            return state.append(.ping)
        }
        if schedule { eventLoop.execute { self.flushOutbound() } }
        let timer = eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            promise.fail(TransportError(.timedOut, "the NATS server did not answer a flush within \(timeout)"))
        }
        defer { timer.cancel() }
        do { try await promise.futureResult.get() } catch { throw Self.transportError(error, "flush") }
    }

    /// The flush tick: writes what publishers queued since the last one in one write. On the loop.
    func flushOutbound() {
        let (channel, bytes) = state.withLock { state -> ((any Channel)?, ByteBuffer?) in
            state.flushScheduled = false
            guard let channel = state.channel, state.outbound.readableBytes > 0 else { return (nil, nil) }
            let now = NIODeadline.now()
            state.streaming = now - state.lastFlush < Self.streamingWindow
            state.lastFlush = now
            let bytes = state.outbound
            state.outbound = channel.allocator.buffer(capacity: Swift.min(bytes.readableBytes, 64 << 10))
            return (channel, bytes)
        }
        guard let channel, let bytes else { return }
        channel.writeAndFlush(bytes, promise: nil)
        writabilityChanged(channel, writable: channel.isWritable)
    }

    /// Records the channel's writability; wakes the publishers waiting for it. On the loop.
    func writabilityChanged(_ channel: any Channel, writable: Bool) {
        let waiters = state.withLock { state -> [EventLoopPromise<Void>] in
            guard state.channel === channel else { return [] }
            state.writable = writable
            guard writable, state.outbound.readableBytes <= Self.outboundHighWater else { return [] }
            defer { state.writabilityWaiters = [] }
            return state.writabilityWaiters
        }
        for waiter in waiters { waiter.succeed() }
    }

    /// Flushes (for at most 5 s or the operation timeout), closes the connection, finishes every
    /// subscription's consumer (with no error), and fails pending requests and flushes with
    /// ``TransportError/Code/closed``. Calling it again does nothing.
    public func close() async {
        if isConnected {
            try? await flush(timeout: Swift.min(configuration.operationTimeout, .seconds(5)))
        }
        shutDown(failure: nil)
    }

    /// Ends the client: `failure` nil for ``close()``, the reason when it gave up reconnecting.
    func shutDown(failure: TransportError?) {
        let taken = state.withLock { state -> NATSClientState? in
            guard !state.isClosed else { return nil }
            let before = state
            state.phase = .closed(failure)
            state.channel = nil
            state.subscriptions = [:]
            state.requests = [:]
            state.pongWaiters = []
            state.deferredPongWaiters = []
            state.writabilityWaiters = []
            state.reconnectTask = nil
            state.reconnectBuffer.clear()
            state.outbound.clear()
            return before
        }
        guard let taken else { return }
        ended.succeed()
        taken.reconnectTask?.cancel()
        taken.channel?.close(promise: nil)
        let closed = failure ?? TransportError(.closed, "the NATS client was closed")
        for waiter in taken.writabilityWaiters { waiter.succeed() }
        for case .flush(let promise) in Array(taken.pongWaiters) + taken.deferredPongWaiters { promise.fail(closed) }
        for request in taken.requests.values { request.promise.fail(closed) }
        for subscription in taken.subscriptions.values { subscription.consumer.finish(failure) }
        if let failure {
            logger.error("NATS client gave up", metadata: ["reason": "\(failure.message)"])
        } else {
            logger.debug("NATS client closed")
        }
    }

    /// `error` as a ``TransportError`` (a promise failed with one, or something else during `operation`).
    static func transportError(_ error: any Error, _ operation: String) -> TransportError {
        if let error = error as? TransportError { return error }
        return TransportError(.connectionFailed, "cannot \(operation)", underlying: error)
    }
}

/// When a publish's flush tick runs.
enum FlushTick {
    /// One is queued already.
    case none
    /// At once (the loop's next task).
    case now
    /// After ``NATSClient/batchingDelay`` (a streaming publisher).
    case later
}

extension TimeAmount {
    /// `duration`, to the nanosecond (saturating).
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        self = overflow ? .nanoseconds(.max) : .nanoseconds(product &+ attoseconds / 1_000_000_000)
    }
}
