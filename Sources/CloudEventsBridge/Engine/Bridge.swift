public import CloudEventsTransports
public import Logging
public import Metrics
public import ServiceLifecycle

/// The bridge: moves events from each route's source to its sink, through a durable buffer,
/// with retries, dead-lettering, per-key ordering, metrics and trace context, for any pair of
/// registered bindings (it never names one).
///
/// Run it as a `Service` (in a `ServiceGroup`, so that SIGTERM or SIGINT stop it
/// gracefully):
///
/// ```swift
/// let bridge = try Bridge(
///     configuration: BridgeConfiguration(routes: [
///         RouteConfiguration(
///             name: "sensors", source: try Endpoint("mqtt://broker:1883/sensors/%23"),
///             sink: try Endpoint("http://sink:8080/events"))
///     ]),
///     registry: try BindingRegistry([HTTPBinding(), MQTTBinding(freshSessionWithoutClientID: false)]),
///     logger: logger)
/// let group = ServiceGroup(services: [bridge], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
/// try await group.run()
/// ```
///
/// On graceful shutdown each route stops its intake (the source is closed; what it had
/// handed over is stored), delivers what is buffered until the buffer is empty or
/// ``BridgeConfiguration/shutdownTimeout``, syncs its buffer and closes. Cancellation stops
/// at once; a durable buffer keeps what was not delivered.
public final class Bridge: Service, Sendable {
    /// Readiness and liveness, for `/healthz` and `/readyz`.
    public let health: BridgeHealth
    private let routes: [RouteRunner]
    private let logger: Logger

    /// A bridge for `configuration`, with endpoints looked up in `registry`.
    ///
    /// - Parameters:
    ///   - configuration: the routes and shutdown timeout.
    ///   - registry: the bindings the routes' endpoints may use.
    ///   - options: formats, TLS and timeout for every binding (retries are the routes' own).
    ///   - metricsFactory: where metrics go (a `PrometheusMetricsFactory` for `/metrics`); the
    ///     global `MetricsSystem` factory by default.
    ///   - logger: where the bridge logs.
    /// - Throws: ``BridgeError`` for duplicate route names, or an endpoint no binding serves.
    public init(
        configuration: BridgeConfiguration, registry: BindingRegistry, options: BindingOptions = BindingOptions(),
        metricsFactory: (any MetricsFactory)? = nil, logger: Logger
    ) throws(BridgeError) {
        var names = Set<String>()
        for route in configuration.routes {
            guard !route.name.isEmpty, names.insert(route.name).inserted else {
                throw BridgeError("route name '\(route.name)' is empty or used twice")
            }
        }
        guard !configuration.routes.isEmpty else { throw BridgeError("no routes to run") }
        let health = BridgeHealth(routes: configuration.routes.map(\.name))
        let factory = metricsFactory ?? MetricsSystem.factory
        var routes: [RouteRunner] = []
        for route in configuration.routes {
            do {
                routes.append(
                    try RouteRunner(
                        route: route, registry: registry, options: options,
                        metrics: RouteMetrics(route: route.name, factory: factory), health: health,
                        shutdownTimeout: configuration.shutdownTimeout, logger: logger))
            } catch {
                throw BridgeError("route '\(route.name)': \(error)")
            }
        }
        self.health = health
        self.routes = routes
        self.logger = logger
    }

    /// Each route's counters and gauges now, in configuration order.
    public func snapshots() -> [RouteSnapshot] { routes.map(\.metrics.snapshot) }

    /// The guarantee each route gives, by route name (also logged when it starts).
    public var guarantees: [String: String] {
        Dictionary(uniqueKeysWithValues: routes.map { ($0.route.name, $0.guarantee) })
    }

    /// Runs every route until graceful shutdown or cancellation. A route that fails (its
    /// buffer cannot be opened, its source refuses it) stops the others and the error is
    /// thrown.
    public func run() async throws {
        defer { health.setStopped() }
        try await withThrowingDiscardingTaskGroup { group in
            for route in routes {
                group.addTask {
                    do {
                        try await route.run()
                    } catch {
                        self.logger.error("route failed", metadata: ["route": "\(route.route.name)", "error": "\(error)"])
                        throw error
                    }
                }
            }
            group.addTask { [health] in
                // Readiness ends as soon as stopping starts, before the routes drain.
                try? await gracefulShutdown()
                health.setStopping()
            }
        }
    }
}

/// A bridge that cannot start: what is wrong with its configuration.
public struct BridgeError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var description: String

    /// An error saying `description`.
    public init(_ description: String) {
        self.description = description
    }
}
