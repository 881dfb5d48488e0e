public import CloudEvents

/// The in-process channel (``InProcessChannel``) as a binding: `memory://name` endpoints,
/// one process-wide channel per name.
///
/// A send returns once a consumer in this process accepted the message
/// (``AcknowledgementGuarantee/consumerSettlement``); its outcome's summary describes the
/// message as it was delivered (content mode, attributes or content type, body), which shows
/// what a binding puts on the wire. Options: `mode=` and `format=`, fixed by the first
/// endpoint that names the channel. Timeout, retries, TLS and logger are not used.
public struct InProcessBinding: EventBinding {
    /// A binding for `memory://` endpoints.
    public init() {}

    /// `in-process`.
    public var name: String { "in-process" }
    /// `memory`.
    public var schemes: [String] { ["memory"] }
    /// The consumer's acceptance or rejection reaches the sender.
    public var acknowledgement: AcknowledgementGuarantee { .consumerSettlement }
    /// `mode` and `format`.
    public var endpointOptions: [EndpointOption] { [.mode, .format] }
    /// `true`: senders and receivers of a channel are in this process.
    public var isInProcess: Bool { true }

    /// Binary, structured and batch: a channel carries any ``Message``.
    public func contentModes(for endpoint: Endpoint) -> [ContentMode] { [.binary, .structured, .batch] }

    /// Runs `body` with a sender on the endpoint's channel.
    ///
    /// - Throws: ``TransportError`` `.invalidEndpoint` for an unknown format or a mode or
    ///   format that contradicts the channel's; what `body` throws.
    public func withSender<Result: Sendable>(
        for endpoint: Endpoint, options: BindingOptions, _ body: (any BoundSender) async throws -> Result
    ) async throws -> Result {
        let channel = try InProcessChannel.channel(for: endpoint, formats: options.formats)
        return try await body(InProcessBoundSender(endpoint: endpoint, channel: channel))
    }

    /// Runs `body` with the deliveries of the endpoint's channel. The channel outlives the
    /// scope (it is process-wide), but its deliveries have one consumer: once an iteration
    /// of them ends, the channel delivers no more (later sends fail with `.closed`). A
    /// delivery left unsettled is released.
    ///
    /// - Throws: ``TransportError`` `.invalidEndpoint` as ``withSender(for:options:_:)``
    ///   does; what `body` throws.
    public func withReceiver<Result: Sendable>(
        for endpoint: Endpoint, options: BindingOptions, _ body: (any BoundReceiver) async throws -> Result
    ) async throws -> Result {
        let channel = try InProcessChannel.channel(for: endpoint, formats: options.formats)
        return try await body(InProcessBoundReceiver(endpoint: endpoint, channel: channel))
    }
}

/// Sends into a named in-process channel and describes what was delivered.
struct InProcessBoundSender: BoundSender {
    let endpoint: Endpoint
    let channel: InProcessChannel

    func send(_ event: CloudEvent) async throws -> SendOutcome {
        let message: Message
        do {
            message = try Message(event, mode: channel.configuration.mode, format: channel.configuration.format)
        } catch {
            throw TransportError(.invalidMessage, "cannot encode event '\(event.id)'", underlying: error)
        }
        return try await send(message)
    }

    func send(_ message: Message) async throws -> SendOutcome {
        try await channel.send(message)
        return SendOutcome(summary: MessageDescription.lines(message, endpoint: endpoint).joined(separator: "\n"))
    }
}

/// The deliveries of a named in-process channel.
struct InProcessBoundReceiver: BoundReceiver {
    let endpoint: Endpoint
    let channel: InProcessChannel

    var readyMessage: String? { nil }

    func deliveries() -> DeliveryStream { channel.deliveries() }
}
