public import CloudEvents

/// What one send through a ``BoundSender`` came to, once the binding's acknowledgement arrived.
public struct SendOutcome: Sendable {
    /// What happened, written by the binding for a person to read (HTTP: the response
    /// status line, `202 Accepted`; MQTT: `published to 'topic' (QoS 1, binary mode):
    /// acknowledged`; in-process: the message as it was delivered, over several lines).
    public var summary: String
    /// The message the peer answered with, where the protocol has replies (an HTTP
    /// response carrying an event); `nil` otherwise.
    public var reply: Message?

    /// Creates an outcome.
    ///
    /// - Parameters:
    ///   - summary: what happened, for a person to read.
    ///   - reply: the message the peer answered with, if any.
    public init(summary: String, reply: Message? = nil) {
        self.summary = summary
        self.reply = reply
    }
}
