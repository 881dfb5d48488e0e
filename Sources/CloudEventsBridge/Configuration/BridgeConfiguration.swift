/// Everything a ``Bridge`` runs: its routes, how long it drains when stopping, and where it
/// serves its health and metrics endpoints.
public struct BridgeConfiguration: Sendable {
    /// The routes, each with a distinct name.
    public var routes: [RouteConfiguration]
    /// How long a stopping bridge keeps delivering what it holds before it closes its buffers
    /// (a durable buffer keeps the rest for the next start). 10 s by default.
    public var shutdownTimeout: Duration
    /// Where `/healthz`, `/readyz` and `/metrics` are served; `nil` for nowhere.
    public var operations: OperationsConfiguration?

    /// A bridge running `routes`.
    public init(
        routes: [RouteConfiguration], shutdownTimeout: Duration = .seconds(10), operations: OperationsConfiguration? = nil
    ) {
        self.routes = routes
        self.shutdownTimeout = shutdownTimeout
        self.operations = operations
    }
}

/// The address of the operations endpoints (`/healthz`, `/readyz`, `/metrics`).
public struct OperationsConfiguration: Sendable, Hashable {
    /// The interface to listen on; loopback by default.
    public var host: String
    /// The port; 0 lets the system choose.
    public var port: Int

    /// Listens on `host:port`.
    public init(host: String = "127.0.0.1", port: Int) {
        self.host = host
        self.port = port
    }
}
