public import CloudEvents
import CloudEventsLoopDriver
public import ServiceLifecycle

/// An AMQP 1.0 connection on qpid-proton: one proactor and one network thread per
/// connection, which alone touches proton's objects.
///
/// ```swift
/// let connection = try await AMQPConnection.connect(configuration: .init(host: "localhost"))
/// let sender = try await connection.openSender(address: "/queue/events")
/// try await sender.send(try AMQPMessageCodec.encode(message))   // returns on `accepted`
/// await connection.close()
/// ```
///
/// - **Sending** waits for link credit (the peer's back-pressure), sends the message
///   unsettled and returns when the peer's disposition arrives: `accepted` returns; the others
///   throw (see ``AMQPSenderLink/send(_:)``).
/// - **Receiving** grants credit up to a window; each delivery is settled with a real
///   disposition, and credit is given back as deliveries are settled.
/// - **Reconnection** is automatic, with ``AMQPConnectionConfiguration/reconnect``; every
///   link is attached again. A send whose outcome had not arrived when the connection dropped
///   fails with `.connectionFailed` (it may or may not have arrived; the caller retries);
///   sends waiting for credit go out on the next connection, within the operation timeout.
///   Deliveries received on the lost connection can no longer be settled: the broker
///   delivers them again.
///
/// ## RabbitMQ 3.10 addresses (its `rabbitmq_amqp1_0` plugin)
///
/// | address | as a sender's target | as a receiver's source |
/// |---|---|---|
/// | `/queue/<name>` | the default exchange, routing key `<name>` (the queue is declared if missing) | consumes queue `<name>` (declared if missing) |
/// | `/amq/queue/<name>` | the default exchange, routing key `<name>` (attaches even when the queue is missing) | consumes an existing queue (`amqp:not-found` if missing) |
/// | `/exchange/<exchange>/<routing-key>` | publishes to the exchange | a temporary queue bound to the exchange |
/// | `/topic/<routing-key>` | publishes to `amq.topic` | a temporary queue bound to `amq.topic` |
///
/// The first two rows are what the tests exercise; the exchange and topic rows are the
/// plugin's documented forms. An unknown queue makes RabbitMQ 3.10 end the whole *session*
/// with `amqp:not-found` (not just detach the link): the link being attached fails with
/// ``TransportError/Code/invalidEndpoint`` and the connection attaches its other links again
/// on a new session. The open frame's hostname may select the virtual host as
/// `vhost:<name>`; the default (the host name) means the default virtual host. SASL PLAIN
/// with guest/guest works over loopback, and so does ANONYMOUS (mapped to the plugin's
/// `default_user`).
///
/// RabbitMQ 3.x does not implement the `modified` outcome: a `modified` disposition makes
/// it end the session (`amqp:invalid-field`). The connection recognises RabbitMQ 3.x by the
/// `product` and `version` of its open frame and sends `released` instead (the message is
/// requeued; its delivery-count is not raised).
public final class AMQPConnection: Service, Sendable {
    let engine: ProtonEngine

    /// The configuration the connection was made with.
    public let configuration: AMQPConnectionConfiguration

    private init(engine: ProtonEngine, configuration: AMQPConnectionConfiguration) {
        self.engine = engine
        self.configuration = configuration
    }

    /// A connection dropped without ``close()`` stops its network thread.
    deinit {
        engine.driver.requestStop()
    }

    /// Connects and returns once the peer's open frame arrived (SASL and TLS done).
    ///
    /// - Throws: ``TransportError``: `.notAuthorized` when SASL failed, `.connectionFailed`
    ///   when the peer cannot be reached, the TLS handshake fails or the peer closes the
    ///   connection, `.timedOut` after the operation timeout, `.invalidEndpoint` for an
    ///   invalid configuration (a TLS file proton cannot load).
    public static func connect(configuration: AMQPConnectionConfiguration) async throws(TransportError) -> AMQPConnection {
        let engine = try ProtonEngine(client: configuration)
        try engine.start()
        do {
            try await engine.connect()
        } catch {
            await engine.driver.shutdown()
            throw error
        }
        return AMQPConnection(engine: engine, configuration: configuration)
    }

    /// Connects, runs `body` with the connection, then closes it (also when `body` throws).
    ///
    /// - Parameters:
    ///   - configuration: how to connect.
    ///   - body: what to do with the connection.
    /// - Returns: what `body` returns.
    /// - Throws: what ``connect(configuration:)`` or `body` throws.
    @discardableResult
    public static func withConnection<Result: Sendable>(
        configuration: AMQPConnectionConfiguration, _ body: (AMQPConnection) async throws -> Result
    ) async throws -> Result {
        let connection = try await connect(configuration: configuration)
        do {
            let result = try await body(connection)
            await connection.close()
            return result
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Attaches a sender link to `address` and returns once the peer attached it.
    ///
    /// - Throws: ``TransportError``: `.invalidEndpoint` when the peer does not know the
    ///   address (`amqp:not-found`), `.notAuthorized`, `.timedOut`, `.closed`.
    public func openSender(address: String) async throws(TransportError) -> AMQPSenderLink {
        let id = try await engine.openSender(address: address)
        return AMQPSenderLink(engine: engine, id: id, address: address)
    }

    /// Attaches a receiver link from `address` whose deliveries go to `consumer`, with up
    /// to `credit` deliveries unsettled or on their way.
    ///
    /// - Throws: ``TransportError``: as ``openSender(address:)``; `.invalidEndpoint` for a
    ///   credit below 1.
    public func openReceiver(
        address: String, credit: Int = 256, consumer: AMQPDeliveryConsumer
    ) async throws(TransportError) -> AMQPReceiverLink {
        let id = try await engine.openReceiver(address: address, credit: credit, consumer: consumer)
        return AMQPReceiverLink(engine: engine, id: id, address: address)
    }

    /// Closes the connection: sends still waiting fail with `.closed`, receivers' consumers
    /// end, and the network thread has finished when it returns. Calling it again waits for
    /// the same end.
    public func close() async {
        await engine.close()
    }

    /// Keeps the connection until the service group shuts down gracefully or the task is
    /// cancelled, then closes it. Never throws.
    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await gracefulShutdown() }
            group.addTask { await self.engine.driver.join() }
            await group.next()
            group.cancelAll()
            await self.close()
        }
    }

    /// Whether the connection is open right now.
    public var isConnected: Bool { engine.status.withLock { $0.connected } }

    /// How many times the peer opened a connection for this one (1 after
    /// ``connect(configuration:)``; each reconnection adds one).
    public var connectionCount: Int { engine.status.withLock { $0.connectionCount } }
}

/// A sender link of an ``AMQPConnection``.
public final class AMQPSenderLink: Sendable {
    let engine: ProtonEngine
    let id: Int
    /// The target address.
    public let address: String

    init(engine: ProtonEngine, id: Int, address: String) {
        self.engine = engine
        self.id = id
        self.address = address
    }

    /// Waits for link credit, sends the encoded message unsettled and waits for the peer's
    /// disposition.
    ///
    /// - Throws: ``TransportError``: `.rejected` with the peer's condition and description;
    ///   released or modified (not processed: try again, unless undeliverable-here);
    ///   `.connectionFailed` when the link or connection was lost before the outcome (the
    ///   message may or may not have arrived); `.timedOut` after the operation timeout
    ///   (credit or outcome); `.closed`.
    public func send(_ encoded: [UInt8]) async throws(TransportError) {
        try await engine.send(encoded, link: id)
    }

    /// Detaches the link; sends still waiting fail with `.closed`.
    public func close() {
        engine.driver.submit { [engine, id] in engine.closeSender(id) }
    }
}

/// A receiver link of an ``AMQPConnection``; its deliveries go to the consumer it was
/// opened with, and it is attached again after a reconnect.
public final class AMQPReceiverLink: Sendable {
    let engine: ProtonEngine
    let id: Int
    /// The source address.
    public let address: String

    init(engine: ProtonEngine, id: Int, address: String) {
        self.engine = engine
        self.id = id
        self.address = address
    }

    /// Detaches the link (the peer takes back what was not settled) and ends its consumer.
    public func close() {
        engine.driver.submit { [engine, id] in engine.closeReceiver(id) }
    }
}
