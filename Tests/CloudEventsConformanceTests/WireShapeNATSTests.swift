import CloudEvents
import CloudEventsProtobuf
import CloudEventsTestSupport
import Foundation
import Testing

@testable import CloudEventsConformance

/// The NATS gate of this target: the nats-server of `Scripts/brokers` (plain port), skipped
/// loudly outside the scripts and failing when `CE_TEST_BROKERS=1` or `CI=true` and it is missing.
enum NATSServerGate {
    static let environment = ProcessInfo.processInfo.environment
    static let gate = BrokerRequirement.gate(
        skipComment: BrokerRequirement.skipComment(broker: "NATS server", variable: "CE_TEST_NATS_PORT")
    ) {
        BrokerRequirement.decide(
            broker: "the NATS server (nats-server of Scripts/brokers)",
            listeners: [("CE_TEST_NATS_PORT", "plain"), ("CE_TEST_NATS_AUTH_PORT", "user and password")],
            hostVariable: "CE_TEST_NATS_HOST", in: environment)
    }
    static var host: String { environment["CE_TEST_NATS_HOST"] ?? "127.0.0.1" }
    static var port: Int { Int(environment["CE_TEST_NATS_PORT"] ?? "") ?? 4222 }
    static var authPort: Int { Int(environment["CE_TEST_NATS_AUTH_PORT"] ?? "") ?? 4223 }

    /// A subject no other test uses.
    static func uniqueSubject(_ stem: String) -> String { "ce-test.\(stem).\(UUID().uuidString.prefix(8))" }
}

/// The raw NATS reader's parser, and the NATS wire-shape rules (REFERENCE §3.4) on
/// handcrafted messages, good and bad: every rule can fail.
@Suite("Wire shape: NATS")
struct WireShapeNATSTests {
    static let event = CloudEvent(
        id: "1", source: "/s", type: "t", dataContentType: "text/plain", subject: #"Euro € 😀 "q" 100%"#,
        extensions: ["count": .integer(3)], data: .text("hi"))

    static let goodHeaders = [
        RawNATSHeader("ce-specversion", "1.0"), RawNATSHeader("ce-id", "1"), RawNATSHeader("ce-source", "/s"),
        RawNATSHeader("ce-type", "t"), RawNATSHeader("ce-datacontenttype", "text/plain"),
        RawNATSHeader("ce-subject", "Euro%20%E2%82%AC%20%F0%9F%98%80%20%22q%22%20100%25"), RawNATSHeader("ce-count", "3")
    ]

    static func message(_ headers: [RawNATSHeader]?, payload: String = "hi", status: String? = nil) -> RawWireMessage {
        .nats(RawNATSMessage(subject: "s", statusLine: status, headers: headers, payload: Array(payload.utf8)))
    }

    static func violations(
        _ message: RawWireMessage, event: CloudEvent = event, mode: ContentMode = .binary, format: (any EventFormat)? = nil
    ) -> [String] {
        WireShape.violations(of: message, event: event, mode: mode, format: format).map(\.description)
    }

    @Test func aGoodBinaryMessageHasNoViolations() {
        #expect(Self.violations(Self.message(Self.goodHeaders)) == [])
        #expect(WireShape.eventID(of: Self.message(Self.goodHeaders)) == "1")
    }

    @Test func contentTypeInsteadOfCEDatacontenttypeIsTwoViolations() {
        var headers = Self.goodHeaders
        headers[4] = RawNATSHeader("Content-Type", "text/plain")
        #expect(
            Self.violations(Self.message(headers)) == [
                "header 'ce-datacontenttype': must be datacontenttype 'text/plain' exactly, was 'absent'",
                "header 'Content-Type': must not be sent in binary mode: datacontenttype travels as ce-datacontenttype (REFERENCE §3.4)"
            ])
    }

    @Test(arguments: [
        ("ce-subject", "Euro € 😀 \"q\" 100%", "raw byte 0x20 must be percent-encoded"),
        (
            "ce-subject", "Euro%20%E2%82%AC%20%F0%9F%98%80%20%22q%22%20100%",
            "percent-encoding: '%' is not '%' and two uppercase hex digits"
        ),
        ("ce-subject", "Euro%2520", "decodes to 'Euro%20', not the canonical string"),
        (
            "ce-subject", "Euro%20%e2%82%ac%20%F0%9F%98%80%20%22q%22%20100%25",
            "percent-encoding: '%e2' is not '%' and two uppercase hex digits"
        ),
        ("ce-count", "4", "decodes to '4', not the canonical string '3'")
    ])
    func aBadValueIsNamed(name: String, value: String, rule: String) {
        let headers = Self.goodHeaders.map { $0.name == name ? RawNATSHeader(name, value) : $0 }
        let found = Self.violations(Self.message(headers))
        #expect(found.contains { $0.hasPrefix("header '\(name)'") && $0.contains(rule) }, "\(found)")
    }

    @Test func uppercaseNamesUnderscoresStrangersRepeatsAndAStatusAreViolations() {
        var headers = Self.goodHeaders
        headers[1] = RawNATSHeader("CE-ID", "1")
        headers.append(RawNATSHeader("ce_source", "/s"))
        headers.append(RawNATSHeader("ce-stranger", "x"))
        headers.append(RawNATSHeader("ce-type", "t"))
        let found = Self.violations(Self.message(headers, status: "NATS/1.0 503"))
        #expect(found.contains { $0.hasPrefix("header 'CE-ID': attribute headers are written in lowercase") }, "\(found)")
        #expect(found.contains { $0.hasPrefix("header 'ce_source': attribute headers are named 'ce-'") }, "\(found)")
        #expect(found.contains("header 'ce-stranger': names no attribute of the event sent"), "\(found)")
        #expect(found.contains("header 'ce-type': must appear once"), "\(found)")
        #expect(found.contains { $0.hasPrefix("header block: a published message's first line is 'NATS/1.0'") }, "\(found)")
        let missing = Self.violations(Self.message(Array(Self.goodHeaders.dropLast())))
        #expect(missing == ["header 'ce-count': missing: attribute 'count' must be sent as it"])
        #expect(
            Self.violations(Self.message(Self.goodHeaders, payload: "hi!")).first?.hasPrefix("payload: must be the data") == true)
        #expect(Self.violations(Self.message(nil)).first?.hasPrefix("header block: binary mode carries") == true)
    }

    /// JSON data without a datacontenttype may go without ce-datacontenttype or with the
    /// implied application/json; anything else is a violation.
    @Test func theImpliedJSONContentType() throws {
        let event = CloudEvent(id: "1", source: "/s", type: "t", data: .json(try RawJSON(validating: "{}")))
        let base = [
            RawNATSHeader("ce-specversion", "1.0"), RawNATSHeader("ce-id", "1"), RawNATSHeader("ce-source", "/s"),
            RawNATSHeader("ce-type", "t")
        ]
        #expect(Self.violations(Self.message(base, payload: "{}"), event: event) == [])
        let implied = base + [RawNATSHeader("ce-datacontenttype", "application/json")]
        #expect(Self.violations(Self.message(implied, payload: "{}"), event: event) == [])
        let wrong = base + [RawNATSHeader("ce-datacontenttype", "text/plain")]
        #expect(Self.violations(Self.message(wrong, payload: "{}"), event: event).count == 1)
    }

    @Test func structuredNeedsTheMediaTypeNoCEHeadersAndAPayloadThatDecodes() throws {
        let json = JSONEventFormat()
        let body = String(decoding: try json.encode(Self.event), as: UTF8.self)
        let good = [RawNATSHeader("Content-Type", "application/cloudevents+json")]
        #expect(Self.violations(Self.message(good, payload: body), mode: .structured, format: json) == [])
        let protobuf = ProtobufEventFormat()
        let bytes = try protobuf.encode(Self.event)
        let protobufMessage = RawWireMessage.nats(
            RawNATSMessage(
                subject: "s", headers: [RawNATSHeader("content-type", "application/cloudevents+protobuf")], payload: bytes))
        #expect(Self.violations(protobufMessage, mode: .structured, format: protobuf) == [])

        let wrong = Self.violations(
            Self.message(good + [RawNATSHeader("ce-id", "1")], payload: #"{"specversion":"1.0","id":"2"}"#),
            mode: .structured, format: json)
        #expect(wrong.contains("header 'ce-id': no ce- headers in structured mode: the payload carries the event"), "\(wrong)")
        #expect(wrong.contains("payload: the JSON event's id must be '1'"), "\(wrong)")
        #expect(wrong.contains { $0.hasPrefix("payload: must decode with the json format") }, "\(wrong)")
        let noHeaders = Self.violations(Self.message(nil, payload: body), mode: .structured, format: json)
        #expect(noHeaders.first?.hasPrefix("header block: structured mode carries Content-Type") == true, "\(noHeaders)")
        let otherType = Self.violations(
            Self.message([RawNATSHeader("Content-Type", "application/json")], payload: body), mode: .structured, format: json)
        #expect(
            otherType == ["Content-Type: must be the format's media type 'application/cloudevents+json', was 'application/json'"])
    }

    @Test func theParserFramesMSGAndHMSGSplitAnywhere() throws {
        let block = RawNATSProtocol.headerBlock([RawNATSHeader("ce-id", "1"), RawNATSHeader("X-Two", " a:b ")])
        let wire =
            Array("INFO {\"headers\":true}\r\nPING\r\nMSG a.b 7 5\r\nhello\r\nHMSG a.c 8 _INBOX.x ".utf8)
            + Array("\(block.count) \(block.count + 2)\r\n".utf8) + block + Array("hi\r\n+OK\r\n-ERR 'Bad'\r\n".utf8)
        var frames: [RawNATSProtocol.Frame] = []
        var buffer: [UInt8] = []
        for byte in wire {
            buffer.append(byte)
            while let frame = try RawNATSProtocol.frame(&buffer) { frames.append(frame) }
        }
        #expect(buffer.isEmpty)
        #expect(
            frames == [
                .info("{\"headers\":true}"), .ping,
                .message(subscriptionID: "7", RawNATSMessage(subject: "a.b", headers: nil, payload: Array("hello".utf8))),
                .message(
                    subscriptionID: "8",
                    RawNATSMessage(
                        subject: "a.c", replyTo: "_INBOX.x",
                        headers: [RawNATSHeader("ce-id", "1"), RawNATSHeader("X-Two", "a:b")], payload: Array("hi".utf8))),
                .ok, .error("'Bad'")
            ])
    }

    @Test(arguments: [
        ("MSG a 1\r\n", "has 3 fields, expected 4 or 5"),
        ("MSG a 1 x\r\n", "byte counts that are not numbers"),
        ("MSG a 1 2\r\nabcd", "is not followed by \\r\\n"),
        ("HMSG a 1 8 8\r\nHTTP\r\n\r\n\r\n", "not NATS/1.0"),
        ("WHAT\r\n", "unknown command 'WHAT'")
    ])
    func malformedCommandsAreNamed(wire: String, reason: String) {
        var buffer = Array(wire.utf8)
        #expect {
            _ = try RawNATSProtocol.frame(&buffer)
        } throws: { "\($0)".contains(reason) }
    }

    @Test func theCONNECTJSONCarriesCredentials() throws {
        let plain = RawNATSConnection.connectJSON(username: nil, password: nil)
        #expect(plain == #"{"verbose":false,"pedantic":false,"headers":true,"protocol":1}"#)
        let user = RawNATSConnection.connectJSON(username: "u\"", password: "p")
        #expect(user.hasSuffix(#","user":"u\"","pass":"p"}"#), "\(user)")
        #expect(RawNATSConnection.connectJSON(username: "tok", password: nil).hasSuffix(#","auth_token":"tok"}"#))
    }

    /// Through the real server: one raw connection publishes HPUB (a non-UTF-8 value, a
    /// repeat) and PUB, another subscribed reads both exactly as sent.
    @Test(NATSServerGate.gate, .timeLimit(.minutes(1)))
    func twoRawConnectionsExchangeHeadersUnchanged() async throws {
        let subject = NATSServerGate.uniqueSubject("raw")
        try await RawNATSConnection.withConnection(
            host: NATSServerGate.host, port: NATSServerGate.port, subscribingTo: subject, timeout: .seconds(30)
        ) { reader in
            try await RawNATSConnection.withConnection(
                host: NATSServerGate.host, port: NATSServerGate.port, timeout: .seconds(30)
            ) { writer in
                let headers = [
                    RawNATSHeader("ce-id", "1"), RawNATSHeader(name: "ce-x", value: [0xC3, 0x28]), RawNATSHeader("CE-ID", "2")
                ]
                let sent = RawNATSMessage(subject: subject, replyTo: "r.1", headers: headers, payload: [0, 1, 2])
                try writer.publish(sent)
                try writer.publish(RawNATSMessage(subject: subject, headers: nil, payload: []))
                try await writer.flush()
                #expect(await reader.next(before: .now + .seconds(30)) == sent)
                #expect(
                    await reader.next(before: .now + .seconds(30)) == RawNATSMessage(subject: subject, headers: nil, payload: []))
                #expect(reader.errors.isEmpty && writer.errors.isEmpty, "\(reader.errors) \(writer.errors)")
            }
        }
    }

    /// The raw connection authenticates with a user and password, and a wrong password is a
    /// handshake error carrying the server's -ERR, not a hang.
    @Test(NATSServerGate.gate, .timeLimit(.minutes(1)))
    func credentialsAreSentAndARefusalIsNamed() async throws {
        let user = NATSServerGate.environment["CE_TEST_NATS_USERNAME"] ?? "cetest"
        let password = NATSServerGate.environment["CE_TEST_NATS_PASSWORD"] ?? "cetest-secret"
        let info = try await RawNATSConnection.withConnection(
            host: NATSServerGate.host, port: NATSServerGate.authPort, username: user, password: password,
            subscribingTo: NATSServerGate.uniqueSubject("auth"), timeout: .seconds(30)
        ) { $0.serverInfo }
        #expect(info.contains("\"auth_required\":true"), "\(info)")
        await #expect {
            try await RawNATSConnection.withConnection(
                host: NATSServerGate.host, port: NATSServerGate.authPort, username: user, password: password + "x",
                timeout: .seconds(30)
            ) { _ in }
        } throws: { error in
            "\(error)".contains("-ERR") && "\(error)".lowercased().contains("authorization")
        }
    }
}
