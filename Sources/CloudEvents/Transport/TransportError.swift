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
        /// The receiver rejected the event (for good: ``TransportError/isTransient`` is
        /// `false`); ``TransportError/condition`` says why when its protocol carries one.
        public static let rejected = Code(name: "rejected")
        /// The peer gave the message back unprocessed (AMQP `released`): try again.
        public static let released = Code(name: "released")
        /// The peer did not process the message (AMQP `modified`): worth another attempt
        /// unless it said the message is undeliverable there.
        public static let modified = Code(name: "modified")
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
    /// The peer's answer as a protocol status code, when it answered (an HTTP status); `nil`
    /// when it did not answer or its protocol has no status codes.
    public var peerStatus: Int?
    /// How long the peer asked the sender to wait before trying again (HTTP `Retry-After`).
    public var retryAfter: Duration?
    /// The peer's error condition, when its answer carried one (AMQP: a rejection's
    /// `error.condition`, e.g. `amqp:decode-error`).
    public var condition: ErrorCondition?
    /// Whether trying again may succeed: the peer could not be reached or answered in time, or
    /// it answered that it may accept later (HTTP 5xx, 404, 408, 409, 429). A tool that retries
    /// on its own (the bridge) reads this instead of knowing each binding's answers. By default,
    /// `true` for ``Code/connectionFailed``, ``Code/timedOut``, ``Code/released`` and
    /// ``Code/modified`` (a binding sets it to `false` for a `modified` that says
    /// undeliverable-here), and for ``Code/notDelivered`` with a ``peerStatus`` (retries ran
    /// out on an answer worth retrying).
    public var isTransient: Bool
    /// Whether the peer was never reached or never answered (a network error or a timeout), as
    /// opposed to an answer: a tool can wait for an unreachable peer without counting attempts.
    public var isUnreachable: Bool { peerStatus == nil && (code == .connectionFailed || code == .timedOut) }

    /// An error of kind `code`, with `message` saying what failed and the `underlying` cause (none by default).
    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
        self.isTransient = code == .connectionFailed || code == .timedOut || code == .released || code == .modified
    }

    /// An error for a peer's answer that carries an error condition rather than a status
    /// (AMQP: a `rejected` outcome's error), whether it is worth another attempt.
    ///
    /// - Parameters:
    ///   - code: what kind of failure it was (usually ``Code/rejected``).
    ///   - message: what failed, naming the endpoint and the peer's description.
    ///   - condition: the peer's condition, if its answer carried one.
    ///   - isTransient: whether trying again may succeed; `false` by default.
    ///   - underlying: the underlying error, if any.
    public init(
        _ code: Code, _ message: String, condition: ErrorCondition?, isTransient: Bool = false,
        underlying: (any Error)? = nil
    ) {
        self.init(code, message, underlying: underlying)
        self.condition = condition
        self.isTransient = isTransient
    }

    /// An error for a peer's answer: `status` (a protocol status code such as an HTTP status),
    /// whether it is worth another attempt, and the wait the peer asked for.
    ///
    /// - Parameters:
    ///   - code: what kind of failure it was (usually ``Code/rejected`` or ``Code/notDelivered``).
    ///   - message: what failed, naming the endpoint and the answer.
    ///   - peerStatus: the answer's status code.
    ///   - isTransient: whether trying again may succeed.
    ///   - retryAfter: how long the peer asked to wait, if it did.
    ///   - underlying: the underlying error, if any.
    public init(
        _ code: Code, _ message: String, peerStatus: Int, isTransient: Bool, retryAfter: Duration? = nil,
        underlying: (any Error)? = nil
    ) {
        self.init(code, message, underlying: underlying)
        self.peerStatus = peerStatus
        self.isTransient = isTransient
        self.retryAfter = retryAfter
    }

    /// The code, the peer's condition if any, the message, and the underlying error if any,
    /// e.g. `rejected [amqp:decode-error]: the sink rejected the message: not JSON`.
    public var description: String {
        let head = condition.map { "\(code) [\($0)]" } ?? "\(code)"
        if let underlying { return "\(head): \(message) (\(underlying))" }
        return "\(head): \(message)"
    }
}
