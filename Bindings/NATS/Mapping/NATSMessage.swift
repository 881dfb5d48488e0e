/// A NATS message as the binding sends and receives it: a `PUB`/`MSG` without headers, or
/// an `HPUB`/`HMSG` with them (NATS 2.2+).
public struct NATSMessage: Sendable, Hashable {
    /// The subject it was published to.
    public var subject: String
    /// The subject a reply goes to (request-reply), if any.
    public var replyTo: String?
    /// The headers, or `nil` for a message without any (`PUB`/`MSG`; servers before 2.2
    /// have no headers, and a CloudEvent then travels structured, in JSON).
    public var headers: NATSHeaders?
    /// The payload.
    public var payload: [UInt8]

    /// A message.
    ///
    /// - Parameters:
    ///   - subject: the subject.
    ///   - replyTo: the reply subject, if any.
    ///   - headers: the headers, or `nil` for none.
    ///   - payload: the payload.
    public init(subject: String, replyTo: String? = nil, headers: NATSHeaders? = nil, payload: [UInt8] = []) {
        self.subject = subject
        self.replyTo = replyTo
        self.headers = headers
        self.payload = payload
    }
}
