public import CloudEvents
public import HTTPTypes
public import Logging

/// Where and how an ``HTTPEventSender`` sends.
public struct HTTPSenderConfiguration: Sendable {
    /// The endpoint URL, `http://` or `https://`.
    public var url: String
    /// The request method; POST by default (the webhook spec's).
    public var method: HTTPRequest.Method
    /// The content mode for events; binary by default. Batched mode sends a batch of one
    /// (use it only when the receiver asked for batches).
    public var mode: ContentMode
    /// The format for structured and batched mode; JSON by default.
    public var format: any EventFormat
    /// Formats for decoding an event in a response; JSON by default.
    public var formats: EventFormatRegistry
    /// The time one attempt may take, connecting and the response body included; 30 s by
    /// default.
    public var timeout: Duration
    /// When to try again; see ``HTTPRetryPolicy``.
    public var retry: HTTPRetryPolicy
    /// Header fields added to every request (e.g. `Authorization`).
    public var headerFields: HTTPFields
    /// The largest response body read; 1 MiB by default.
    public var maximumResponseBodySize: Int
    /// TLS for `https://` URLs: trusted CAs, a client certificate; `nil` uses the system's
    /// trust store with full verification.
    public var tls: TLSSettings?
    /// Where the sender logs: each retry at `warning` (`attempt`, `delay_ms`, and `status`
    /// or `error`), a send given up or refused at `error`, with `endpoint` (password
    /// masked). A no-op logger by default.
    public var logger: Logger

    /// A configuration with the documented defaults.
    ///
    /// - Parameters: each sets the property of the same name; see the properties for what
    ///   they mean and their defaults.
    public init(
        url: String, method: HTTPRequest.Method = .post, mode: ContentMode = .binary,
        format: any EventFormat = JSONEventFormat(), formats: EventFormatRegistry = .standard,
        timeout: Duration = .seconds(30), retry: HTTPRetryPolicy = HTTPRetryPolicy(),
        headerFields: HTTPFields = [:], maximumResponseBodySize: Int = 1 << 20, tls: TLSSettings? = nil,
        logger: Logger = Logger(label: "cloudevents.http", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.url = url
        self.method = method
        self.mode = mode
        self.format = format
        self.formats = formats
        self.timeout = timeout
        self.retry = retry
        self.headerFields = headerFields
        self.maximumResponseBodySize = maximumResponseBodySize
        self.tls = tls
        self.logger = logger
    }

    /// ``url`` with any password in it replaced by `***`, for logs and messages.
    var maskedURL: String {
        guard let schemeEnd = url.firstRange(of: "://") else { return url }
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@"),
            let colon = rest[..<at].firstIndex(of: ":")
        else { return url }
        return String(url[..<rest.index(after: colon)]) + "***" + String(url[at...])
    }
}

/// The response to a send: its status, fields and body, and any event it carries.
public struct HTTPEventResponse: Sendable {
    /// The final response's status.
    public var status: HTTPResponse.Status
    /// The final response's header fields.
    public var headerFields: HTTPFields
    /// The final response's body.
    public var body: [UInt8]
    /// How many attempts the send took.
    public var attempts: Int
    /// The event the response carries, decoded with the HTTP mapping; `nil` when it
    /// carries none (no `ce-` headers and no CloudEvents content type) or when it could not
    /// be decoded (see ``eventError``).
    public var event: CloudEvent?
    /// Why the response's event could not be decoded, when the response looks like it
    /// carries one (a `ce-specversion` header or a CloudEvents content type) but is invalid.
    /// The send itself succeeded: the receiver accepted the event (a 2xx), so this is not
    /// thrown, which would invite a retry and a duplicate.
    public var eventError: MessageError?
    /// The HTTP version the response came with, such as `HTTP/1.1` or `HTTP/2.0`.
    public var version: String

    /// Creates a response value.
    ///
    /// - Parameters: each sets the property of the same name.
    public init(
        status: HTTPResponse.Status, headerFields: HTTPFields, body: [UInt8], attempts: Int, event: CloudEvent?,
        eventError: MessageError? = nil, version: String = "HTTP/1.1"
    ) {
        self.status = status
        self.headerFields = headerFields
        self.body = body
        self.attempts = attempts
        self.event = event
        self.eventError = eventError
        self.version = version
    }
}

/// The status and body of a response that made a send fail: the ``TransportError``'s
/// `underlying` error.
public struct HTTPStatusError: Error, Sendable, CustomStringConvertible {
    /// The response's status.
    public var status: HTTPResponse.Status
    /// The response's header fields.
    public var headerFields: HTTPFields
    /// The response's body.
    public var body: [UInt8]

    /// Creates the error for a response.
    ///
    /// - Parameters:
    ///   - status: the response's status.
    ///   - headerFields: the response's header fields.
    ///   - body: the response's body.
    public init(status: HTTPResponse.Status, headerFields: HTTPFields, body: [UInt8]) {
        self.status = status
        self.headerFields = headerFields
        self.body = body
    }

    /// The status and the body as text (up to 200 bytes).
    public var description: String {
        let text = String(decoding: body.prefix(200), as: UTF8.self)
        return text.isEmpty ? "\(status)" : "\(status): \(text)"
    }
}
