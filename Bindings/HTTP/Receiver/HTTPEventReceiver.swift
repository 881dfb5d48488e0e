public import CloudEvents
internal import HTTPTypes
internal import Logging
internal import NIOCore
internal import NIOExtras
internal import NIOHTTP1
internal import NIOHTTP2
internal import NIOHTTPTypesHTTP1
internal import NIOHTTPTypesHTTP2
internal import NIOPosix
internal import NIOSSL
public import ServiceLifecycle
import Synchronization

/// A standalone HTTP server (SwiftNIO: HTTP/1.1, and HTTP/2 over TLS) that receives
/// CloudEvents in binary, structured and batched mode and hands them out as
/// ``DeliveryStream`` deliveries.
///
/// Settling a delivery chooses the response: accept → ``HTTPReceiverConfiguration/acceptedStatus``
/// (202 by default), reject → 400 with the reason as a `text/plain` body, release or modify (or a
/// delivery dropped unsettled, or one not settled within
/// ``HTTPReceiverConfiguration/settlementTimeout``) → 503 with `Retry-After`. The sender learns the outcome only
/// through this status: it is the binding's whole guarantee. ``Delivery/settlementOutcome()``
/// is `.reachedPeer` once the response is written, `.failed` when the request was gone first.
///
/// Requests that carry no valid event never reach the consumer: 400 with a one-line
/// message naming the attribute, 415 for a structured format not in
/// ``HTTPReceiverConfiguration/formats``, 413 for a body over the limit, 431 for headers
/// over the limit, 404 for another path than ``HTTPReceiverConfiguration/path``. `OPTIONS`
/// answers the CloudEvents webhook validation handshake.
///
/// Back-pressure: a connection reads its next request only after the consumer settled the
/// current one, the consumer's buffer holds at most ``HTTPReceiverConfiguration/capacity``
/// deliveries, and at most ``HTTPReceiverConfiguration/maximumConnections`` connections are
/// served at once. Timeouts (``HTTPReceiverConfiguration/headerReadTimeout``,
/// ``HTTPReceiverConfiguration/bodyReadTimeout``, ``HTTPReceiverConfiguration/keepAliveIdleTimeout``)
/// close connections that stall, so that they cannot hold those slots.
///
/// Lifecycle: a `Service` whose ``run()`` serves; ``withReceiver(configuration:_:)`` binds,
/// serves while its closure runs and stops on every path. Logs through
/// ``HTTPReceiverConfiguration/logger``.
///
/// Requests are read, decoded and answered on SwiftNIO's event loops; the consumer is the
/// only hand-off.
///
/// ```swift
/// try await HTTPEventReceiver.withReceiver(configuration: .init(port: 8080)) { receiver in
///     for try await delivery in receiver.deliveries() {
///         print(try delivery.event())
///         delivery.accept()
///     }
/// }
/// ```
public final class HTTPEventReceiver: CloudEventReceiver, Service {
    /// The configuration the receiver was bound with.
    public let configuration: HTTPReceiverConfiguration
    /// The port the receiver is bound to (the ephemeral one when the configuration said 0).
    public let port: Int
    private let serverChannel: any Channel
    private let quiescing: ServerQuiescingHelper
    private let stream: DeliveryStream
    private let core: ReceiverCore
    /// Completed once the listening socket and every connection have closed.
    private let closed: EventLoopPromise<Void>
    private let shutdownStarted = Atomic<Bool>(false)
    private let taskExecutor: EventLoopTaskExecutor

    private init(
        configuration: HTTPReceiverConfiguration, serverChannel: any Channel, quiescing: ServerQuiescingHelper,
        stream: DeliveryStream, core: ReceiverCore
    ) {
        self.configuration = configuration
        self.port = serverChannel.localAddress?.port ?? configuration.port
        self.serverChannel = serverChannel
        self.quiescing = quiescing
        self.stream = stream
        self.core = core
        closed = serverChannel.eventLoop.makePromise()
        taskExecutor = EventLoopTaskExecutor(eventLoop: serverChannel.eventLoop)
    }

    deinit {
        // A receiver dropped without running or shutting down must not keep its port.
        if !shutdownStarted.load(ordering: .relaxed) {
            serverChannel.close(promise: nil)
            closed.succeed()
        }
    }

    /// Binds the listening socket. Call ``run()`` to serve; until then connections wait
    /// in the accept queue.
    ///
    /// - Parameter configuration: where to listen, how to answer, and where to log
    ///   (``HTTPReceiverConfiguration/logger``).
    /// - Throws: ``TransportError`` with `.connectionFailed` when the address cannot be
    ///   bound, `.invalidEndpoint` when the TLS certificate or key cannot be loaded.
    public static func bind(
        configuration: HTTPReceiverConfiguration = HTTPReceiverConfiguration()
    ) async throws -> HTTPEventReceiver {
        let tls = try configuration.tls.map { try ReceiverTLS.context($0, allowsHTTP2: configuration.allowsHTTP2) }
        let (stream, continuation) = DeliveryStream.makeStream(capacity: configuration.capacity)
        let core = ReceiverCore(responder: ReceiverResponder(configuration: configuration), continuation: continuation)
        let logger = configuration.logger
        let group = MultiThreadedEventLoopGroup.singleton
        let quiescing = ServerQuiescingHelper(group: group)
        let limit = configuration.maximumConnections
        let serverChannel: any Channel
        do {
            serverChannel = try await ServerBootstrap(group: group)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                // Accepting starts in run(); one connection per accept keeps the limit exact.
                .serverChannelOption(ChannelOptions.autoRead, value: false)
                .serverChannelOption(ChannelOptions.maxMessagesPerRead, value: 1)
                .serverChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandlers(
                            quiescing.makeServerChannelHandler(channel: channel),
                            ConnectionLimitHandler(limit: limit, logger: logger))
                    }
                }
                .childChannelInitializer { channel in
                    Self.configureConnection(channel, core: core, tls: tls, allowsHTTP2: configuration.allowsHTTP2)
                }
                .bind(host: configuration.host, port: configuration.port)
                .get()
        } catch {
            continuation.finish()
            logger.error(
                "cannot listen", metadata: ["endpoint": "\(configuration.host):\(configuration.port)", "error": "\(error)"])
            throw TransportError(
                .connectionFailed, "cannot listen on \(configuration.host):\(configuration.port)", underlying: error)
        }
        logger.info(
            "HTTP receiver listening",
            metadata: ["endpoint": "\(configuration.host):\(serverChannel.localAddress?.port ?? configuration.port)"])
        return HTTPEventReceiver(
            configuration: configuration, serverChannel: serverChannel, quiescing: quiescing, stream: stream, core: core)
    }

    /// The pipeline of one accepted connection: plain HTTP/1.1, or TLS with ALPN choosing
    /// HTTP/2 (a handler per stream) or HTTP/1.1.
    private static func configureConnection(
        _ channel: any Channel, core: ReceiverCore, tls: NIOSSLContext?, allowsHTTP2: Bool
    ) -> EventLoopFuture<Void> {
        @Sendable func http1(_ channel: any Channel) -> EventLoopFuture<Void> {
            channel.eventLoop.makeCompletedFuture {
                NegotiationTimeoutHandler.remove(from: channel)
                let pipeline = channel.pipeline.syncOperations
                // Pipelining and quiescing are ReceiverRequestHandler's (it says why).
                try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: true)
                try pipeline.addHandlers(
                    HTTP1ServerAdapter(secure: tls != nil), ReceiverRequestHandler(core: core, isHTTP2: false))
            }
        }
        guard let tls else { return http1(channel) }
        do {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        // Without ALPN, ReceiverRequestHandler's head timeout covers the handshake.
        guard allowsHTTP2 else { return http1(channel) }
        do {
            try channel.pipeline.syncOperations.addHandler(
                NegotiationTimeoutHandler(timeout: core.headerReadTimeout, logger: core.logger))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return channel.configureHTTP2SecureUpgrade(
            h2ChannelConfigurator: { connection in
                NegotiationTimeoutHandler.remove(from: connection)
                return connection.configureHTTP2Pipeline(mode: .server) { stream in
                    stream.eventLoop.makeCompletedFuture {
                        try stream.pipeline.syncOperations.addHandlers(
                            HTTP2FramePayloadToHTTPServerCodec(), ReceiverRequestHandler(core: core, isHTTP2: true))
                    }
                }.flatMapThrowing { _ in
                    try connection.pipeline.syncOperations.addHandler(
                        HTTP2IdleTimeoutHandler(timeout: core.keepAliveIdleTimeout, logger: core.logger))
                }
            },
            http1ChannelConfigurator: http1)
    }

    /// Binds a receiver, serves while `body` runs, then stops it on every path (requests
    /// still waiting for their settlement are answered 503) and waits until every
    /// connection has closed.
    ///
    /// - Parameters:
    ///   - configuration: where to listen, how to answer, and where to log.
    ///   - body: runs with the serving receiver; consume ``deliveries()`` here.
    /// - Returns: what `body` returns.
    /// - Throws: what ``bind(configuration:)`` or `body` throws.
    public static func withReceiver<Result>(
        configuration: HTTPReceiverConfiguration = HTTPReceiverConfiguration(),
        _ body: (HTTPEventReceiver) async throws -> Result
    ) async throws -> Result {
        let receiver = try await bind(configuration: configuration)
        return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
            group.addTask { try await receiver.run() }
            defer { group.cancelAll() }
            return try await body(receiver)
        }
    }

    /// The deliveries, as they arrive. There is one stream per receiver: call this once.
    public func deliveries() -> DeliveryStream { stream }

    /// The event loop that accepts the receiver's connections, as a task executor.
    ///
    /// A consumer that settles quickly and never blocks can run on it, and then takes each
    /// delivery and writes its response on the thread that read the request, with no hop
    /// between threads (on one core, about 1.5 times the requests per second):
    ///
    /// ```swift
    /// try await withTaskExecutorPreference(receiver.eventLoopExecutor) {
    ///     for try await delivery in receiver.deliveries() {
    ///         delivery.accept()
    ///     }
    /// }
    /// ```
    ///
    /// While the consumer runs, this event loop serves no connection: a consumer that
    /// waits on anything slow (a database, another service) belongs on the default
    /// executor. With several event loops (SwiftNIO starts one per core), requests that
    /// arrive on the others still reach it with one hop.
    public var eventLoopExecutor: any TaskExecutor { taskExecutor }

    /// Serves until ``shutdown()`` or a graceful shutdown of the service group (requests in
    /// progress finish; idle connections and the listening socket close), or until the task
    /// is cancelled (requests waiting for their settlement are answered 503 and every
    /// connection closes). Returns once every connection has closed, and ends the delivery
    /// stream.
    public func run() async throws {
        defer { core.continuation.finish() }
        serverChannel.setOption(ChannelOptions.autoRead, value: true).whenSuccess { [serverChannel] in
            serverChannel.read()
        }
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                try? await closed.futureResult.get()
            } onGracefulShutdown: {
                self.shutdown()
            }
        } onCancel: {
            self.core.abort()
            self.shutdown()
        }
    }

    /// Stops accepting, lets requests in progress finish (their deliveries are still
    /// settled and answered), closes idle connections, and makes ``run()`` return once the
    /// last connection has closed. Calling it again does nothing.
    public func shutdown() {
        guard !shutdownStarted.exchange(true, ordering: .relaxed) else { return }
        quiescing.initiateShutdown(promise: closed)
    }
}
