import CQpidProton
public import CloudEvents
public import CloudEventsTransports

#if canImport(Glibc)
    import Glibc
#endif

/// The version of qpid-proton the binding was built against, e.g. `0.37.0`.
package var protonVersionString: String { "\(PN_VERSION_MAJOR).\(PN_VERSION_MINOR).\(PN_VERSION_POINT)" }

/// The AMQP 1.0 binding as an ``EventBinding``: `amqp://` and `amqps://` endpoints (see
/// ``AMQPEndpoint``), one ``AMQPConnection`` per scope, or an ``AMQPListener`` for a receiver
/// with `listen=true` (peer mode, no broker).
///
/// The consumer's settlement is the AMQP disposition its peer gets
/// (``AcknowledgementGuarantee/consumerSettlement``): a send returns on `accepted` and fails
/// with the peer's `rejected` (its condition and description), `released` or `modified`.
/// ``BindingOptions/timeout`` bounds connecting, attaching and each send (credit and
/// outcome); ``BindingOptions/retries`` is not used (a send is not retried: the outcome of a
/// lost one is unknown, and the caller, such as the bridge, decides).
public struct AMQPBinding: EventBinding {
    /// An AMQP binding.
    public init() {}

    /// `AMQP`.
    public var name: String { "AMQP" }
    /// `amqp`, `amqps`.
    public var schemes: [String] { ["amqp", "amqps"] }
    /// The consumer's settlement is the disposition: through a broker, the broker's own
    /// (it accepts once it stored the message, and redelivers what a consumer released);
    /// peer to peer, the consumer's.
    public var acknowledgement: AcknowledgementGuarantee { .consumerSettlement }

    /// The guarantee with the qpid-proton version built against and the library loaded.
    public var acknowledgementDetail: String {
        "\(acknowledgement) (qpid-proton \(protonVersionString)\(Self.loadedLibrary.map { ", \($0)" } ?? ""): "
            + "a send returns on the peer's accepted disposition and fails on rejected, released or modified; "
            + "a delivery stays unsettled until its consumer settles it, and that settlement is the disposition sent)"
    }

    /// The file name of the qpid-proton library this process loaded (`libqpid-proton.so.11.15.0`),
    /// read at run time from `/proc/self/maps`: proton has no version function.
    static let loadedLibrary: String? = {
        guard let maps = fopen("/proc/self/maps", "r") else { return nil }
        defer { fclose(maps) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, maps) > 0, let line {
            let text = String(cString: line)
            guard let start = text.firstIndex(of: "/"), text.contains("libqpid-proton") else { continue }
            return text[start...].split(separator: "/").last.map { String($0.filter { !$0.isNewline }) }
        }
        return nil
    }()

    /// `mode`, `format`, `prefix`, `credit`, `durable`, `listen`, `hostname`.
    public var endpointOptions: [EndpointOption] {
        [
            EndpointOption("mode", help: "the content mode: binary (the default) or structured; AMQP has no batch mode"),
            .format,
            EndpointOption(
                "prefix",
                help:
                    "the attribute property prefix a sender writes: underscore (cloudEvents_, the default) or colon (cloudEvents:)"
            ),
            EndpointOption("credit", help: "a receiver's link credit: deliveries the peer may send ahead, unsettled (256)"),
            EndpointOption(
                "durable",
                help:
                    "durable messages and link termini, so a broker keeps the queue and its messages across a restart: true (the default) or false"
            ),
            EndpointOption(
                "listen", help: "a receiver listens on host:port for peers to connect and send (no broker): true or false"),
            EndpointOption("hostname", help: "the open frame's hostname (the URL's host by default; RabbitMQ: vhost:<name>)")
        ]
    }

    /// Binary and structured: AMQP has no batch mode.
    public func contentModes(for endpoint: Endpoint) -> [ContentMode] { [.binary, .structured] }

    /// The connection settings, address and options for `endpoint`, with `options.tls` for
    /// `amqps://`, `options.timeout` as the operation timeout and `options.logger` as the
    /// connection's logger.
    ///
    /// - Throws: ``TransportError`` `.invalidEndpoint` for port 0 without `listen=true`, or
    ///   what ``AMQPEndpoint`` refuses.
    public func amqpEndpoint(_ endpoint: Endpoint, options: BindingOptions) throws(TransportError) -> AMQPEndpoint {
        var amqp = try AMQPEndpoint(endpoint, tls: options.tls)
        guard amqp.listen || endpoint.port != 0 else {
            throw TransportError(
                .invalidEndpoint, "\(endpoint): port 0 is for listeners (listen=true); give the peer's port")
        }
        amqp.configuration.operationTimeout = options.timeout
        amqp.configuration.logger = options.logger
        return amqp
    }

    /// Connects, attaches a sender link to the endpoint's address, runs `body` with it, and
    /// closes the connection.
    ///
    /// Each send's summary is `sent to 'address' (mode mode): accepted`.
    ///
    /// - Throws: ``TransportError`` as ``amqpEndpoint(_:options:)``,
    ///   ``AMQPConnection/connect(configuration:)`` and ``AMQPEventSender/open(connection:address:mode:format:prefix:durable:)``
    ///   do; `.invalidEndpoint` for `listen=true` (a listener receives) or a format that is not
    ///   available; what `body` throws.
    public func withSender<Result: Sendable>(
        for endpoint: Endpoint, options: BindingOptions, _ body: (any BoundSender) async throws -> Result
    ) async throws -> Result {
        let amqp = try amqpEndpoint(endpoint, options: options)
        guard !amqp.listen else {
            throw TransportError(
                .invalidEndpoint, "\(endpoint): listen=true is for receivers; a sender connects to the listener's host:port")
        }
        let format = try options.format(for: endpoint)
        return try await AMQPEventSender.withSender(
            configuration: amqp.configuration, address: amqp.address, mode: amqp.mode, format: format, prefix: amqp.prefix,
            durable: amqp.durable
        ) { sender in
            try await body(AMQPBoundSender(endpoint: endpoint, sender: sender))
        }
    }

    /// Connects and attaches a receiver link to the endpoint's address (or, with
    /// `listen=true`, listens for peers), runs `body` with its deliveries, and closes
    /// everything. The ready message is `receiving from 'address' at endpoint`, or
    /// `listening on amqp://host:port` with the port actually bound.
    ///
    /// - Throws: ``TransportError`` as ``amqpEndpoint(_:options:)``,
    ///   ``AMQPConnection/connect(configuration:)``, ``AMQPConnection/openReceiver(address:credit:consumer:)``
    ///   and ``AMQPListener/listen(host:port:tls:sasl:credit:containerID:consumer:logger:)`` do;
    ///   what `body` throws.
    public func withReceiver<Result: Sendable>(
        for endpoint: Endpoint, options: BindingOptions, _ body: (any BoundReceiver) async throws -> Result
    ) async throws -> Result {
        let amqp = try amqpEndpoint(endpoint, options: options)
        if amqp.listen {
            let bridge = AMQPDeliveryBridge(formats: options.formats, capacity: amqp.credit)
            let listener = try await AMQPListener.listen(
                host: amqp.configuration.host, port: endpoint.port ?? amqp.port, tls: amqp.configuration.tls,
                credit: amqp.credit,
                consumer: amqp.address.isEmpty ? bridge.consumer : bridge.consumer.only(address: amqp.address),
                logger: options.logger)
            let bound = endpoint.withPort(listener.port)
            // A URL a sender can use as it is: no password, no listen=true.
            let host = bound.host.contains(":") ? "[\(bound.host)]" : bound.host
            let ready = "listening on \(bound.scheme)://\(host):\(listener.port)\(bound.rawPath)"
            let receiver = AMQPBoundReceiver(endpoint: bound, readyMessage: ready, stream: bridge.stream)
            do {
                let result = try await body(receiver)
                await listener.close()
                return result
            } catch {
                await listener.close()
                throw error
            }
        }
        return try await AMQPEventReceiver.withReceiver(
            configuration: amqp.configuration, address: amqp.address, credit: amqp.credit, formats: options.formats
        ) { receiver in
            let bound = AMQPBoundReceiver(
                endpoint: endpoint, readyMessage: "receiving from '\(amqp.address)' at \(endpoint)",
                stream: receiver.deliveries())
            return try await body(bound)
        }
    }
}
