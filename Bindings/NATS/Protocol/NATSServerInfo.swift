/// The server's `INFO`: who it is, what it supports, its limits and the other servers of its
/// cluster.
///
/// Decoded from the JSON the server sends (keys in snake_case). Unknown keys are ignored and
/// missing keys take defaults, so that a server older or newer than this binding still
/// connects: `headers` is `false` when absent (a server before 2.2), `max_payload` 1 MiB (the
/// server's own default), `connect_urls` empty.
public struct NATSServerInfo: Sendable, Hashable, Decodable {
    /// `server_id`: the server's unique id.
    public var serverID: String
    /// `server_name`, if it has one.
    public var serverName: String?
    /// `version`: the server's version, e.g. `2.9.25`.
    public var version: String
    /// `proto`: the protocol version (1 supports dynamic reconfiguration of cluster topology).
    public var proto: Int
    /// `host`: the host the server listens on.
    public var host: String
    /// `port`: the port the server listens on.
    public var port: Int
    /// `headers`: whether it supports `HPUB`/`HMSG` (`false` when absent).
    public var headers: Bool
    /// `max_payload`: the largest payload (headers included) it accepts, in bytes (1 MiB
    /// when absent).
    public var maxPayload: Int
    /// `auth_required`: whether `CONNECT` must carry credentials.
    public var authRequired: Bool
    /// `tls_required`: whether the client must upgrade to TLS before `CONNECT`.
    public var tlsRequired: Bool
    /// `tls_available`: whether the server offers TLS without requiring it.
    public var tlsAvailable: Bool
    /// `connect_urls`: the cluster's other servers the client may reconnect to, each
    /// `host:port` (empty when absent).
    public var connectURLs: [String]
    /// `ldm`: the server is in lame-duck mode and will close its connections soon.
    public var lameDuckMode: Bool
    /// `client_id`: the id the server gave this connection.
    public var clientID: UInt64?
    /// `nonce`: the challenge for NKey authentication, if any.
    public var nonce: String?

    /// An `INFO` with the given values (what a test server sends).
    ///
    /// - Parameters:
    ///   - serverID: `server_id`.
    ///   - serverName: `server_name`.
    ///   - version: `version`.
    ///   - proto: `proto`.
    ///   - host: `host`.
    ///   - port: `port`.
    ///   - headers: `headers`.
    ///   - maxPayload: `max_payload`.
    ///   - authRequired: `auth_required`.
    ///   - tlsRequired: `tls_required`.
    ///   - tlsAvailable: `tls_available`.
    ///   - connectURLs: `connect_urls`.
    ///   - lameDuckMode: `ldm`.
    ///   - clientID: `client_id`.
    ///   - nonce: `nonce`.
    public init(
        serverID: String = "", serverName: String? = nil, version: String = "", proto: Int = 1,
        host: String = "0.0.0.0", port: Int = 4222, headers: Bool = true, maxPayload: Int = 1 << 20,
        authRequired: Bool = false, tlsRequired: Bool = false, tlsAvailable: Bool = false,
        connectURLs: [String] = [], lameDuckMode: Bool = false, clientID: UInt64? = nil, nonce: String? = nil
    ) {
        self.serverID = serverID
        self.serverName = serverName
        self.version = version
        self.proto = proto
        self.host = host
        self.port = port
        self.headers = headers
        self.maxPayload = maxPayload
        self.authRequired = authRequired
        self.tlsRequired = tlsRequired
        self.tlsAvailable = tlsAvailable
        self.connectURLs = connectURLs
        self.lameDuckMode = lameDuckMode
        self.clientID = clientID
        self.nonce = nonce
    }

    enum CodingKeys: String, CodingKey {
        case serverID = "server_id"
        case serverName = "server_name"
        case version, proto, host, port, headers
        case maxPayload = "max_payload"
        case authRequired = "auth_required"
        case tlsRequired = "tls_required"
        case tlsAvailable = "tls_available"
        case connectURLs = "connect_urls"
        case lameDuckMode = "ldm"
        case clientID = "client_id"
        case nonce
    }

    /// Decodes an `INFO`'s JSON object, defaulting missing keys (see the type's summary).
    ///
    /// - Parameter decoder: the decoder.
    /// - Throws: `DecodingError` when it is not an object or a present key has the wrong type.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        serverID = try container.decodeIfPresent(String.self, forKey: .serverID) ?? ""
        serverName = try container.decodeIfPresent(String.self, forKey: .serverName)
        version = try container.decodeIfPresent(String.self, forKey: .version) ?? ""
        proto = try container.decodeIfPresent(Int.self, forKey: .proto) ?? 0
        host = try container.decodeIfPresent(String.self, forKey: .host) ?? ""
        port = try container.decodeIfPresent(Int.self, forKey: .port) ?? 4222
        headers = try container.decodeIfPresent(Bool.self, forKey: .headers) ?? false
        maxPayload = try container.decodeIfPresent(Int.self, forKey: .maxPayload) ?? 1 << 20
        authRequired = try container.decodeIfPresent(Bool.self, forKey: .authRequired) ?? false
        tlsRequired = try container.decodeIfPresent(Bool.self, forKey: .tlsRequired) ?? false
        tlsAvailable = try container.decodeIfPresent(Bool.self, forKey: .tlsAvailable) ?? false
        connectURLs = try container.decodeIfPresent([String].self, forKey: .connectURLs) ?? []
        lameDuckMode = try container.decodeIfPresent(Bool.self, forKey: .lameDuckMode) ?? false
        clientID = try container.decodeIfPresent(UInt64.self, forKey: .clientID)
        nonce = try container.decodeIfPresent(String.self, forKey: .nonce)
    }
}
