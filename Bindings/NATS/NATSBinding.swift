public import CloudEvents
public import CloudEventsTransports

/// The NATS binding as an ``EventBinding``: `nats://` and `natss://` endpoints (see
/// ``NATSEndpoint``), one ``NATSClient`` per scope, sent with ``NATSEventSender`` and received
/// with ``NATSEventReceiver``.
///
/// Core NATS has no acknowledgements (``AcknowledgementGuarantee/none``): a send returns once
/// the message is written to the connection, a subscriber's settlement is local, and a message
/// published while no subscriber listens, or while a subscriber is away, is gone. The only
/// answer that travels back is a reply (``Settlement/acceptedWithReply(_:)``, published to the
/// request's reply subject). ``BindingOptions/timeout`` is the client's operation timeout
/// (connecting, flushing); ``BindingOptions/retries`` is not used (the client reconnects and
/// holds publishes in its reconnect buffer meanwhile; a publish is never resent).
public struct NATSBinding: EventBinding {
    /// A NATS binding.
    public init() {}

    /// `NATS`.
    public var name: String { "NATS" }
    /// `nats`, `natss`.
    public var schemes: [String] { ["nats", "natss"] }
    /// None: core NATS acknowledges nothing (at most once).
    public var acknowledgement: AcknowledgementGuarantee { .none }

    /// What the guarantee rests on.
    public var acknowledgementDetail: String {
        "\(acknowledgement) (core NATS: a send returns once the message is written to the connection, "
            + "with nothing back from the server or a subscriber; settling a delivery is local and nothing is redelivered; "
            + "a reply (acceptedWithReply) published to the request's reply subject is the only answer)"
    }

    /// `mode`, `format`, `queue`, `servers`.
    public var endpointOptions: [EndpointOption] {
        [
            EndpointOption("mode", help: "the content mode: binary (the default) or structured; NATS has no batch mode"),
            .format,
            EndpointOption(
                "queue", help: "a receiver's queue group: each message goes to one member of the group (receivers only)"),
            EndpointOption(
                "servers", help: "more servers to try after the URL's host, host:port separated by commas (4222 by default)")
        ]
    }

    /// Binary and structured: NATS has no batch mode.
    public func contentModes(for endpoint: Endpoint) -> [ContentMode] { [.binary, .structured] }

    /// The client settings, subject and options for `endpoint`, with `options.tls` for
    /// `natss://`, `options.timeout` as the operation timeout and `options.logger` as the
    /// client's logger.
    ///
    /// - Throws: ``TransportError`` `.invalidEndpoint` for port 0 or what ``NATSEndpoint``
    ///   refuses.
    public func natsEndpoint(_ endpoint: Endpoint, options: BindingOptions) throws(TransportError) -> NATSEndpoint {
        guard endpoint.port != 0 else {
            throw TransportError(
                .invalidEndpoint, "\(endpoint.maskingNATSToken): port 0 is for listeners; give the NATS server's port")
        }
        var nats = try NATSEndpoint(endpoint, tls: options.tls)
        nats.configuration.operationTimeout = options.timeout
        nats.configuration.logger = options.logger
        return nats
    }

    /// Connects, runs `body` with a sender to the endpoint's subject, flushes, and closes.
    ///
    /// Each send's summary is `published to 'subject' (mode mode): no acknowledgement (core NATS)`.
    ///
    /// - Throws: ``TransportError`` as ``natsEndpoint(_:options:)``,
    ///   ``NATSClient/connect(configuration:)`` and ``NATSEventSender/withSender(configuration:subject:mode:format:_:)``
    ///   do; `.invalidEndpoint` for a `queue=` option (a receiver's), a subject with wildcards
    ///   or a format that is not available; what `body` throws.
    public func withSender<Result: Sendable>(
        for endpoint: Endpoint, options: BindingOptions, _ body: (any BoundSender) async throws -> Result
    ) async throws -> Result {
        let nats = try natsEndpoint(endpoint, options: options)
        guard nats.queueGroup == nil else {
            throw TransportError(
                .invalidEndpoint,
                "\(endpoint.maskingNATSToken): queue= is for receivers (a queue group shares a subscription); leave it out")
        }
        do {
            try NATSSubject.validate(nats.subject, allowsWildcards: false)
        } catch {
            throw TransportError(.invalidEndpoint, "\(endpoint.maskingNATSToken): a sender's subject: \(error.message)")
        }
        guard let format = options.formats.format(named: nats.formatName) else {
            let names = options.formats.formats.map(\.name).joined(separator: ", ")
            throw TransportError(
                .invalidEndpoint,
                "\(endpoint.maskingNATSToken): format '\(nats.formatName)' is not available (available: \(names))")
        }
        return try await NATSEventSender.withSender(
            configuration: nats.configuration, subject: nats.subject, mode: nats.mode, format: format
        ) { sender in
            try await body(NATSBoundSender(endpoint: endpoint, sender: sender))
        }
    }

    /// Connects, subscribes to the endpoint's subject (in its queue group), runs `body` with
    /// the subscription, and closes. The ready message is
    /// `subscribed to 'subject' [in queue group 'group'] at endpoint (server name, nats-server version)`:
    /// from then on, published events arrive.
    ///
    /// - Throws: ``TransportError`` as ``natsEndpoint(_:options:)``,
    ///   ``NATSClient/connect(configuration:)`` and
    ///   ``NATSEventReceiver/subscribe(client:subject:queueGroup:capacity:formats:extensionTypes:logger:)``
    ///   do; what `body` throws.
    public func withReceiver<Result: Sendable>(
        for endpoint: Endpoint, options: BindingOptions, _ body: (any BoundReceiver) async throws -> Result
    ) async throws -> Result {
        let nats = try natsEndpoint(endpoint, options: options)
        return try await NATSClient.withClient(configuration: nats.configuration) { client in
            let receiver = try await NATSEventReceiver.subscribe(
                client: client, subject: nats.subject, queueGroup: nats.queueGroup, formats: options.formats,
                logger: options.logger)
            let info = client.serverInfo
            let group = nats.queueGroup.map { " in queue group '\($0)'" } ?? ""
            let ready =
                "subscribed to '\(nats.subject)'\(group) at \(endpoint.maskingNATSToken) (server \(info.serverName ?? info.serverID), nats-server \(info.version))"
            return try await body(NATSBoundReceiver(endpoint: endpoint, readyMessage: ready, receiver: receiver))
        }
    }
}
