import CMosquitto
public import CloudEvents
public import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// An MQTT 5 or 3.1.1 client on libmosquitto: one connection to one broker, its network
/// loop on a thread the client owns.
///
/// ```swift
/// let client = try await MQTTClient.connect(configuration: .init(host: "localhost"))
/// try await client.publish(try event.mqttMessage(topic: "sensors/1"))   // returns on PUBACK
/// for try await delivery in try await client.subscribe(to: "sensors/#") {
///     let event = try delivery.event()
///     delivery.accept()
/// }
/// await client.shutdown()
/// ```
///
/// - **Publishing** returns once the broker acknowledged the message at its QoS: QoS 0 when
///   it was written to the socket, QoS 1 on PUBACK, QoS 2 on PUBCOMP. The network thread
///   publishes queued messages itself and records each message id before it can read the
///   acknowledgement, so an acknowledgement never races its publish. A reason code of 0x80
///   or above fails the publish with it. A topic or property MQTT cannot carry (NUL or
///   control characters) fails before anything is sent: mosquitto would drop the connection.
/// - **Lifecycle**: ``withClient(configuration:_:)`` scopes a client; as a swift-service-lifecycle
///   `Service` in a `ServiceGroup`, ``run()`` keeps it until the group shuts down gracefully
///   or the task is cancelled, then shuts it down. Connects, losses, reconnects, refusals and
///   drops go to ``MQTTClientConfiguration/logger``.
/// - **Reconnection** is automatic, with the configured backoff; every live subscription is
///   subscribed again (MQTT 5: retained messages are not sent again for a subscription the
///   session still had). With a persistent session (the default) QoS 1/2 messages in flight
///   are resent and messages for this client are queued by the broker meanwhile. Publishes
///   made while disconnected wait for the connection, up to the operation timeout.
/// - **Back-pressure**: each subscription buffers up to `receiveBufferCapacity` deliveries.
///   When a consumer falls behind, the client stops reading from the socket, so the broker
///   holds further messages (TCP and MQTT flow control) instead of this process buffering
///   or dropping them; it keeps the connection alive meanwhile, so a consumer may pause for
///   longer than the keepalive. Other subscriptions on the same client pause too: give a
///   slow consumer its own client.
/// - **Settlement** (see ``acknowledgement``): libmosquitto 2.0 acknowledges a QoS 1/2
///   message to the broker *before* the application sees it. `accept`, `reject` and
///   `release` are therefore local decisions: nothing is redelivered after a reject or a
///   release, and deliveries still buffered when a consumer stops are lost to it. Use QoS 1
///   with idempotent consumers, and keep consumers running.
public final class MQTTClient: Service, Sendable {
    let engine: MosquittoEngine

    /// The configuration the client was created with.
    public var configuration: MQTTClientConfiguration { engine.configuration }

    private init(engine: MosquittoEngine) {
        self.engine = engine
    }

    /// A client dropped without ``shutdown(drainTimeout:)`` stops its network thread.
    deinit {
        engine.requestStop()
    }

    /// Connects to the broker and returns once it accepted the connection (CONNACK).
    ///
    /// - Throws: ``TransportError``: `.notAuthorized` for a refused user name, password or
    ///   client id; `.connectionFailed` when the broker cannot be reached or the TLS
    ///   handshake fails (with libmosquitto's reason); `.timedOut` after the operation
    ///   timeout; `.invalidEndpoint` for an invalid configuration.
    public static func connect(configuration: MQTTClientConfiguration) async throws(TransportError) -> MQTTClient {
        let engine = try MosquittoEngine(configuration: configuration)
        try await engine.start()
        return MQTTClient(engine: engine)
    }

    /// Connects, runs `body` with the client, then shuts the client down (also when `body`
    /// throws).
    ///
    /// - Parameters:
    ///   - configuration: how to connect.
    ///   - body: what to do with the connected client.
    /// - Returns: what `body` returns.
    /// - Throws: what ``connect(configuration:)`` or `body` throws.
    @discardableResult
    public static func withClient<Result: Sendable>(
        configuration: MQTTClientConfiguration, _ body: (MQTTClient) async throws -> Result
    ) async throws -> Result {
        let client = try await connect(configuration: configuration)
        do {
            let result = try await body(client)
            await client.shutdown()
            return result
        } catch {
            await client.shutdown()
            throw error
        }
    }

    /// Publishes `message` and returns when the broker acknowledged it at its QoS.
    ///
    /// - Throws: ``TransportError``: `.timedOut` when no acknowledgement came within the
    ///   operation timeout (a QoS 1/2 message may still be delivered later, since
    ///   libmosquitto keeps resending it), `.rejected` or `.notAuthorized` for a failure
    ///   reason code, `.connectionFailed` for a QoS 0 message lost with the connection,
    ///   `.invalidMessage` for a topic or property libmosquitto refuses, `.closed` after
    ///   ``shutdown(drainTimeout:)``.
    public func publish(_ message: MQTTMessage) async throws(TransportError) {
        try await engine.publish(message)
    }

    /// Subscribes to `filter` (wildcards `+` and `#`, or `$share/group/filter` for an MQTT 5
    /// shared subscription) and returns the deliveries once the broker granted it (SUBACK).
    ///
    /// Each delivery's ``Delivery/message`` is the CloudEvents message read with
    /// ``MQTTMessageReader``: decoding it reports a message that is not a valid event as a
    /// ``MessageError`` on that delivery, and the subscription goes on. When the iteration
    /// ends, the client unsubscribes as the next message for the subscription arrives.
    ///
    /// - Parameters:
    ///   - qos: the maximum QoS to receive with.
    ///   - formats: the formats a structured message may use.
    ///   - extensionTypes: types for binary-mode extensions, which arrive as strings.
    /// - Throws: ``TransportError``: `.invalidEndpoint` for an invalid filter,
    ///   `.notAuthorized` or `.rejected` when the broker refused it, `.timedOut`, `.closed`.
    public func subscribe(
        to filter: String, qos: MQTTQoS = .atLeastOnce, formats: EventFormatRegistry = .standard,
        extensionTypes: ExtensionTypes = .none
    ) async throws(TransportError) -> DeliveryStream {
        try await engine.subscribe(filter: filter, qos: qos, formats: formats, extensionTypes: extensionTypes)
    }

    /// Stops the client: waits up to `drainTimeout` for publishes still waiting for their
    /// acknowledgement, disconnects cleanly (the broker discards the will message), ends
    /// every subscription's deliveries, and returns when the network thread has finished.
    /// Publishes still unacknowledged then fail with `.closed`. Calling it again waits for
    /// the same end.
    public func shutdown(drainTimeout: Duration = .seconds(5)) async {
        await engine.shutdown(drainTimeout: drainTimeout)
    }

    /// Keeps the client until the service group shuts down gracefully, the task is
    /// cancelled, or the client is shut down by other means; then shuts it down with the
    /// default drain timeout. Never throws.
    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await gracefulShutdown() }
            group.addTask { await self.engine.waitUntilStopped() }
            await group.next()
            // Ends the other child too: the client's end ends waitUntilStopped, and
            // cancellation ends gracefulShutdown().
            group.cancelAll()
            await self.shutdown()
        }
    }

    /// Breaks the connection as a network failure would (for tests: the broker publishes
    /// the will, and the client reconnects).
    func simulateConnectionLoss() { engine.simulateConnectionLoss() }

    /// Whether the client is connected right now.
    public var isConnected: Bool { engine.isConnected }

    /// How many times the broker accepted a connection from this client (1 after
    /// ``connect(configuration:)``; each reconnection adds one).
    public var connectionCount: Int { engine.connectionCount }

    // MARK: The library and its guarantee

    /// A libmosquitto version.
    public struct LibraryVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
        /// The major version (2 for 2.0.11).
        public var major: Int
        /// The minor version (0 for 2.0.11).
        public var minor: Int
        /// The revision (11 for 2.0.11).
        public var revision: Int

        /// A version `major.minor.revision`.
        public init(major: Int, minor: Int, revision: Int) {
            self.major = major
            self.minor = minor
            self.revision = revision
        }

        /// Whether `lhs` is an older version than `rhs`.
        public static func < (lhs: Self, rhs: Self) -> Bool {
            (lhs.major, lhs.minor, lhs.revision) < (rhs.major, rhs.minor, rhs.revision)
        }

        /// `major.minor.revision`.
        public var description: String { "\(major).\(minor).\(revision)" }
    }

    /// When a QoS 1/2 message is acknowledged to the broker, relative to the application
    /// seeing it.
    public enum Acknowledgement: Sendable, Hashable {
        /// Acknowledged as soon as it arrives, before any consumer sees it (libmosquitto
        /// before 2.1): settling a delivery cannot make the broker redeliver it.
        case onReceipt
        /// Acknowledged after the library's message callback returns (libmosquitto 2.1 and
        /// later). This binding still hands the message to a queue from that callback, so
        /// for consumers the guarantee is the same as ``onReceipt``.
        case afterCallback
    }

    /// The libmosquitto this process runs with, read at run time (`mosquitto_lib_version`).
    public static var libraryVersion: LibraryVersion { Mosquitto.version }

    /// The acknowledgement order of the running libmosquitto (2.0.11 on Debian 12:
    /// ``Acknowledgement/onReceipt``).
    public static var acknowledgement: Acknowledgement {
        libraryVersion < LibraryVersion(major: 2, minor: 1, revision: 0) ? .onReceipt : .afterCallback
    }
}
