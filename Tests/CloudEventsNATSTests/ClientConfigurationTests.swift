import CloudEvents
import CloudEventsNATS
import Testing

/// The client's configuration and server addresses (no network).
@Suite struct ClientConfigurationTests {
    @Test func theDefaultsAreTheDocumentedOnes() {
        let configuration = NATSClientConfiguration()
        #expect(configuration.servers == [NATSServerAddress(host: "127.0.0.1", port: 4222)])
        #expect(configuration.tls == nil)
        #expect(configuration.authentication == .none)
        #expect(configuration.echo)
        #expect(configuration.pingInterval == .seconds(120))
        #expect(configuration.maximumOutstandingPings == 2)
        #expect(configuration.reconnect == .exponential(initial: .milliseconds(100), maximum: .seconds(5), jitter: 0.2))
        #expect(configuration.maximumReconnectAttempts == nil)
        #expect(configuration.reconnectBufferSize == 8 << 20)
        #expect(configuration.operationTimeout == .seconds(30))
    }

    @Test(arguments: [
        ("127.0.0.1:4222", NATSServerAddress(host: "127.0.0.1", port: 4222)),
        ("nats.example:7422", NATSServerAddress(host: "nats.example", port: 7422)),
        ("nats://10.0.0.2:4333", NATSServerAddress(host: "10.0.0.2", port: 4333)),
        ("[::1]:4222", NATSServerAddress(host: "::1", port: 4222)),
        ("[fe80::1]", NATSServerAddress(host: "fe80::1", port: 4222)),
        ("example", NATSServerAddress(host: "example", port: 4222))
    ])
    func connectURLsParse(text: String, expected: NATSServerAddress) {
        #expect(NATSServerAddress(parsing: text) == expected)
    }

    @Test(arguments: ["", ":4222", "host:", "host:0", "host:65536", "host:port", "[::1]:x"])
    func badConnectURLsAreRefused(text: String) {
        #expect(NATSServerAddress(parsing: text) == nil)
    }

    @Test func addressesPrintAsHostColonPort() {
        #expect("\(NATSServerAddress(host: "127.0.0.1", port: 4222))" == "127.0.0.1:4222")
        #expect("\(NATSServerAddress(host: "::1", port: 4222))" == "[::1]:4222")
    }

    @Test func noServersIsAnInvalidEndpoint() async {
        await #expect {
            _ = try await NATSClient.connect(configuration: NATSClientConfiguration(servers: []))
        } throws: { ($0 as? TransportError)?.code == .invalidEndpoint }
    }

    @Test func anUnloadableTLSFileIsAnInvalidEndpoint() async {
        var configuration = NATSClientConfiguration()
        configuration.tls = TLSSettings(trustedCertificatesFile: "/nonexistent/ca.pem")
        await #expect {
            _ = try await NATSClient.connect(configuration: configuration)
        } throws: { ($0 as? TransportError)?.code == .invalidEndpoint }
    }
}
