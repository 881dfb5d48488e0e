import CloudEvents

/// The raw peer that reads a binding's native messages off the wire for the wire-shape
/// cells: which one serves a target is part of the target (``ConformanceTarget/wireProbe``),
/// not a decision of the runner.
public struct WireProbe: Sendable, Hashable, CustomStringConvertible {
    enum Kind: Sendable, Hashable {
        case http
        case mqtt
    }

    let kind: Kind

    /// A ``RawHTTPCapture`` on loopback: the sender posts to
    /// `http://127.0.0.1:PORT/conformance/<cell>`.
    public static let rawHTTP = WireProbe(kind: .http)

    /// A ``RawMQTTSubscriber`` on the cell's own broker, topic and version (from the
    /// target's endpoint), subscribed before the sender publishes there over plain
    /// `mqtt://` (the raw subscriber speaks no TLS).
    public static let rawMQTT = WireProbe(kind: .mqtt)

    /// The probe of a standard binding, by the binding's registry name (`HTTP`, `MQTT`);
    /// `nil` for one without a native wire (in-process) or unknown here.
    ///
    /// - Parameter bindingName: the binding's ``EventBinding``-style name.
    public static func standard(forBindingNamed bindingName: String) -> WireProbe? {
        switch bindingName.lowercased() {
        case "http": .rawHTTP
        case "mqtt": .rawMQTT
        default: nil
        }
    }

    /// `raw HTTP capture` or `raw MQTT subscriber`.
    public var description: String { kind == .http ? "raw HTTP capture" : "raw MQTT subscriber" }

    /// Opens the raw peer for one cell and runs `body` with the endpoint a sender should
    /// send to and a function that returns the next captured message (or `nil` at the
    /// deadline). The peer is closed on every path.
    ///
    /// - Parameters:
    ///   - cellEndpoint: the target's receiver endpoint for this cell (broker, topic and
    ///     version for MQTT; unused for HTTP, whose capture has its own port).
    ///   - timeout: how long the peer's own handshake may take.
    ///   - body: sends, and reads what was captured.
    /// - Returns: what `body` returns.
    /// - Throws: ``WireProbeError`` when the peer cannot be opened, or what `body` throws.
    func withPeer<Result: Sendable>(
        cellEndpoint: Endpoint, formats: EventFormatRegistry, timeout: Duration,
        _ body: (Endpoint, @Sendable (ContinuousClock.Instant) async -> RawWireMessage?) async throws -> Result
    ) async throws -> Result {
        switch kind {
        case .http:
            return try await RawHTTPCapture.withCapture { capture in
                let endpoint = try Endpoint(
                    "http://127.0.0.1:\(capture.port)\(cellEndpoint.rawPath.isEmpty ? "/" : cellEndpoint.rawPath)",
                    formats: formats)
                return try await body(endpoint) { deadline in await capture.next(before: deadline).map(RawWireMessage.http) }
            }
        case .mqtt:
            let version: RawMQTTVersion = ["3.1.1", "311", "4"].contains(cellEndpoint.option("version") ?? "") ? .v311 : .v5
            return try await RawMQTTSubscriber.withSubscriber(
                host: cellEndpoint.host, port: cellEndpoint.port ?? 1883, version: version, topic: cellEndpoint.path,
                timeout: timeout
            ) { subscriber in
                var endpoint = cellEndpoint
                endpoint.scheme = "mqtt"
                return try await body(endpoint) { deadline in await subscriber.next(before: deadline).map(RawWireMessage.mqtt) }
            }
        }
    }
}
