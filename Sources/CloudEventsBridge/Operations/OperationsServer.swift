import CloudEvents
public import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
public import Prometheus
public import ServiceLifecycle

/// A small HTTP/1.1 server for the bridge's operations endpoints, on loopback by default.
///
/// - `GET /healthz`: `200 ok` while the process serves (``BridgeHealth/isLive``), `503` once
///   it has stopped.
/// - `GET /readyz`: `200 ready` when every route is subscribed and its sink answered and the
///   bridge is not stopping, `503 not ready` otherwise; either way followed by
///   ``BridgeHealth/report``, one line per route.
/// - `GET /metrics`: the Prometheus registry in the text exposition format (version 0.0.4).
///
/// Any other path is answered 404, another method 405. Connections are kept alive when the
/// client asks, and closed after 60 s without traffic; headers are bounded by SwiftNIO's
/// parser (80 KiB) and bodies, which no endpoint reads, to 16 KiB.
public struct OperationsServer: Service {
    /// How long a keep-alive connection may stay idle.
    static let idleTimeout = TimeAmount.seconds(60)

    private let channel: any Channel
    private let connections: ConnectionSet
    private let logger: Logger

    /// The bound port: the configured one, or the one the system chose for port 0.
    public let port: Int

    /// Binds the listening socket. Connections are accepted at once; ``run()`` keeps the
    /// server until it is cancelled or shut down gracefully.
    ///
    /// - Parameters:
    ///   - configuration: the host and port to listen on.
    ///   - health: what `/healthz` and `/readyz` answer from.
    ///   - metrics: what `/metrics` exports.
    ///   - logger: where the server logs its address and connection failures.
    /// - Returns: the bound server.
    /// - Throws: ``CloudEvents/TransportError`` with `.connectionFailed` when the address
    ///   cannot be bound.
    public static func bind(
        configuration: OperationsConfiguration, health: BridgeHealth, metrics: PrometheusCollectorRegistry, logger: Logger
    ) async throws -> OperationsServer {
        let connections = ConnectionSet()
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    connections.insert(channel)
                    return channel.eventLoop.makeCompletedFuture {
                        let pipeline = channel.pipeline.syncOperations
                        try pipeline.addHandler(IdleStateHandler(allTimeout: idleTimeout))
                        try pipeline.configureHTTPServerPipeline(withErrorHandling: true)
                        try pipeline.addHandler(OperationsRequestHandler(health: health, registry: metrics, logger: logger))
                    }
                }
                .bind(host: configuration.host, port: configuration.port)
                .get()
        } catch {
            throw TransportError(
                .connectionFailed, "cannot listen on \(configuration.host):\(configuration.port) for the operations endpoints",
                underlying: error)
        }
        let port = channel.localAddress?.port ?? configuration.port
        logger.info(
            "operations endpoints listening",
            metadata: ["endpoint": "\(configuration.host):\(port)", "paths": "/healthz /readyz /metrics"])
        return OperationsServer(channel: channel, connections: connections, logger: logger, port: port)
    }

    /// Serves until the task is cancelled or the service group shuts down gracefully, then
    /// closes the listening socket and every open connection, and returns once they are closed.
    ///
    /// - Throws: nothing today; `throws` leaves room for a failing listener.
    public func run() async throws {
        let channel = self.channel
        let connections = self.connections
        await withTaskCancellationOrGracefulShutdownHandler {
            try? await channel.closeFuture.get()
        } onCancelOrGracefulShutdown: {
            channel.close(promise: nil)
        }
        // Closing an already closed channel fails harmlessly; this covers a listener that
        // closed on its own.
        try? await channel.close()
        await connections.closeAll()
        logger.debug("operations endpoints closed", metadata: ["port": "\(port)"])
    }
}
