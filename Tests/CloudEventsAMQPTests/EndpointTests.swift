import CloudEvents
import CloudEventsAMQP
import CloudEventsProtobuf
import Testing

/// `AMQPEndpoint`: every option, every default, and every refusal naming what is wrong.
@Suite("AMQPEndpoint reads amqp:// and amqps:// URLs")
struct AMQPEndpointTests {
    private func endpoint(_ text: String, tls: TLSSettings = TLSSettings()) throws -> AMQPEndpoint {
        let formats = EventFormatRegistry([JSONEventFormat(), ProtobufEventFormat()])
        return try AMQPEndpoint(Endpoint(text, formats: formats, allowingPortZero: true), tls: tls)
    }

    /// The refusal's message, which must name `part`.
    private func refusal(_ text: String, naming part: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try endpoint(text)
            Issue.record("\(text) was accepted", sourceLocation: sourceLocation)
        } catch let error as TransportError {
            #expect(error.code == .invalidEndpoint, sourceLocation: sourceLocation)
            #expect("\(error)".contains(part), "\(error) does not name '\(part)'", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func theDefaults() throws {
        let amqp = try endpoint("amqp://broker.example/events")
        #expect(amqp.address == "events")
        #expect(amqp.configuration.host == "broker.example")
        #expect(amqp.port == 5672)
        #expect(amqp.configuration.tls == nil)
        #expect(amqp.configuration.sasl == .anonymous)
        #expect(amqp.mode == .binary)
        #expect(amqp.formatName == "json")
        #expect(amqp.prefix == .underscore)
        #expect(amqp.credit == 256)
        #expect(amqp.durable)
        #expect(!amqp.listen)
    }

    @Test func theAddressIsThePathAfterOneSlashPercentDecodedOnce() throws {
        #expect(try endpoint("amqp://h:5672/events").address == "events")
        // RabbitMQ's addresses start with their own '/': two slashes, or the first one encoded.
        #expect(try endpoint("amqp://h:5672//queue/events").address == "/queue/events")
        #expect(try endpoint("amqp://h:5672/%2Fqueue%2Fevents").address == "/queue/events")
        #expect(try endpoint("amqp://h//exchange/amq.topic/a.b").address == "/exchange/amq.topic/a.b")
        #expect(try endpoint("amqp://h/a%2520b").address == "a%20b")
        #expect(try endpoint("amqp://h/queue/with%20space").address == "queue/with space")
    }

    @Test func userAndPasswordMeanSASLPlain() throws {
        let amqp = try endpoint("amqp://guest:gu%40st@127.0.0.1:42/q")
        #expect(amqp.configuration.sasl == .plain(username: "guest", password: "gu@st"))
        #expect(amqp.port == 42)
        #expect(try endpoint("amqp://alice@h/q").configuration.sasl == .plain(username: "alice", password: ""))
    }

    @Test func amqpsUsesTheTLSSettingsAndPort5671() throws {
        let tls = TLSSettings(trustedCertificatesFile: "/tmp/ca.pem", verifiesPeer: true)
        let secure = try endpoint("amqps://h/q", tls: tls)
        #expect(secure.configuration.tls == tls)
        #expect(secure.port == 5671)
        #expect(try endpoint("amqps://h:6000/q", tls: tls).port == 6000)
        #expect(try endpoint("amqp://h/q", tls: tls).configuration.tls == nil)
    }

    @Test func modeAndFormat() throws {
        let structured = try endpoint("amqp://h/q?mode=structured&format=protobuf")
        #expect(structured.mode == .structured)
        #expect(structured.formatName == "protobuf")
        #expect(try endpoint("amqp://h/q?mode=BINARY").mode == .binary)
    }

    @Test func prefix() throws {
        #expect(try endpoint("amqp://h/q?prefix=colon").prefix == .colon)
        #expect(try endpoint("amqp://h/q?prefix=underscore").prefix == .underscore)
        #expect(try endpoint("amqp://h/q?prefix=cloudEvents:").prefix == .colon)
        #expect(try endpoint("amqp://h/q?prefix=cloudEvents_").prefix == .underscore)
    }

    @Test func creditDurableListen() throws {
        #expect(try endpoint("amqp://h/q?credit=1").credit == 1)
        #expect(try endpoint("amqp://h/q?credit=100000").credit == 100_000)
        #expect(try endpoint("amqp://h/q?durable=false").durable == false)
        #expect(try endpoint("amqp://h/q?durable=0").durable == false)
        #expect(try endpoint("amqp://h/q?durable=true").durable)
        #expect(try endpoint("amqp://h/q?listen=true").listen)
        #expect(try endpoint("amqp://h/q?listen=false").listen == false)
        // A listener takes every address, so it needs none.
        let listener = try endpoint("amqp://127.0.0.1:0?listen=true")
        #expect(listener.listen)
        #expect(listener.address == "")
        #expect(listener.port == 0)
    }

    @Test func hostnameIsTheOpenFramesHostname() throws {
        #expect(try endpoint("amqp://h/q").configuration.virtualHost == nil)
        #expect(try endpoint("amqp://h/q?hostname=vhost:/other").configuration.virtualHost == "vhost:/other")
        #expect(try endpoint("amqp://h/q?hostname=vhost:%2Fother").configuration.virtualHost == "vhost:/other")
    }

    @Test func refusals() {
        refusal("http://h/q", naming: "amqp://")
        refusal("amqp://h", naming: "missing address")
        refusal("amqp://h/", naming: "missing address")
        refusal("amqp://h/q?qos=1", naming: "unknown option 'qos'")
        refusal("amqp://h/q?mode=batch", naming: "no batch mode")
        refusal("amqp://h/q?prefix=dash", naming: "prefix must be")
        refusal("amqp://h/q?credit=0", naming: "credit must be")
        refusal("amqp://h/q?credit=-3", naming: "credit must be")
        refusal("amqp://h/q?credit=100001", naming: "credit must be")
        refusal("amqp://h/q?credit=many", naming: "credit must be")
        refusal("amqp://h/q?durable=yes", naming: "durable must be true or false")
        refusal("amqp://h/q?listen=maybe", naming: "listen must be true or false")
        refusal("amqp://:secret@h/q", naming: "password needs a user name")
        refusal("amqp://h/q?hostname=", naming: "hostname must not be empty")
    }

    @Test func aRefusalNeverPrintsThePassword() {
        do {
            _ = try endpoint("amqp://guest:hunter2@h/q?credit=0")
            Issue.record("accepted")
        } catch {
            #expect(!"\(error)".contains("hunter2"))
        }
    }
}
