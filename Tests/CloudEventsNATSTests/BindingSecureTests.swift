import CloudEvents
import CloudEventsNATS
import CloudEventsTestSupport
import CloudEventsTransports
import Foundation
import Testing

/// `natss://` and token authentication through a nats-server of the test's own, with the test
/// certificates of `Scripts/brokers`.
@Suite(
    "NATSBinding over TLS with a token",
    BrokerRequirement.gate(
        skipComment:
            "no test certificates or nats-server (CE_TEST_BROKERS_DIR unset): run Scripts/brokers start && eval \"$(Scripts/brokers env)\""
    ) {
        let environment = ProcessInfo.processInfo.environment
        if environment["CE_TEST_BROKERS_DIR"] != nil, PrivateNATSServer.binary != nil { return .run }
        return BrokerRequirement.isRequired(by: environment)
            ? .fail(
                "CE_TEST_BROKERS_DIR is not set or nats-server is missing: the test certificates of Scripts/brokers are needed")
            : .skip
    })
struct BindingSecureTests {
    @Test func natssWithATokenVerifiesTheServerAgainstTheGivenCA() async throws {
        let tls = try #require(ProcessInfo.processInfo.environment["CE_TEST_BROKERS_DIR"]) + "/tls"
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nats-binding-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await PrivateNATSServer(
            directory: directory,
            configuration: PrivateNATSServer.tlsBlock(certificate: "\(tls)/server.pem", key: "\(tls)/server.key")
                + "\nauthorization { token: \"t0k3n\" }\n")
        defer { server.stopWaiting() }
        let registry = try BindingRegistry([NATSBinding()])
        let subject = NATSBroker.uniqueSubject()
        let trusted = BindingOptions(tls: TLSSettings(trustedCertificatesFile: "\(tls)/ca.pem"), timeout: .seconds(30))
        try await within {
            let url = "natss://t0k3n@localhost:\(server.port)/\(subject)"
            try await registry.withReceiver(for: Endpoint(url), options: trusted) { receiver in
                _ = try await registry.withSender(for: Endpoint(url), options: trusted) { sender in
                    try await sender.send(NATSBroker.event("tls"))
                }
                var iterator = receiver.deliveries().makeAsyncIterator()
                #expect(try #require(try await iterator.next()).event() == NATSBroker.event("tls"))
            }
            // The system's trust store does not know the test CA.
            do {
                _ = try await registry.withSender(for: Endpoint(url), options: BindingOptions(timeout: .seconds(10))) { _ in }
                Issue.record("an unknown CA was trusted")
            } catch let error as TransportError {
                #expect(error.code == .connectionFailed, "\(error)")
            }
            do {
                _ = try await registry.withSender(
                    for: Endpoint("natss://bad-t0k@localhost:\(server.port)/\(subject)"), options: trusted
                ) { _ in }
                Issue.record("a wrong token was accepted")
            } catch let error as TransportError {
                #expect(error.code == .notAuthorized, "\(error)")
                #expect(!"\(error)".contains("bad-t0k"), "the token is printed: \(error)")
            }
        }
    }
}
