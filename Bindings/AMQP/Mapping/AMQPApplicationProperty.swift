/// One entry of an AMQP message's `application-properties` map: a string key and a simple
/// value. AMQP map keys are case-sensitive.
public struct AMQPApplicationProperty: Sendable, Hashable {
    /// The key.
    public var name: String
    /// The value, typed as it travels.
    public var value: AMQPValue

    /// The property `name` = `value`.
    ///
    /// - Parameters:
    ///   - name: the key (case-sensitive).
    ///   - value: the typed value.
    public init(_ name: String, _ value: AMQPValue) {
        self.name = name
        self.value = value
    }
}
