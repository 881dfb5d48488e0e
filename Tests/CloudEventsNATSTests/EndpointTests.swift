import CloudEvents
import CloudEventsNATS
import CloudEventsProtobuf
import Testing

/// `NATSEndpoint`: every option, every default, and every refusal naming what is wrong.
@Suite("NATSEndpoint reads nats:// and natss:// URLs")
struct EndpointTests {
    private func endpoint(_ text: String, tls: TLSSettings = TLSSettings()) throws -> NATSEndpoint {
        let formats = EventFormatRegistry([JSONEventFormat(), ProtobufEventFormat()])
        return try NATSEndpoint(Endpoint(text, formats: formats, allowingPortZero: true), tls: tls)
    }

    /// The refusal's message, which must name `part`.
    private func refusal(_ text: String, naming part: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try endpoint(text)
            Issue.record("\(text) was accepted", sourceLocation: sourceLocation)
        } catch let error as TransportError {
            #expect(error.code == .invalidEndpoint, "\(error)", sourceLocation: sourceLocation)
            #expect("\(error)".contains(part), "\(error) does not name '\(part)'", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func theDefaults() throws {
        let nats = try endpoint("nats://broker.example/events")
        #expect(nats.subject == "events")
        #expect(nats.configuration.servers == [NATSServerAddress(host: "broker.example", port: 4222)])
        #expect(nats.configuration.tls == nil)
        #expect(nats.configuration.authentication == .none)
        #expect(nats.queueGroup == nil)
        #expect(nats.mode == .binary)
        #expect(nats.formatName == "json")
    }

    @Test func theSubjectIsThePathPercentDecodedOnce() throws {
        #expect(try endpoint("nats://h:4222/events.orders").subject == "events.orders")
        #expect(try endpoint("nats://h/a%2Eb").subject == "a.b")
        #expect(try endpoint("nats://h/a%25b").subject == "a%b")
        // Wildcards are a subscriber's (the binding refuses them for a sender).
        #expect(try endpoint("nats://h/events.*").subject == "events.*")
        #expect(try endpoint("nats://h/events.>").subject == "events.>")
        #expect(try endpoint("nats://h/events.%3E").subject == "events.>")
    }

    @Test func theHostAndPort() throws {
        #expect(
            try endpoint("nats://127.0.0.1:4333/s").configuration.servers == [NATSServerAddress(host: "127.0.0.1", port: 4333)])
        #expect(try endpoint("nats://[::1]:4333/s").configuration.servers == [NATSServerAddress(host: "::1", port: 4333)])
        #expect(try endpoint("nats://[::1]/s").configuration.servers == [NATSServerAddress(host: "::1", port: 4222)])
    }

    @Test func userAndPasswordOrAToken() throws {
        let password = try endpoint("nats://alice:s%40cret@127.0.0.1/s")
        #expect(password.configuration.authentication == .userPassword(user: "alice", password: "s@cret"))
        #expect(try endpoint("nats://alice:@h/s").configuration.authentication == .userPassword(user: "alice", password: ""))
        #expect(try endpoint("nats://t0k3n@h/s").configuration.authentication == .token("t0k3n"))
        #expect(try endpoint("nats://@h/s").configuration.authentication == .none)
    }

    @Test func natssUsesTheTLSSettingsAndPort4222() throws {
        let tls = TLSSettings(trustedCertificatesFile: "/tmp/ca.pem", verifiesPeer: true)
        let secure = try endpoint("natss://h/s", tls: tls)
        #expect(secure.configuration.tls == tls)
        #expect(secure.configuration.servers == [NATSServerAddress(host: "h", port: 4222)])
        #expect(try endpoint("natss://h:6222/s", tls: tls).configuration.servers.first?.port == 6222)
        // A plain URL has no TLS settings of its own: the client upgrades only when the server requires it.
        #expect(try endpoint("nats://h/s", tls: tls).configuration.tls == nil)
    }

    @Test func modeAndFormat() throws {
        let structured = try endpoint("nats://h/s?mode=structured&format=protobuf")
        #expect(structured.mode == .structured)
        #expect(structured.formatName == "protobuf")
        #expect(try endpoint("nats://h/s?mode=BINARY").mode == .binary)
        #expect(try endpoint("nats://h/s?format=JSON").formatName == "json")
    }

    @Test func queueGroup() throws {
        #expect(try endpoint("nats://h/s?queue=workers").queueGroup == "workers")
        #expect(try endpoint("nats://h/s.>?queue=a.b-c_d").queueGroup == "a.b-c_d")
    }

    @Test func serversFollowTheURLsHost() throws {
        let nats = try endpoint("nats://a:4001/s?servers=b:4002,c,[::1]:4003,%20d:4004%20")
        #expect(
            nats.configuration.servers == [
                NATSServerAddress(host: "a", port: 4001), NATSServerAddress(host: "b", port: 4002),
                NATSServerAddress(host: "c", port: 4222), NATSServerAddress(host: "::1", port: 4003),
                NATSServerAddress(host: "d", port: 4004)
            ])
    }

    @Test func refusals() {
        refusal("mqtt://h/s", naming: "nats://")
        refusal("nats://h", naming: "missing subject")
        refusal("nats://h/", naming: "missing subject")
        refusal("nats://h/s?qos=1", naming: "unknown option 'qos' (known: format, mode, queue, servers)")
        refusal("nats://h/s?mode=batch", naming: "no batch mode")
        refusal("nats://h/a..b", naming: "subject")
        refusal("nats://h/a%20b", naming: "subject")
        refusal("nats://h/.a", naming: "subject")
        refusal("nats://h/a.>.b", naming: "subject")
        refusal("nats://h/s?queue=", naming: "queue must name a queue group")
        refusal("nats://h/s?queue=a%20b", naming: "queue")
        refusal("nats://:secret@h/s", naming: "password needs a user name")
        refusal("nats://h/s?servers=", naming: "servers must be host:port")
        refusal("nats://h/s?servers=b:4222,,c", naming: "servers must be host:port")
        refusal("nats://h/s?servers=b:0", naming: "servers: port must be a number from 1 to 65535")
        refusal("nats://h/s?servers=b:many", naming: "servers: port must be")
        refusal("nats://h/s?servers=::1:4222", naming: "IPv6 address in brackets")
        refusal("nats://h/s?servers=[::1", naming: "servers must be host:port")
        refusal("nats://h/s?servers=u@b:4222", naming: "servers must be host:port")
    }

    @Test(arguments: ["nats://alice:hunter2@h/s?mode=batch", "nats://hunter2@h/s?mode=batch", "natss://hunter2@h/a..b"])
    func aRefusalNeverPrintsThePasswordOrToken(url: String) {
        do {
            _ = try endpoint(url)
            Issue.record("accepted")
        } catch {
            #expect(!"\(error)".contains("hunter2"), "\(error)")
            #expect("\(error)".contains("***@h"), "\(error)")
        }
    }
}
