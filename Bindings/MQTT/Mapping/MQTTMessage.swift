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

/// One MQTT 5 User Property: a UTF-8 name and value.
public struct MQTTUserProperty: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// MQTT's three delivery guarantees.
public enum MQTTQoS: Int, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// QoS 0: sent once, no acknowledgement.
    case atMostOnce = 0
    /// QoS 1: acknowledged by PUBACK; may arrive more than once.
    case atLeastOnce = 1
    /// QoS 2: the four-packet handshake; arrives once.
    case exactlyOnce = 2

    public var description: String { "QoS \(rawValue)" }
}

/// The MQTT protocol version a client speaks.
public enum MQTTProtocolVersion: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// MQTT 5.0: binary and structured mode.
    case v5 = "5"
    /// MQTT 3.1.1: no properties, so structured JSON only.
    case v311 = "3.1.1"

    public var description: String { rawValue }
}
