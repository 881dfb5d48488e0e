public import CloudEvents
public import CloudEventsTransports
import HTTPTypes

/// The HTTP binding as an ``EventBinding``: `http://` and `https://` endpoints (see
/// ``HTTPEndpoint``), sent with ``HTTPEventSender`` and received with an
/// ``HTTPEventReceiver`` that the receiver scope serves.
///
/// The consumer's settlement is the response status
/// (``AcknowledgementGuarantee/consumerSettlement``). Sends retry
/// ``BindingOptions/retries`` times after a network error, 5xx, 404, 408, 409 or 429.
public struct HTTPBinding: EventBinding {
    /// How long a receiver scope lets requests in progress finish when it ends.
    public var drainTimeout: Duration

    /// An HTTP binding.
    ///
    /// - Parameter drainTimeout: how long a receiver scope lets requests in progress (the
    ///   responses of settled deliveries) finish when it ends; 5 s by default.
    public init(drainTimeout: Duration = .seconds(5)) {
        self.drainTimeout = drainTimeout
    }

    /// `HTTP`.
    public var name: String { "HTTP" }
    /// `http`, `https`.
    public var schemes: [String] { ["http", "https"] }
    /// The response status carries the consumer's settlement.
    public var acknowledgement: AcknowledgementGuarantee { .consumerSettlement }
    /// `mode` and `format`.
    public var endpointOptions: [EndpointOption] { [.mode, .format] }
    /// `true`: other query options stay in the request URL.
    public var allowsOtherOptions: Bool { true }

    /// Binary, structured and batch: the HTTP binding defines all three.
    public func contentModes(for endpoint: Endpoint) -> [ContentMode] { [.binary, .structured, .batch] }

    /// Runs `body` with a sender to `endpoint`: `options.timeout` per attempt,
    /// `options.retries` retries, `options.tls` for `https://`.
    ///
    /// Each send's summary is the response status line (`202 Accepted`); its reply the event
    /// the response carries, if any.
    ///
    /// - Throws: ``TransportError`` as ``HTTPEndpoint/senderConfiguration(formats:tls:)`` and
    ///   ``HTTPEventSender/init(configuration:)`` do; what `body` throws.
    public func withSender<Result: Sendable>(
        for endpoint: Endpoint, options: BindingOptions, _ body: (any BoundSender) async throws -> Result
    ) async throws -> Result {
        var configuration = try HTTPEndpoint(endpoint).senderConfiguration(formats: options.formats, tls: options.tls)
        configuration.timeout = options.timeout
        configuration.retry = HTTPRetryPolicy(maximumAttempts: options.retries + 1)
        configuration.logger = options.logger
        return try await HTTPEventSender.withSender(configuration: configuration) { sender in
            try await body(HTTPBoundSender(endpoint: endpoint, sender: sender, formats: options.formats))
        }
    }

    /// Binds a receiver for `endpoint`, serves it while `body` runs, then stops accepting and
    /// lets requests in progress finish (up to ``drainTimeout``). The bound receiver's
    /// endpoint has the port bound; its ready message is `listening on URL` when the
    /// endpoint asked for port 0.
    ///
    /// - Throws: ``TransportError`` as ``HTTPEndpoint/receiverConfiguration(formats:tls:)``
    ///   and ``HTTPEventReceiver/bind(configuration:)`` do; what `body` or the
    ///   server throws.
    public func withReceiver<Result: Sendable>(
        for endpoint: Endpoint, options: BindingOptions, _ body: (any BoundReceiver) async throws -> Result
    ) async throws -> Result {
        var configuration = try HTTPEndpoint(endpoint).receiverConfiguration(formats: options.formats, tls: options.tls)
        configuration.logger = options.logger
        let receiver = try await HTTPEventReceiver.bind(configuration: configuration)
        let bound = HTTPBoundReceiver(endpoint: endpoint, receiver: receiver)
        let drainTimeout = drainTimeout
        return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
            group.addTask { try await receiver.run() }
            let result: Result
            do {
                result = try await body(bound)
            } catch {
                group.cancelAll()
                throw error
            }
            // Let the responses of settled deliveries go out, within a bound.
            receiver.shutdown()
            group.addTask { try? await Task.sleep(for: drainTimeout) }
            try await group.next()
            group.cancelAll()
            try await group.waitForAll()
            return result
        }
    }
}

/// Sends with an ``HTTPEventSender`` and reports the response.
struct HTTPBoundSender: BoundSender {
    let endpoint: Endpoint
    let sender: HTTPEventSender
    let formats: EventFormatRegistry

    func send(_ event: CloudEvent) async throws -> SendOutcome {
        outcome(try await sender.exchange(event))
    }

    func send(_ message: Message) async throws -> SendOutcome {
        outcome(try await sender.exchange(message))
    }

    /// The status as `code reason` (the code alone without a reason phrase), and the
    /// response's event as the reply.
    private func outcome(_ response: HTTPEventResponse) -> SendOutcome {
        var status = String(describing: response.status)
        if status.hasSuffix(" ") { status.removeLast() }
        var reply: Message?
        if response.event != nil {
            reply = try? HTTPMessageReader(headerFields: response.headerFields, body: response.body, formats: formats)
                .message()
        }
        return SendOutcome(summary: status, reply: reply)
    }
}

/// A bound ``HTTPEventReceiver``.
struct HTTPBoundReceiver: BoundReceiver {
    let endpoint: Endpoint
    let receiver: HTTPEventReceiver
    let readyMessage: String?

    init(endpoint: Endpoint, receiver: HTTPEventReceiver) {
        self.endpoint = endpoint.port == receiver.port ? endpoint : endpoint.withPort(receiver.port)
        self.receiver = receiver
        readyMessage = endpoint.port == 0 ? "listening on \(self.endpoint)" : nil
    }

    func deliveries() -> DeliveryStream { receiver.deliveries() }
}
