/// TLS for a transport: which certificates to trust and which to present.
///
/// Paths to PEM files, so that the core needs no TLS library; each binding maps them onto
/// its own (NIOSSL for HTTP and NATS, libmosquitto, qpid-proton). Verification of the
/// peer's certificate and host name is on by default.
public struct TLSSettings: Sendable, Hashable {
    /// A PEM file of the certificate authorities to trust; `nil` trusts the system's store.
    public var trustedCertificatesFile: String?
    /// A PEM certificate chain to present (client certificate authentication).
    public var certificateChainFile: String?
    /// The PEM private key of ``certificateChainFile``.
    public var privateKeyFile: String?
    /// Whether to verify the peer's certificate and host name. Turn off only for tests.
    public var verifiesPeer: Bool

    /// Settings from PEM file paths. By default the system's certificate authorities are
    /// trusted, no client certificate is presented, and the peer is verified.
    public init(
        trustedCertificatesFile: String? = nil, certificateChainFile: String? = nil, privateKeyFile: String? = nil,
        verifiesPeer: Bool = true
    ) {
        self.trustedCertificatesFile = trustedCertificatesFile
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
        self.verifiesPeer = verifiesPeer
    }
}
