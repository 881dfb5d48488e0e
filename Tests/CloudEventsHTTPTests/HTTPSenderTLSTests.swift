import CloudEvents
import CloudEventsHTTP
import CloudEventsTestSupport
import Foundation
import HTTPTypes
import NIOSSL
import Testing

/// HTTPS against a loopback server whose certificate a test CA signed: the CA made here
/// with openssl (which Scripts/bootstrap installs), so no network and no system trust store.
@Suite("HTTP sender over TLS")
struct HTTPSenderTLSTests {
    let event = CloudEvent(id: "tls-1", source: "/tls", type: "com.example.tls")

    @Test func trustsAConfiguredCertificateAuthority() async throws {
        let pki = try await TestPKI.make()
        try await ScriptedServer.with([.init(status: 202)], tls: try pki.serverContext()) { port, server in
            let configuration = HTTPSenderConfiguration(
                url: "https://localhost:\(port)/events", timeout: .seconds(60),
                tls: TLSSettings(trustedCertificatesFile: pki.caFile))
            let response = try await HTTPEventSender.withSender(configuration: configuration) { sender in
                try await sender.exchange(event)
            }
            #expect(response.status.code == 202)
            #expect(server.requestTimes.count == 1)
        }
    }

    @Test func refusesAnUntrustedCertificateByDefault() async throws {
        let pki = try await TestPKI.make()
        try await ScriptedServer.with([.init(status: 202)], tls: try pki.serverContext()) { port, server in
            // The default retry policy: a refused handshake is reported at once, not retried
            // (nor retried by async-http-client until the timeout).
            let configuration = HTTPSenderConfiguration(url: "https://localhost:\(port)/events", timeout: .seconds(180))
            let started = ContinuousClock.now
            let error = await #expect(throws: TransportError.self) {
                try await HTTPEventSender.withSender(configuration: configuration) { try await $0.send(event) }
            }
            // Well under the timeout (a loaded CI machine takes a few seconds for the handshake).
            #expect(ContinuousClock.now - started < .seconds(60))
            #expect(error?.code == .connectionFailed)
            #expect(error?.description.contains("TLS handshake") == true)
            #expect(server.requestTimes.isEmpty)
        }
    }

    @Test func missingCertificateFilesAreATypedError() {
        let configuration = HTTPSenderConfiguration(
            url: "https://localhost:1/", tls: TLSSettings(trustedCertificatesFile: "/nonexistent/ca.pem"))
        #expect(throws: TransportError.self) { try HTTPEventSender(configuration: configuration) }
    }
}

/// A throwaway CA, a server certificate for `localhost` and 127.0.0.1, and a client
/// certificate.
struct TestPKI: Sendable {
    let directory: URL
    var caFile: String { directory.appendingPathComponent("ca.pem").path }
    var serverCertificate: String { directory.appendingPathComponent("server.pem").path }
    var serverKey: String { directory.appendingPathComponent("server.key").path }
    var clientCertificate: String { directory.appendingPathComponent("client.pem").path }
    var clientKey: String { directory.appendingPathComponent("client.key").path }

    /// Makes one on a thread of its own: five `openssl` runs, three of them RSA key
    /// generations, take seconds on a loaded machine, too long to hold a cooperative thread.
    static func make() async throws -> TestPKI { try await onOwnThread { try TestPKI() } }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ce-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\n".write(
            to: directory.appendingPathComponent("server.ext"), atomically: true, encoding: .utf8)
        try run([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", "ca.key", "-out", "ca.pem",
            "-subj", "/CN=CloudEvents Swift HTTP Test CA"
        ])
        try run([
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=localhost"
        ])
        try run([
            "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-out", "server.pem", "-extfile", "server.ext"
        ])
        try run([
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.csr",
            "-subj", "/CN=CloudEvents Swift HTTP Test Client"
        ])
        try run([
            "x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-out", "client.pem"
        ])
    }

    func serverContext() throws -> NIOSSLContext {
        try NIOSSLContext(
            configuration: .makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(serverCertificate).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: serverKey, format: .pem))))
    }

    private func run(_ arguments: [String]) throws {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "openssl \(arguments[0]) failed"])
        }
    }
}
