/// The JSON of the client's `CONNECT`: its identity, the features it wants, and its
/// credentials.
///
/// Encoded with the keys the protocol spells (`tls_required`, `auth_token`,
/// `no_responders`…); `nil` credentials and name are left out.
public struct NATSConnectOptions: Sendable, Hashable, Encodable {
    /// `verbose`: ask for `+OK` after every command (off: the binding does not need them).
    public var verbose = false
    /// `pedantic`: ask the server for strict checking.
    public var pedantic = false
    /// `tls_required`: the client wants TLS.
    public var tlsRequired = false
    /// `user`, with `pass`: user-password authentication.
    public var user: String?
    /// `pass`: the user's password.
    public var pass: String?
    /// `auth_token`: token authentication.
    public var authToken: String?
    /// `name`: the client's name, shown in the server's monitoring.
    public var name: String?
    /// `lang`: the client's implementation language.
    public var lang = "swift"
    /// `version`: the client's version.
    public var version: String
    /// `protocol`: 1, the client accepts `INFO` updates with cluster topology.
    public var `protocol` = 1
    /// `echo`: whether the server sends the client's own publishes to its matching
    /// subscriptions.
    public var echo = true
    /// `headers`: the client supports `HPUB`/`HMSG`.
    public var headers = true
    /// `no_responders`: a request nobody subscribes to is answered at once with a 503 status
    /// (needs `headers`).
    public var noResponders = true

    /// Options for a client named `name`, with the defaults above.
    ///
    /// - Parameters:
    ///   - version: the version reported (this binding's by default).
    ///   - name: the client's name.
    public init(version: String = natsBindingVersion, name: String? = nil) {
        self.version = version
        self.name = name
    }

    enum CodingKeys: String, CodingKey {
        case verbose, pedantic
        case tlsRequired = "tls_required"
        case user, pass
        case authToken = "auth_token"
        case name, lang, version
        case `protocol`
        case echo, headers
        case noResponders = "no_responders"
    }

    /// Encodes the options as `CONNECT`'s JSON object, leaving out `nil` values.
    ///
    /// - Parameter encoder: the encoder.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(verbose, forKey: .verbose)
        try container.encode(pedantic, forKey: .pedantic)
        try container.encode(tlsRequired, forKey: .tlsRequired)
        try container.encodeIfPresent(user, forKey: .user)
        try container.encodeIfPresent(pass, forKey: .pass)
        try container.encodeIfPresent(authToken, forKey: .authToken)
        try container.encodeIfPresent(name, forKey: .name)
        try container.encode(lang, forKey: .lang)
        try container.encode(version, forKey: .version)
        try container.encode(`protocol`, forKey: .protocol)
        try container.encode(echo, forKey: .echo)
        try container.encode(headers, forKey: .headers)
        try container.encode(noResponders, forKey: .noResponders)
    }
}
