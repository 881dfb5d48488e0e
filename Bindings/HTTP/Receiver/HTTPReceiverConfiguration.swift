public import CloudEvents
public import HTTPTypes

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

    /// A configuration with the documented defaults.
    public init(
        host: String = "127.0.0.1", port: Int = 0, path: String? = nil, maximumBodySize: Int = 1 << 20,
        maximumHeaderSize: Int = 16 << 10, formats: EventFormatRegistry = .standard,
        acceptedStatus: HTTPResponse.Status = .accepted, capacity: Int = 64,
        webhookAllowedOrigins: Set<String>? = nil, webhookAllowedRate: Int? = nil, extensionTypes: ExtensionTypes = .none,
        tls: TLSSettings? = nil, allowsHTTP2: Bool = true, maximumConnections: Int = 1024,
        retryAfterWhenReleased: Duration? = .seconds(1)
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
    }
}
