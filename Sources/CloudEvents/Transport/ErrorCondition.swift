/// A symbolic error condition: what kind of refusal an answer carries, as a protocol names it
/// (AMQP 1.0: the `condition` symbol of an `error`, e.g. `amqp:decode-error`).
///
/// A consumer chooses one when it rejects a delivery (``Delivery/reject(reason:condition:)``);
/// a sender finds the peer's in ``TransportError/condition``. Bindings without such a field
/// keep only the reason.
public struct ErrorCondition: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
    /// The condition's symbol, e.g. `amqp:decode-error`.
    public var rawValue: String

    /// The condition named `rawValue`.
    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// The condition named `rawValue`, e.g. `ErrorCondition("com.example:out-of-stock")`.
    public init(_ rawValue: String) {
        self.rawValue = rawValue
    }

    /// `amqp:decode-error`: the binding could not read the message as an event.
    public static let invalidMessage = ErrorCondition("amqp:decode-error")
    /// `cloudevents:rejected`: the default for ``Delivery/reject(reason:condition:)``, a
    /// consumer's refusal.
    public static let rejected = ErrorCondition("cloudevents:rejected")

    /// The symbol.
    public var description: String { rawValue }
}
