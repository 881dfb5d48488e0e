/// An error from a transport: what went wrong, in which operation, and the cause.
public struct TransportError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure it was; compare it with the static codes.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        let name: String
        /// The code's name, e.g. `connection failed`.
        public var description: String { name }

        /// The endpoint or configuration is invalid.
        public static let invalidEndpoint = Code(name: "invalid endpoint")
        /// No connection could be made, or it was lost.
        public static let connectionFailed = Code(name: "connection failed")
        /// Authentication or authorisation was refused.
        public static let notAuthorized = Code(name: "not authorized")
        /// The operation did not finish in time.
        public static let timedOut = Code(name: "timed out")
        /// The transport or stream is closed.
        public static let closed = Code(name: "closed")
        /// The receiver rejected the event.
        public static let rejected = Code(name: "rejected")
        /// The event was released more times than allowed and never delivered.
        public static let notDelivered = Code(name: "not delivered")
        /// The message could not be written or read.
        public static let invalidMessage = Code(name: "invalid message")
        /// The peer answered with an error.
        public static let protocolError = Code(name: "protocol error")
    }

    /// What kind of failure it was.
    public var code: Code
    /// A sentence saying what failed, naming the endpoint or operation.
    public var message: String
    /// The underlying error, if any.
    public var underlying: (any Error)?

    /// An error of kind `code`, with `message` saying what failed and the `underlying` cause (none by default).
    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    /// The code, the message, and the underlying error if any.
    public var description: String {
        if let underlying { return "\(code): \(message) (\(underlying))" }
        return "\(code): \(message)"
    }
}
