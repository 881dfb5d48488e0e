public import CloudEvents
import CloudEventsLoopDriver
public import Logging

/// Peer mode: listens for AMQP 1.0 connections (no broker). Peers attach sender links to any
/// address; their messages go to one consumer with real dispositions, and credit bounds what
/// each link may have unsettled.
///
/// SASL: ANONYMOUS is offered (or no SASL layer with ``AMQPSASL/none``); PLAIN is refused
/// (qpid-proton's built-in SASL cannot check passwords). TLS with a server
/// certificate and key; client certificates are asked for when trusted authorities are given.
public final class AMQPListener: Sendable {
    let engine: ProtonEngine
    /// The port listened on (the one the system chose when 0 was asked for).
    public let port: Int

    private init(engine: ProtonEngine, port: Int) {
        self.engine = engine
        self.port = port
    }

    deinit {
        engine.driver.requestStop()
    }

    /// Listens on `host`:`port` and returns once the socket listens.
    ///
    /// - Parameters:
    ///   - host: the address to bind (`127.0.0.1`, `0.0.0.0`, ...).
    ///   - port: the port; 0 for one the system chooses (read ``port``).
    ///   - tls: the server certificate and key (``TLSSettings/certificateChainFile``,
    ///     ``TLSSettings/privateKeyFile``); `nil` for plain TCP.
    ///   - sasl: ``AMQPSASL/anonymous`` (the default) or ``AMQPSASL/none`` for no SASL layer.
    ///   - credit: the deliveries each peer link may have unsettled or on their way.
    ///   - containerID: the container id of the open frames.
    ///   - consumer: where every link's deliveries go.
    ///   - logger: where the listener logs.
    /// - Throws: ``TransportError`` `.connectionFailed` when the address cannot be bound,
    ///   `.invalidEndpoint` for invalid settings (a credit below 1, SASL PLAIN, a TLS file
    ///   proton cannot load).
    public static func listen(
        host: String = "127.0.0.1", port: Int = 0, tls: TLSSettings? = nil, sasl: AMQPSASL = .anonymous, credit: Int = 256,
        containerID: String? = nil, consumer: AMQPDeliveryConsumer,
        logger: Logger = Logger(label: "cloudevents.amqp.listener")
    ) async throws(TransportError) -> AMQPListener {
        let settings = ProtonEngine.ListenerSettings(
            host: host, port: port, sasl: sasl, credit: credit,
            containerID: containerID ?? "ce-listener-" + String(UInt64.random(in: 0...UInt64.max), radix: 36),
            consumer: consumer)
        let engine = try ProtonEngine(listener: settings, tls: tls, logger: logger)
        try engine.start()
        do {
            let bound = try await engine.listen()
            return AMQPListener(engine: engine, port: bound)
        } catch {
            await engine.driver.shutdown()
            throw error
        }
    }

    /// Stops listening, closes the peers' connections, ends the consumer, and returns when the
    /// network thread has finished.
    public func close() async {
        await engine.close()
    }
}
