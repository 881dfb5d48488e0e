/// An in-process binding, like sdk-go's `gochan`: a sender and a receiver joined by a
/// bounded queue, with real settlement semantics, for tests and for wiring components of
/// one process together.
///
/// - ``send(_:)-(CloudEvent)`` returns once a consumer **accepted** the event; a
///   rejection throws ``TransportError`` with code `.rejected`, the reason, and the
///   rejection's condition as ``TransportError/condition``.
/// - ``Delivery/release()`` and ``Delivery/modify(deliveryFailed:undeliverableHere:)`` (or
///   dropping a delivery unsettled) deliver the message again, up to
///   ``Configuration/maximumDeliveryAttempts`` times; then `send` throws `.notDelivered`.
///   Each redelivery's ``Delivery/redeliveryCount`` counts the attempts before it.
/// - ``Delivery/settlementOutcome()`` is `.local`: the sender hears of the settlement at once.
/// - A full queue makes `send` wait (back-pressure); nothing is dropped.
///
/// Messages travel in the configured content mode, encoded as a real binding would encode
/// them, so tests exercise the message layer too.
public final class InProcessChannel: CloudEventSender, CloudEventReceiver {
    /// How a channel buffers, encodes and redelivers.
    public struct Configuration: Sendable {
        /// Deliveries buffered before senders wait. Default 64.
        public var capacity: Int = 64
        /// How ``send(_:)-(CloudEvent)`` encodes events. Default binary.
        public var mode: ContentMode = .binary
        /// The format for structured and batch mode. Default JSON.
        public var format: any EventFormat = JSONEventFormat()
        /// How often one message is delivered before the sender gives up. Default 5.
        public var maximumDeliveryAttempts: Int = 5

        /// The defaults: capacity 64, binary mode, JSON, five delivery attempts.
        public init() {}

        /// A configuration taken from an endpoint's `mode` and `format` options.
        public init(endpoint: Endpoint, formats: EventFormatRegistry = .standard) throws(TransportError) {
            if let mode = endpoint.contentMode { self.mode = mode }
            if let name = endpoint.formatName {
                guard let format = formats.format(named: name) else {
                    throw TransportError(.invalidEndpoint, "format '\(name)' is not available for \(endpoint)")
                }
                self.format = format
            }
        }
    }

    /// The configuration the channel was created with.
    public let configuration: Configuration
    /// The formats deliveries decode with: JSON and the configured format.
    private let formats: EventFormatRegistry
    private let stream: DeliveryStream
    private let continuation: DeliveryStream.Continuation

    /// A new, unnamed channel; `configuration` defaults to ``Configuration/init()``.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        formats = EventFormatRegistry.standard.adding(configuration.format)
        (stream, continuation) = DeliveryStream.makeStream(capacity: configuration.capacity)
    }

    /// Runs `body` with a new channel and closes the channel afterwards.
    public static func withChannel<Result>(
        configuration: Configuration = Configuration(),
        _ body: (InProcessChannel) async throws -> Result
    ) async rethrows -> Result {
        let channel = InProcessChannel(configuration: configuration)
        defer { channel.close() }
        return try await body(channel)
    }

    /// Encodes `event` in the configured mode and format, sends it, and waits for a
    /// consumer to accept it.
    public func send(_ event: CloudEvent) async throws {
        let message: Message
        do {
            message = try Message(event, mode: configuration.mode, format: configuration.format)
        } catch {
            throw TransportError(.invalidMessage, "cannot encode event '\(event.id)'", underlying: error)
        }
        try await send(message)
    }

    /// Sends `message` as it is and waits for a consumer to accept it.
    public func send(_ message: Message) async throws {
        for attempt in 0..<max(1, configuration.maximumDeliveryAttempts) {
            let (settlements, settled) = AsyncStream<Settlement>.makeStream(bufferingPolicy: .bufferingNewest(1))
            // Handed over as a temporary: the sender must not keep the delivery alive while
            // it waits, or a consumer dropping it unsettled would never release it.
            try await continuation.send(
                Delivery(message: message, formats: formats, redeliveryCount: attempt) { settlement in
                    settled.yield(settlement)
                    settled.finish()
                })
            var iterator = settlements.makeAsyncIterator()
            guard let settlement = await iterator.next() else { throw CancellationError() }
            switch settlement {
            case .accepted, .acceptedWithReply: return  // the in-process channel has no reply path
            case .rejected(let reason, let condition):
                throw TransportError(.rejected, "the consumer rejected the message: \(reason)", condition: condition)
            case .released, .modified: continue  // modified is released here: the channel counts every attempt
            }
        }
        throw TransportError(
            .notDelivered, "the message was released \(configuration.maximumDeliveryAttempts) times and not delivered")
    }

    /// The deliveries senders hand over. Each must be settled: the sender waits for it.
    public func deliveries() -> DeliveryStream {
        stream
    }

    /// Ends the deliveries; waiting and later sends fail with `.closed`.
    public func close() {
        continuation.finish()
    }

    // MARK: Named channels

    private static let named = Locked<[String: InProcessChannel]>([:])

    /// The process-wide channel for `memory://name` endpoints, created on first use with
    /// the endpoint's `mode` and `format`.
    ///
    /// - Throws: ``TransportError`` (`.invalidEndpoint`) for another scheme, an unknown
    ///   format, or a `mode`/`format` that contradicts the existing channel of that name
    ///   (rather than silently sending in a mode the caller did not ask for).
    public static func channel(for endpoint: Endpoint, formats: EventFormatRegistry = .standard) throws(TransportError)
        -> InProcessChannel
    {
        guard endpoint.scheme == "memory" else {
            throw TransportError(.invalidEndpoint, "\(endpoint) is not a memory:// endpoint")
        }
        let configuration = try Configuration(endpoint: endpoint, formats: formats)
        let (channel, conflict) = named.withLock { channels -> (InProcessChannel, String?) in
            guard let existing = channels[endpoint.host] else {
                let channel = InProcessChannel(configuration: configuration)
                channels[endpoint.host] = channel
                return (channel, nil)
            }
            if let mode = endpoint.contentMode, mode != existing.configuration.mode {
                return (existing, "mode \(existing.configuration.mode)")
            }
            if endpoint.formatName != nil, configuration.format.name != existing.configuration.format.name {
                return (existing, "format \(existing.configuration.format.name)")
            }
            return (existing, nil)
        }
        if let conflict {
            throw TransportError(
                .invalidEndpoint,
                "\(endpoint) contradicts the existing in-process channel '\(endpoint.host)', which uses \(conflict)")
        }
        return channel
    }
}
