import CloudEvents
import CloudEventsNATS
import CloudEventsTestSupport
import Foundation
import Testing

/// TLS against a private nats-server presenting the test CA's server certificate of
/// `Scripts/brokers` (`CE_TEST_TLS_CA_FILE` and `server.pem`/`server.key` beside it): INFO in
/// plaintext with `tls_required`, then the upgrade.
@Suite(
    .serialized,
    BrokerRequirement.gate(skipComment: BrokerRequirement.skipComment(broker: "test CA", variable: "CE_TEST_TLS_CA_FILE")) {
        BrokerRequirement.decide(
            broker: "the NATS server (nats-server of Scripts/brokers)", listeners: [("CE_TEST_NATS_PORT", "plain")],
            hostVariable: "CE_TEST_NATS_HOST", in: NATSBroker.environment)
    })
struct ClientTLSTests {
    private var certificateAuthority: String {
        get throws { try #require(NATSBroker.environment["CE_TEST_TLS_CA_FILE"], "CE_TEST_TLS_CA_FILE is not set") }
    }

    private func server() async throws -> (PrivateNATSServer, String) {
        let directory = try temporaryDirectory()
        let tlsDirectory = (try certificateAuthority as NSString).deletingLastPathComponent
        let server = try await PrivateNATSServer(
            directory: directory,
            configuration: PrivateNATSServer.tlsBlock(
                certificate: "\(tlsDirectory)/server.pem", key: "\(tlsDirectory)/server.key"))
        return (server, directory)
    }

    private func configuration(_ server: PrivateNATSServer, tls: TLSSettings?) -> NATSClientConfiguration {
        var configuration = NATSClientConfiguration(host: "127.0.0.1", port: server.port)
        configuration.tls = tls
        configuration.operationTimeout = .seconds(30)
        return configuration
    }

    @Test func theTestCAIsTrustedAndMessagesFlow() async throws {
        let (server, directory) = try await server()
        defer {
            server.stopWaiting()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let tls = TLSSettings(trustedCertificatesFile: try certificateAuthority)
        try await NATSClient.withClient(configuration: configuration(server, tls: tls)) { client in
            #expect(client.serverInfo.tlsRequired)
            let subject = NATSBroker.uniqueSubject()
            let recorder = RecordingConsumer()
            _ = try await client.subscribe(to: subject, consumer: recorder.consumer)
            var headers = NATSHeaders()
            headers.append(name: "ce-id", value: "tls")
            try await client.publish(NATSMessage(subject: subject, headers: headers, payload: .text("secret")))
            try await client.flush()
            #expect(await pollUntil(timeout: .seconds(30)) { recorder.count == 1 })
            #expect(recorder.messages.first?.headers?["ce-id"] == "tls")
        }
    }

    @Test func anUntrustedServerCertificateFailsTheConnect() async throws {
        let (server, directory) = try await server()
        defer {
            server.stopWaiting()
            try? FileManager.default.removeItem(atPath: directory)
        }
        // nil: the server's tls_required upgrades with the system's trust store, which does
        // not know the test CA.
        await #expect {
            _ = try await NATSClient.connect(configuration: configuration(server, tls: nil))
        } throws: { error in
            guard let error = error as? TransportError else { return false }
            return error.code == .connectionFailed && error.message.contains("127.0.0.1:\(server.port)")
        }
    }

    @Test func tlsAskedForAgainstAPlaintextServerFails() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let plain = try await PrivateNATSServer(directory: directory)
        defer { plain.stopWaiting() }
        await #expect {
            _ = try await NATSClient.connect(
                configuration: configuration(plain, tls: TLSSettings(trustedCertificatesFile: try certificateAuthority)))
        } throws: { ($0 as? TransportError)?.code == .connectionFailed }
    }
}
