public import CloudEvents
public import CloudEventsTransports

/// The MQTT binding as an ``EventBinding``: `mqtt://` and `mqtts://` endpoints (see
/// ``MQTTEndpoint``), one ``MQTTClient`` per scope, sent with ``MQTTEventSender`` and
/// received with ``MQTTEventReceiver``.
///
/// With libmosquitto 2.0 the client acknowledges a message before any consumer sees it
/// (``AcknowledgementGuarantee/brokerBeforeConsumer``, see ``MQTTClient/acknowledgement``):
/// settling a delivery is local. ``BindingOptions/timeout`` is the client's operation
/// timeout; ``BindingOptions/retries`` is not used (libmosquitto resends an unacknowledged
/// QoS 1/2 message itself).
public struct MQTTBinding: EventBinding {
    /// Whether an endpoint without `clientid=` connects with a fresh client id
    /// (`ce-<random number>`) and a clean session (the default): two processes on one host, which would share
    /// ``MQTTClientConfiguration/defaultClientID()``, must not take over each other's
    /// session. With `clientid=` the session persists unless `cleanstart=true`.
    public var freshSessionWithoutClientID: Bool

    /// An MQTT binding.
    ///
    /// - Parameter freshSessionWithoutClientID: see ``freshSessionWithoutClientID``; `true`
    ///   by default.
    public init(freshSessionWithoutClientID: Bool = true) {
        self.freshSessionWithoutClientID = freshSessionWithoutClientID
    }

    /// `MQTT`.
    public var name: String { "MQTT" }
    /// `mqtt`, `mqtts`.
    public var schemes: [String] { ["mqtt", "mqtts"] }
    /// The broker acknowledges before the consumer sees the message: libmosquitto acknowledges
    /// a QoS 1/2 message on receipt, before its message callback (2.0), or after the callback
    /// that hands it to the receiver's queue (2.1 and later): either way before a consumer
    /// settles it.
    public var acknowledgement: AcknowledgementGuarantee { .brokerBeforeConsumer }

    /// The running libmosquitto's version and when it acknowledges, read at run time.
    public var acknowledgementDetail: String {
        let version = MQTTClient.libraryVersion
        let order =
            switch MQTTClient.acknowledgement {
            case .onReceipt: "sends the QoS 1/2 acknowledgement on receipt, before its message callback runs"
            case .afterCallback: "sends the QoS 1/2 acknowledgement after its message callback returns"
            }
        return "\(acknowledgement) (libmosquitto \(version.major).\(version.minor).\(version.revision) \(order))"
    }
    /// `version`, `qos`, `mode`, `format`, `retain`, `clientid`, `cleanstart`.
    public var endpointOptions: [EndpointOption] {
        [
            EndpointOption("version", help: "the MQTT version: 5 (the default) or 3.1.1 (structured JSON only)"),
            EndpointOption("qos", help: "the QoS to publish or subscribe with: 0, 1 (the default) or 2"),
            .mode, .format,
            EndpointOption("retain", help: "publish with the retain flag: true or false (the default)"),
            EndpointOption("clientid", help: "the client id; its session persists unless cleanstart=true"),
            EndpointOption("cleanstart", help: "start with a clean session: true or false")
        ]
    }

    /// Binary and structured for MQTT 5; structured only for `version=3.1.1`, which has no
    /// properties to carry attributes in. MQTT has no batch mode.
    public func contentModes(for endpoint: Endpoint) -> [ContentMode] {
        Self.isVersion311(endpoint) ? [.structured] : [.binary, .structured]
    }

    /// `["json"]` for `version=3.1.1` (its only format); `nil` (every format) for MQTT 5.
    public func formatNames(for endpoint: Endpoint) -> [String]? {
        Self.isVersion311(endpoint) ? ["json"] : nil
    }

    /// Whether `endpoint` asks for MQTT 3.1.1, spelled as ``MQTTEndpoint`` accepts it.
    private static func isVersion311(_ endpoint: Endpoint) -> Bool {
        var endpoint = endpoint
        endpoint.options = endpoint.options.filter { $0.name == "version" }
        if endpoint.path.isEmpty { endpoint.path = "t" }
        return (try? MQTTEndpoint(endpoint))?.configuration.protocolVersion == .v311
    }

    /// The client settings, topic and options for `endpoint`, with this binding's session
    /// rule, `options.tls` for `mqtts://`, `options.timeout` as the operation timeout and
    /// `options.logger` as the client's logger.
    ///
    /// - Throws: ``TransportError`` `.invalidEndpoint` for port 0 or what ``MQTTEndpoint``
    ///   refuses.
    public func mqttEndpoint(_ endpoint: Endpoint, options: BindingOptions) throws(TransportError) -> MQTTEndpoint {
        guard endpoint.port != 0 else {
            throw TransportError(.invalidEndpoint, "\(endpoint): port 0 is for listeners; give the broker's port")
        }
        var mqtt = try MQTTEndpoint(endpoint, tls: options.tls)
        if freshSessionWithoutClientID, endpoint.option("clientid") == nil {
            mqtt.configuration.clientID = "ce-\(UInt64.random(in: 0...UInt64.max))"
            mqtt.configuration.cleanStart = true
        }
        mqtt.configuration.operationTimeout = options.timeout
        mqtt.configuration.logger = options.logger
        return mqtt
    }

    /// Connects, runs `body` with a sender to the endpoint's topic, and disconnects.
    ///
    /// Each send's summary is `published to 'topic' (QoS n, mode mode): acknowledged`.
    ///
    /// - Throws: ``TransportError`` as ``mqttEndpoint(_:options:)``, ``MQTTClient/connect(configuration:)``
    ///   and ``MQTTEventSender/init(client:topic:qos:retain:mode:format:)`` do; what `body` throws.
    public func withSender<Result: Sendable>(
        for endpoint: Endpoint, options: BindingOptions, _ body: (any BoundSender) async throws -> Result
    ) async throws -> Result {
        let mqtt = try mqttEndpoint(endpoint, options: options)
        guard let format = options.formats.format(named: mqtt.formatName) else {
            throw TransportError(.invalidEndpoint, "\(endpoint): format '\(mqtt.formatName)' is not available")
        }
        return try await MQTTClient.withClient(configuration: mqtt.configuration) { client in
            let sender = try MQTTEventSender(
                client: client, topic: mqtt.topic, qos: mqtt.qos, retain: mqtt.retain, mode: mqtt.mode, format: format)
            return try await body(MQTTBoundSender(endpoint: endpoint, sender: sender))
        }
    }

    /// Connects, subscribes to the endpoint's filter, runs `body` with the subscription,
    /// and disconnects. The ready message is `subscribed to 'filter' at endpoint`: from then
    /// on, published events arrive.
    ///
    /// - Throws: ``TransportError`` as ``mqttEndpoint(_:options:)``, ``MQTTClient/connect(configuration:)``
    ///   and ``MQTTEventReceiver/subscribe(client:filter:qos:formats:extensionTypes:)`` do; what
    ///   `body` throws.
    public func withReceiver<Result: Sendable>(
        for endpoint: Endpoint, options: BindingOptions, _ body: (any BoundReceiver) async throws -> Result
    ) async throws -> Result {
        let mqtt = try mqttEndpoint(endpoint, options: options)
        return try await MQTTClient.withClient(configuration: mqtt.configuration) { client in
            let receiver = try await MQTTEventReceiver.subscribe(
                client: client, filter: mqtt.topic, qos: mqtt.qos, formats: options.formats)
            return try await body(MQTTBoundReceiver(endpoint: endpoint, receiver: receiver))
        }
    }
}

/// Publishes with an ``MQTTEventSender`` and reports the acknowledgement.
struct MQTTBoundSender: BoundSender {
    let endpoint: Endpoint
    let sender: MQTTEventSender

    func send(_ event: CloudEvent) async throws -> SendOutcome {
        try await sender.send(event)
        return outcome
    }

    func send(_ message: Message) async throws -> SendOutcome {
        try await sender.send(message)
        return outcome
    }

    private var outcome: SendOutcome {
        SendOutcome(summary: "published to '\(sender.topic)' (\(sender.qos), \(sender.mode) mode): acknowledged")
    }
}

/// One subscription's deliveries.
struct MQTTBoundReceiver: BoundReceiver {
    let endpoint: Endpoint
    let receiver: MQTTEventReceiver

    var readyMessage: String? { "subscribed to '\(receiver.filter)' at \(endpoint)" }

    func deliveries() -> DeliveryStream { receiver.deliveries() }
}
