import ArgumentParser
import CloudEvents

/// TLS files for `mqtts://` and `https://` endpoints (the system's trust store without
/// `--tls-ca`). For `ce listen https://`, `--tls-cert` and `--tls-key` are the server's
/// identity and `--tls-ca` requires client certificates that authority signed.
struct TLSOptions: ParsableArguments {
    @Option(
        name: .customLong("tls-ca"),
        help:
            "mqtts/https: a PEM file of the certificate authorities to trust (listen https: require client certificates they signed)."
    )
    var caFile: String?

    @Option(name: .customLong("tls-cert"), help: "mqtts/https: a PEM certificate to present (listen https: the server's).")
    var certificateFile: String?

    @Option(name: .customLong("tls-key"), help: "mqtts/https: the PEM private key of --tls-cert.")
    var keyFile: String?

    var settings: TLSSettings {
        TLSSettings(trustedCertificatesFile: caFile, certificateChainFile: certificateFile, privateKeyFile: keyFile)
    }
}
