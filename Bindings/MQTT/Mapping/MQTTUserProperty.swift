/// One MQTT 5 User Property: a UTF-8 name and value.
public struct MQTTUserProperty: Sendable, Hashable {
    /// The property's name (names may repeat within a packet).
    public var name: String
    /// The property's value.
    public var value: String

    /// A User Property `name`: `value`.
    ///
    /// - Parameters:
    ///   - name: the name.
    ///   - value: the value.
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}
