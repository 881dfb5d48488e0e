import CloudEvents

/// The raw peer that reads a binding's native messages off the wire for the wire-shape
/// cells: which one serves a target is part of the target (``ConformanceTarget/wireProbe``),
/// not a decision of the runner.
public struct WireProbe: Sendable, Hashable, CustomStringConvertible {
    enum Kind: Sendable, Hashable {
        case http
        case mqtt
        case nats
        /// A raw AMQP receiver supplied by a module that links an AMQP client, by its name.
        case amqp(String)
    }

    let kind: Kind
    /// The raw AMQP receiver of an `.amqp` probe (this module links no AMQP library).
    let amqpReceiving: (any RawAMQPReceiving)?

    init(kind: Kind, amqpReceiving: (any RawAMQPReceiving)? = nil) {
        self.kind = kind
        self.amqpReceiving = amqpReceiving
    }

    /// Probes are equal when they are of the same kind (AMQP: receivers of the same name).
    public static func == (lhs: WireProbe, rhs: WireProbe) -> Bool { lhs.kind == rhs.kind }

    /// Hashes the kind.
    public func hash(into hasher: inout Hasher) { hasher.combine(kind) }

    /// A ``RawHTTPCapture`` on loopback: the sender posts to
    /// `http://127.0.0.1:PORT/conformance/<cell>`.
    public static let rawHTTP = WireProbe(kind: .http)

    /// A ``RawMQTTSubscriber`` on the cell's own broker, topic and version (from the
    /// target's endpoint), subscribed before the sender publishes there over plain
    /// `mqtt://` (the raw subscriber speaks no TLS).
    public static let rawMQTT = WireProbe(kind: .mqtt)

    /// A ``RawNATSConnection`` on the cell's own server (host, port and credentials from the
    /// target's endpoint), subscribed to the cell's subject before the sender publishes there
    /// over plain `nats://` (the raw connection speaks no TLS).
    public static let rawNATS = WireProbe(kind: .nats)

    /// A raw AMQP receiver: `receiving` attaches to the cell's address (a broker queue, or
    /// listens for the sender in peer mode) and hands over each message's bytes, which
    /// ``RawAMQPMessage`` parses with this module's own AMQP decoder.
    ///
    /// - Parameter receiving: the receiver, from a module that links an AMQP client
    ///   (the AMQP binding's tests and `ce`).
    public static func rawAMQP(_ receiving: any RawAMQPReceiving) -> WireProbe {
        WireProbe(kind: .amqp(receiving.name), amqpReceiving: receiving)
    }

    /// The probe of a standard binding, by the binding's registry name (`HTTP`, `MQTT`, `NATS`);
    /// `nil` for one without a native wire (in-process) or unknown here.
    ///
    /// - Parameter bindingName: the binding's ``EventBinding``-style name.
    public static func standard(forBindingNamed bindingName: String) -> WireProbe? {
        switch bindingName.lowercased() {
        case "http": .rawHTTP
        case "mqtt": .rawMQTT
        case "nats": .rawNATS
        default: nil
        }
    }

    /// The probe of a standard binding, or for AMQP the raw receiver given.
    ///
    /// - Parameters:
    ///   - bindingName: the binding's name (`HTTP`, `MQTT`, `AMQP`).
    ///   - amqp: the raw AMQP receiver to use for `AMQP`; without one AMQP has no probe.
    public static func standard(forBindingNamed bindingName: String, amqp: (any RawAMQPReceiving)?) -> WireProbe? {
        if bindingName.lowercased() == "amqp" { return amqp.map(rawAMQP) }
        return standard(forBindingNamed: bindingName)
    }

    /// `raw HTTP capture`, `raw MQTT subscriber`, `raw NATS subscriber` or `raw AMQP receiver (<name>)`.
    public var description: String {
        switch kind {
        case .http: "raw HTTP capture"
        case .mqtt: "raw MQTT subscriber"
        case .nats: "raw NATS subscriber"
        case .amqp(let name): "raw AMQP receiver (\(name))"
        }
    }

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
        case .nats:
            return try await RawNATSConnection.withConnection(
                host: cellEndpoint.host, port: cellEndpoint.port ?? 4222, username: cellEndpoint.user,
                password: cellEndpoint.password, subscribingTo: cellEndpoint.path, timeout: timeout
            ) { connection in
                var endpoint = cellEndpoint
                endpoint.scheme = "nats"
                return try await body(endpoint) { deadline in await connection.next(before: deadline).map(RawWireMessage.nats) }
            }
        case .amqp(let name):
            guard let receiving = amqpReceiving else {
                throw WireProbeError(operation: "open the raw AMQP receiver '\(name)'", reason: "no receiver was supplied")
            }
            return try await receiving.withRawReceiver(cellEndpoint: cellEndpoint, formats: formats, timeout: timeout) {
                endpoint, next in
                try await body(endpoint) { deadline in
                    guard let bytes = await next(deadline) else { return nil }
                    do {
                        return .amqp(try RawAMQPMessage(parsing: bytes))
                    } catch {
                        return .unreadable(reason: "\(bytes.count) bytes that are not an AMQP message: \(error)")
                    }
                }
            }
        }
    }
}
