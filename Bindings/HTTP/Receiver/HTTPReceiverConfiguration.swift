public import CloudEvents
public import HTTPTypes
public import Logging

/// How an ``HTTPEventReceiver`` listens and answers.
public struct HTTPReceiverConfiguration: Sendable {
    /// The address to bind; `127.0.0.1` by default.
    public var host: String
    /// The port to bind; `0` (the default) picks an ephemeral port, see ``HTTPEventReceiver/port``.
    public var port: Int
    /// The only request path served (e.g. `/events`); `nil` (the default) serves every path.
    /// Other paths get 404.
    public var path: String?
    /// The largest body accepted, in bytes; 1 MiB by default. A larger body gets 413 and
    /// is discarded as it arrives, never buffered.
    public var maximumBodySize: Int
    /// The largest total size of the request head's header fields, in bytes; 16 KiB by
    /// default. Larger gets 431. (The HTTP/1 parser also caps a head at 80 KiB.)
    public var maximumHeaderSize: Int
    /// Formats a structured or batched body may use; JSON by default.
    public var formats: EventFormatRegistry
    /// The status for an accepted delivery: 202 by default (200 and 204 are also usual).
    public var acceptedStatus: HTTPResponse.Status
    /// Deliveries buffered before the receiver stops reading requests; 64 by default.
    public var capacity: Int
    /// Origins the webhook validation handshake allows; `nil` (the default) allows all.
    public var webhookAllowedOrigins: Set<String>?
    /// The `WebHook-Allowed-Rate` answered when the handshake asks for a rate: requests
    /// per minute, or `nil` (the default) for `*` (no limit).
    public var webhookAllowedRate: Int?
    /// Types of extensions that arrive as strings (binary mode); deliveries decode with them.
    public var extensionTypes: ExtensionTypes
    /// HTTPS: ``TLSSettings/certificateChainFile`` and ``TLSSettings/privateKeyFile`` are the
    /// receiver's identity (both required). With ``TLSSettings/trustedCertificatesFile`` set,
    /// clients must present a certificate that authority signed (unless
    /// ``TLSSettings/verifiesPeer`` is off); without it, no client certificate is asked for.
    /// `nil` (the default) serves plain HTTP.
    public var tls: TLSSettings?
    /// Whether an HTTPS receiver offers HTTP/2 (ALPN `h2`, beside `http/1.1`); `true` by
    /// default. Plain HTTP is always HTTP/1.1.
    public var allowsHTTP2: Bool
    /// The most connections served at once; 1024 by default. Further connections wait in
    /// the kernel's accept queue until one closes (an HTTP/2 connection counts once,
    /// whatever its number of streams).
    public var maximumConnections: Int
    /// The `Retry-After` sent with a 503 (a released delivery, or a receiver that is no
    /// longer taking events), rounded up to whole seconds; 1 s by default, `nil` for none.
    public var retryAfterWhenReleased: Duration?
    /// The longest a request head may take to arrive whole: from the connection's start, or
    /// from the first byte of a request that follows another on a kept-alive connection;
    /// 10 s by default. A connection over it is answered 408 (when a request had begun)
    /// and closed, so that clients that connect and stall cannot hold every connection slot.
    public var headerReadTimeout: Duration
    /// The longest a request body may go without progress (no bytes arriving); 30 s by
    /// default. A connection over it is answered 408 and closed.
    public var bodyReadTimeout: Duration
    /// The longest a kept-alive HTTP/1.1 connection may wait for its next request; 60 s by
    /// default. It is then closed, without a response.
    public var keepAliveIdleTimeout: Duration
    /// The longest a delivery may stay unsettled; 60 s by default. The request is then
    /// answered as a released delivery is (503 with `Retry-After`), the connection closes,
    /// and the delivery's later settlement is ignored.
    public var settlementTimeout: Duration
    /// Where the receiver logs: refusals (400, 404, 413, 415, 431) and timeouts at `warning`
    /// with `status`, `reason` and `remote_address`, the connection limit being reached at
    /// `warning`, settlement timeouts at `warning`, idle connections closed at `info`. A
    /// no-op logger by default.
    public var logger: Logger

    /// A configuration with the documented defaults.
    ///
    /// - Parameters: each sets the property of the same name; see the properties for what
    ///   they mean and their defaults.
    public init(
        host: String = "127.0.0.1", port: Int = 0, path: String? = nil, maximumBodySize: Int = 1 << 20,
        maximumHeaderSize: Int = 16 << 10, formats: EventFormatRegistry = .standard,
        acceptedStatus: HTTPResponse.Status = .accepted, capacity: Int = 64,
        webhookAllowedOrigins: Set<String>? = nil, webhookAllowedRate: Int? = nil, extensionTypes: ExtensionTypes = .none,
        tls: TLSSettings? = nil, allowsHTTP2: Bool = true, maximumConnections: Int = 1024,
        retryAfterWhenReleased: Duration? = .seconds(1), headerReadTimeout: Duration = .seconds(10),
        bodyReadTimeout: Duration = .seconds(30), keepAliveIdleTimeout: Duration = .seconds(60),
        settlementTimeout: Duration = .seconds(60),
        logger: Logger = Logger(label: "cloudevents.http", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.host = host
        self.port = port
        self.path = path
        self.maximumBodySize = maximumBodySize
        self.maximumHeaderSize = maximumHeaderSize
        self.formats = formats
        self.acceptedStatus = acceptedStatus
        self.capacity = capacity
        self.webhookAllowedOrigins = webhookAllowedOrigins
        self.webhookAllowedRate = webhookAllowedRate
        self.extensionTypes = extensionTypes
        self.tls = tls
        self.allowsHTTP2 = allowsHTTP2
        self.maximumConnections = maximumConnections
        self.retryAfterWhenReleased = retryAfterWhenReleased
        self.headerReadTimeout = headerReadTimeout
        self.bodyReadTimeout = bodyReadTimeout
        self.keepAliveIdleTimeout = keepAliveIdleTimeout
        self.settlementTimeout = settlementTimeout
        self.logger = logger
    }
}
