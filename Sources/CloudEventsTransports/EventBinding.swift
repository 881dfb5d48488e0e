public import CloudEvents

/// One protocol binding as a tool sees it: the URL schemes it serves, the guarantee its
/// acknowledgements give, the endpoint options it reads, and scoped senders and receivers
/// for an ``Endpoint``.
///
/// Each binding implements it in its own target (`HTTPBinding`, `MQTTBinding`,
/// ``InProcessBinding``), and a tool lists the bindings it links once, in a
/// ``BindingRegistry``. Nothing outside a binding switches on a URL scheme.
public protocol EventBinding: Sendable {
    /// The binding's name, such as `HTTP` or `MQTT`.
    var name: String { get }

    /// The URL schemes it serves, lowercased (`http`, `https`).
    var schemes: [String] { get }

    /// How far a consumer's settlement travels back to a sender over this binding.
    var acknowledgement: AcknowledgementGuarantee { get }

    /// ``acknowledgement`` in a sentence with what it rests on, as read at run time (MQTT:
    /// the libmosquitto version and when it acknowledges), for a tool to log at start-up.
    var acknowledgementDetail: String { get }

    /// The query options its endpoints may carry, with one line of help each.
    var endpointOptions: [EndpointOption] { get }

    /// Whether query options not in ``endpointOptions`` are allowed (HTTP: they stay in the
    /// request URL for the server). When `false` (the default), ``BindingRegistry`` refuses
    /// them, naming the known ones.
    var allowsOtherOptions: Bool { get }

    /// Whether senders and receivers meet in this process only (the in-process channel): a
    /// tool that listens then has to send itself, and one that sends has to receive.
    var isInProcess: Bool { get }

    /// The content modes messages to and from `endpoint` can use, binary first (MQTT 3.1.1:
    /// structured only; HTTP and the in-process channel: batch too). A tool (the conformance
    /// runner, `ce`'s help) asks the binding rather than switching on a scheme.
    ///
    /// - Parameter endpoint: an endpoint of one of ``schemes``; its options (such as MQTT's
    ///   `version=`) may narrow the modes.
    /// - Returns: the modes, each once.
    func contentModes(for endpoint: Endpoint) -> [ContentMode]

    /// The names of the event formats structured and batched messages to `endpoint` can use
    /// (MQTT 3.1.1: `json` only), or `nil` when every format in
    /// ``BindingOptions/formats`` can travel.
    ///
    /// - Parameter endpoint: an endpoint of one of ``schemes``.
    func formatNames(for endpoint: Endpoint) -> [String]?

    /// Opens a sender for `endpoint`, runs `body` with it, and closes everything the sender
    /// opened, whether `body` returns or throws.
    ///
    /// - Parameters:
    ///   - endpoint: where to send; one of ``schemes``.
    ///   - options: formats, TLS, timeout, retries and logger.
    ///   - body: what to do with the sender.
    /// - Throws: ``TransportError`` `.invalidEndpoint` for an endpoint or options the binding
    ///   cannot use; its transport errors when the sender cannot be opened; what `body` throws.
    func withSender<Result: Sendable>(
        for endpoint: Endpoint, options: BindingOptions, _ body: (any BoundSender) async throws -> Result
    ) async throws -> Result

    /// Opens a receiver for `endpoint` (binds a server and serves it, or connects and
    /// subscribes), runs `body` with it, and closes everything it opened, whether `body`
    /// returns or throws. A server lets the responses of settled deliveries go out before
    /// it closes.
    ///
    /// - Parameters:
    ///   - endpoint: where to receive; one of ``schemes``.
    ///   - options: formats, TLS, timeout and logger.
    ///   - body: what to do with the receiver; its deliveries arrive while it runs.
    /// - Throws: ``TransportError`` `.invalidEndpoint` for an endpoint or options the binding
    ///   cannot use; its transport errors when the receiver cannot be opened; what `body` throws.
    func withReceiver<Result: Sendable>(
        for endpoint: Endpoint, options: BindingOptions, _ body: (any BoundReceiver) async throws -> Result
    ) async throws -> Result
}

extension EventBinding {
    /// ``acknowledgement``'s description.
    public var acknowledgementDetail: String { acknowledgement.description }

    /// `false`: only ``endpointOptions`` are allowed.
    public var allowsOtherOptions: Bool { false }

    /// `false`: senders and receivers meet over the network.
    public var isInProcess: Bool { false }

    /// Binary and structured, the two modes every CloudEvents protocol binding defines.
    public func contentModes(for endpoint: Endpoint) -> [ContentMode] { [.binary, .structured] }

    /// `nil`: every registered format.
    public func formatNames(for endpoint: Endpoint) -> [String]? { nil }
}
