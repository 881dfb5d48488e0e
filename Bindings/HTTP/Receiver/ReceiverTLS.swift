internal import CloudEvents
internal import NIOSSL

/// NIOSSL's server context for a receiver's ``TLSSettings``.
enum ReceiverTLS {
    static func context(_ tls: TLSSettings, allowsHTTP2: Bool) throws(TransportError) -> NIOSSLContext {
        guard let chainFile = tls.certificateChainFile, let keyFile = tls.privateKeyFile else {
            throw TransportError(
                .invalidEndpoint, "an HTTPS receiver needs a certificate chain file and a private key file")
        }
        do {
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(chainFile).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem)))
            if let trusted = tls.trustedCertificatesFile {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(trusted))
                // A client's certificate names no host to check: chain verification only.
                configuration.certificateVerification = tls.verifiesPeer ? .noHostnameVerification : .none
            } else {
                configuration.certificateVerification = .none
            }
            configuration.applicationProtocols = allowsHTTP2 ? ["h2", "http/1.1"] : ["http/1.1"]
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw TransportError(.invalidEndpoint, "cannot load the receiver's TLS certificate or key", underlying: error)
        }
    }
}
