internal import CloudEvents
internal import HTTPTypes
internal import Logging
internal import NIOCore
import Synchronization

/// What every connection of one receiver shares: how to answer, where deliveries go, the
/// limits and timeouts, the logger, and the connections (so that cancelling the receiver
/// can answer the requests waiting for their settlement 503 at once, and so that
/// connections waiting for room in a full delivery stream are woken when there is some).
final class ReceiverCore: Sendable {
    let responder: ReceiverResponder
    let continuation: DeliveryStream.Continuation
    let logger: Logger
    /// From the configuration, read per request (without copying the whole configuration).
    let maximumBodySize: Int
    let maximumHeaderSize: Int
    let formats: EventFormatRegistry
    let extensionTypes: ExtensionTypes
    /// The timeouts, as the event loop counts time.
    let headerReadTimeout: TimeAmount
    let bodyReadTimeout: TimeAmount
    let keepAliveIdleTimeout: TimeAmount
    let settlementTimeout: TimeAmount
    /// Once set, new requests get 503 instead of reaching the consumer.
    private let aborting = Atomic<Bool>(false)
    private let connections = Locked(Connections())

    /// What the core asks of a registered connection, on its event loop.
    enum Notice: Sendable {
        /// Answer the request waiting for its settlement 503 (the receiver was cancelled).
        case abort
        /// The delivery stream has room again: try the delivery that waits for it.
        case room
    }

    private struct Connections {
        var nextID: UInt64 = 0
        /// Per connection (or HTTP/2 stream): tells it a ``Notice``.
        var notify: [UInt64: @Sendable (Notice) -> Void] = [:]
        /// Connections with a delivery waiting for room in the stream.
        var waitingForRoom: [UInt64] = []
    }

    init(responder: ReceiverResponder, continuation: DeliveryStream.Continuation) {
        let configuration = responder.configuration
        self.responder = responder
        self.continuation = continuation
        logger = configuration.logger
        maximumBodySize = configuration.maximumBodySize
        maximumHeaderSize = configuration.maximumHeaderSize
        formats = configuration.formats
        extensionTypes = configuration.extensionTypes
        headerReadTimeout = Self.timeAmount(configuration.headerReadTimeout)
        bodyReadTimeout = Self.timeAmount(configuration.bodyReadTimeout)
        keepAliveIdleTimeout = Self.timeAmount(configuration.keepAliveIdleTimeout)
        settlementTimeout = Self.timeAmount(configuration.settlementTimeout)
    }

    private static func timeAmount(_ duration: Duration) -> TimeAmount {
        .nanoseconds(Swift.max(0, duration.nanoseconds))
    }

    var isAborting: Bool { aborting.load(ordering: .relaxed) }

    /// Registers a connection, which `notify` tells of a ``Notice``.
    /// (Per connection rather than per request: registering costs a lock and an allocation.)
    func register(notify: @escaping @Sendable (Notice) -> Void) -> UInt64 {
        connections.withLock { connections in
            connections.nextID += 1
            connections.notify[connections.nextID] = notify
            return connections.nextID
        }
    }

    func unregister(_ id: UInt64) {
        connections.withLock { _ = $0.notify.removeValue(forKey: id) }
    }

    /// Answers every waiting request 503 and refuses new ones.
    func abort() {
        aborting.store(true, ordering: .relaxed)
        let notify = connections.withLock { connections in
            defer { connections.notify = [:] }
            return Array(connections.notify.values)
        }
        for notify in notify { notify(.abort) }
    }

    /// Offers `delivery` to the stream, which is full: connection `id` is told ``Notice/room``
    /// when the consumer has made room (or stopped), and tries again then. Registered before
    /// the offer, so that room made in between is not missed.
    func offerWaitingForRoom(_ delivery: Delivery, connection id: UInt64) -> DeliveryStream.TrySendResult {
        connections.withLock { $0.waitingForRoom.append(id) }
        return continuation.trySend(delivery) { [weak self] in self?.roomAvailable() }
    }

    /// The stream has room again: every connection waiting for it tries again (those that
    /// find it full again wait again).
    private func roomAvailable() {
        let notify = connections.withLock { connections in
            defer { connections.waitingForRoom = [] }
            return connections.waitingForRoom.compactMap { connections.notify[$0] }
        }
        for notify in notify { notify(.room) }
    }
}
