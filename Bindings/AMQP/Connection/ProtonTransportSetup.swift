import CQpidProton
import CloudEvents

/// A `pn_ssl_domain_t` made from ``TLSSettings``: one per connection or listener, shared by
/// its transports, freed with it (proton counts the transports' references).
final class ProtonTLSDomain: Sendable {
    /// Used by the loop thread only, after `init` (proton's SSL domains are not shared
    /// between threads by this binding).
    nonisolated(unsafe) let domain: OpaquePointer

    /// - Throws: ``TransportError`` `.invalidEndpoint` naming the file proton refused.
    init(_ settings: TLSSettings, server: Bool, peer: String) throws(TransportError) {
        guard let domain = pn_ssl_domain(server ? PN_SSL_MODE_SERVER : PN_SSL_MODE_CLIENT) else {
            throw TransportError(.invalidEndpoint, "AMQP TLS for \(peer): this qpid-proton has no TLS support")
        }
        self.domain = domain
        func check(_ rc: Int32, _ what: String) throws(TransportError) {
            guard rc == 0 else { throw TransportError(.invalidEndpoint, "AMQP TLS for \(peer): \(what) (error \(rc))") }
        }
        if let certificate = settings.certificateChainFile {
            guard let key = settings.privateKeyFile else {
                throw TransportError(.invalidEndpoint, "AMQP TLS for \(peer): a certificate needs its private key file")
            }
            try check(
                pn_ssl_domain_set_credentials(domain, certificate, key, nil),
                "cannot load the certificate '\(certificate)' with the key '\(key)'")
        } else if server {
            throw TransportError(.invalidEndpoint, "AMQP TLS listener on \(peer): a server certificate and key are needed")
        }
        if let ca = settings.trustedCertificatesFile {
            try check(pn_ssl_domain_set_trusted_ca_db(domain, ca), "cannot load the certificate authorities '\(ca)'")
        }
        if server {
            // Clients are not asked for a certificate unless authorities to check it with are given.
            if settings.trustedCertificatesFile != nil, settings.verifiesPeer {
                try check(
                    pn_ssl_domain_set_peer_authentication(domain, PN_SSL_VERIFY_PEER, settings.trustedCertificatesFile),
                    "cannot ask clients for certificates")
            } else {
                try check(pn_ssl_domain_set_peer_authentication(domain, PN_SSL_ANONYMOUS_PEER, nil), "peer mode")
            }
        } else {
            let mode = settings.verifiesPeer ? PN_SSL_VERIFY_PEER_NAME : PN_SSL_ANONYMOUS_PEER
            try check(pn_ssl_domain_set_peer_authentication(domain, mode, nil), "cannot set peer verification")
        }
    }

    deinit {
        pn_ssl_domain_free(domain)
    }

    /// Puts TLS on `transport`, checking the peer's certificate against `hostName` (client).
    func apply(to transport: OpaquePointer, hostName: String?) -> Bool {
        guard let ssl = pn_ssl(transport), pn_ssl_init(ssl, domain, nil) == 0 else { return false }
        if let hostName { pn_ssl_set_peer_hostname(ssl, hostName) }
        return true
    }
}

extension AMQPSASL {
    /// Configures the client side of `transport`'s SASL layer (and the connection's user).
    func applyClient(transport: OpaquePointer, connection: OpaquePointer) {
        switch self {
        case .none:
            break
        case .anonymous:
            pn_sasl_allowed_mechs(pn_sasl(transport), "ANONYMOUS")
        case .plain(let username, let password):
            let sasl = pn_sasl(transport)
            pn_sasl_allowed_mechs(sasl, "PLAIN")
            // PLAIN over plain TCP is the user's choice (loopback brokers, tests).
            pn_sasl_set_allow_insecure_mechs(sasl, true)
            pn_connection_set_user(connection, username)
            pn_connection_set_password(connection, password)
        }
    }

    /// Configures the server side of `transport`'s SASL layer: the mechanisms offered.
    func applyServer(transport: OpaquePointer) {
        switch self {
        case .none:
            break
        case .anonymous, .plain:
            // proton's built-in SASL serves ANONYMOUS (PLAIN would need Cyrus SASL, which
            // Debian's qpid-proton is built without; the listener refuses .plain).
            pn_sasl_allowed_mechs(pn_sasl(transport), "ANONYMOUS")
        }
    }
}
