public import CloudEvents

/// An `http://` or `https://` ``Endpoint`` read as sender or receiver settings:
///
/// `http(s)://[user:password@]host[:port]/path?mode=binary|structured|batch&format=json|protobuf&…`
///
/// `mode` and `format` are the binding's; any other query option is the server's and stays
/// in the request URL. Defaults: binary mode, JSON.
public struct HTTPEndpoint: Sendable {
    /// The endpoint read.
    public let endpoint: Endpoint

    /// The options this binding reads from the query; the rest belong to the request URL.
    public static let bindingOptions: Set<String> = ["mode", "format"]

    /// Reads `endpoint`.
    ///
    /// - Throws: ``TransportError`` `.invalidEndpoint` for another scheme.
    public init(_ endpoint: Endpoint) throws(TransportError) {
        guard endpoint.scheme == "http" || endpoint.scheme == "https" else {
            throw TransportError(.invalidEndpoint, "\(endpoint): expected http:// or https://")
        }
        self.endpoint = endpoint
    }

    /// Whether the endpoint is `https://`.
    public var isSecure: Bool { endpoint.scheme == "https" }

    /// The URL to request: the endpoint without the `mode` and `format` options, which are
    /// the binding's, not the server's; the password as given (it goes to the client only).
    public var requestURL: String {
        var copy = endpoint
        copy.options.removeAll { Self.bindingOptions.contains($0.name) }
        return copy.url(maskingPassword: false)
    }

    /// The settings of a sender to this endpoint: its request URL, the endpoint's mode (binary
    /// without one) and format (JSON without one), and `tls` for `https://` only.
    ///
    /// - Parameters:
    ///   - formats: the formats `format=` may name, also used to decode response events.
    ///   - tls: the trust store and client certificate for `https://`.
    /// - Throws: ``TransportError`` `.invalidEndpoint` for port 0 or a format not in `formats`.
    public func senderConfiguration(
        formats: EventFormatRegistry = .standard, tls: TLSSettings = TLSSettings()
    ) throws(TransportError) -> HTTPSenderConfiguration {
        guard endpoint.port != 0 else {
            throw TransportError(.invalidEndpoint, "\(endpoint): port 0 is for listeners; give the port to send to")
        }
        var format: any EventFormat = JSONEventFormat()
        if let name = endpoint.formatName {
            guard let named = formats.format(named: name) else {
                throw TransportError(.invalidEndpoint, "\(endpoint): format '\(name)' is not available")
            }
            format = named
        }
        return HTTPSenderConfiguration(
            url: requestURL, mode: endpoint.contentMode ?? .binary, format: format, formats: formats,
            tls: isSecure ? tls : nil)
    }

    /// The settings of a receiver for this endpoint: its host and port (0: any free port),
    /// and its path, or every path without one. `https://` serves TLS with `tls`'s
    /// certificate chain and key (both required); with its trusted certificates set, clients
    /// must present a certificate that authority signed.
    ///
    /// - Parameters:
    ///   - formats: the formats a structured or batched body may use.
    ///   - tls: the receiver's identity for `https://`.
    /// - Throws: ``TransportError`` `.invalidEndpoint` without a port, or for `https://`
    ///   without a certificate chain and key.
    public func receiverConfiguration(
        formats: EventFormatRegistry = .standard, tls: TLSSettings = TLSSettings()
    ) throws(TransportError) -> HTTPReceiverConfiguration {
        guard let port = endpoint.port else {
            throw TransportError(.invalidEndpoint, "\(endpoint): give the port to listen on (0 for any free port)")
        }
        var configuration = HTTPReceiverConfiguration(
            host: endpoint.host, port: port, path: endpoint.rawPath.isEmpty ? nil : endpoint.rawPath, formats: formats)
        if isSecure {
            guard tls.certificateChainFile != nil, tls.privateKeyFile != nil else {
                throw TransportError(
                    .invalidEndpoint,
                    "listening on https:// needs --tls-cert and --tls-key (TLSSettings' certificateChainFile and privateKeyFile)"
                )
            }
            configuration.tls = tls
        }
        return configuration
    }
}
