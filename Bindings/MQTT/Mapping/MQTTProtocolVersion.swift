/// The MQTT protocol version a client speaks.
public enum MQTTProtocolVersion: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// MQTT 5.0: binary and structured mode.
    case v5 = "5"
    /// MQTT 3.1.1: no properties, so structured JSON only.
    case v311 = "3.1.1"

    /// `5` or `3.1.1`.
    public var description: String { rawValue }
}
