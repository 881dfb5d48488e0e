/// MQTT's three delivery guarantees.
public enum MQTTQoS: Int, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// QoS 0: sent once, no acknowledgement.
    case atMostOnce = 0
    /// QoS 1: acknowledged by PUBACK; may arrive more than once.
    case atLeastOnce = 1
    /// QoS 2: the four-packet handshake; arrives once.
    case exactlyOnce = 2

    /// `QoS 0`, `QoS 1` or `QoS 2`.
    public var description: String { "QoS \(rawValue)" }
}
