/// An MQTT PUBLISH as this binding sends and receives it: the topic, the payload, the
/// delivery flags, and the MQTT 5 properties the CloudEvents binding uses.
public struct MQTTMessage: Sendable, Hashable {
    /// The topic name (never a filter).
    public var topic: String
    /// The application payload.
    public var payload: [UInt8]
    /// The quality of service it was published or received with.
    public var qos: MQTTQoS
    /// The retain flag.
    public var retain: Bool
    /// The MQTT 5 Content Type property; always `nil` in MQTT 3.1.1, which has no properties.
    public var contentType: String?
    /// The MQTT 5 User Properties, in order. Names may repeat, as MQTT 5 allows.
    public var userProperties: [MQTTUserProperty]

    /// A PUBLISH to `topic`.
    ///
    /// - Parameters:
    ///   - topic: the topic name (no wildcards).
    ///   - payload: the application payload.
    ///   - qos: the quality of service (QoS 1 by default).
    ///   - retain: the retain flag.
    ///   - contentType: the MQTT 5 Content Type property.
    ///   - userProperties: the MQTT 5 User Properties, in order.
    public init(
        topic: String, payload: [UInt8] = [], qos: MQTTQoS = .atLeastOnce, retain: Bool = false,
        contentType: String? = nil, userProperties: [MQTTUserProperty] = []
    ) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.contentType = contentType
        self.userProperties = userProperties
    }
}
