import CloudEvents
import CloudEventsHTTP
import CloudEventsMQTT
import CloudEventsTestSupport
import CloudEventsTransports
import Foundation
import Testing

/// Our bindings against independent, maintained implementations, both ways: the CloudEvents
/// Python SDK over HTTP and paho-mqtt (raw MQTT, the spec's mapping by hand) over MQTT 5 and
/// 3.1.1 through the real broker. The peers are `Conformance/Peers/*.py`, run by the python
/// of `Scripts/peers` (`CE_TEST_PEERS_PYTHON`).
enum PeerInterop {
    /// The bindings, as a tool registers them.
    static func registry() throws -> BindingRegistry {
        try BindingRegistry([InProcessBinding(), HTTPBinding(), MQTTBinding()])
    }

    /// The options every test uses: short timeouts and one retry (the Python server may close
    /// a kept-alive connection just as the next request is written on it: a clean-clone run
    /// failed once on `remoteConnectionClosed`).
    static let options = BindingOptions(timeout: .seconds(60), retries: 1)

    /// The time a test waits for any one step.
    static let stepTimeout: Duration = .seconds(180)

    /// The event we send: the same kinds of hostile values as the peers' (a subject with
    /// spaces, `%` and non-ASCII, an extension, JSON data).
    /// With `bytes`, the data is bytes that are not UTF-8 (`application/octet-stream`).
    static func ourEvent(bytes: Bool = false) throws -> CloudEvent {
        CloudEvent(
            id: "swift-1", source: "/peers/swift", type: "io.cloudevents.peer.swift",
            dataContentType: bytes ? "application/octet-stream" : "application/json",
            subject: #"our "subject": 50% off, na\#u{EF}ve \#u{2603} ok"#,
            time: try Timestamp(rfc3339: "2026-12-03T09:45:00Z"), extensions: ["swiftext": .string("ext value")],
            data: bytes
                ? .binary([0x00, 0xFF, 0xFE, 0x80, 0x0A, 0x25])
                : .json(try RawJSON(validating: #"{"greeting":"hello from Swift","n":3,"list":[1,"two",null]}"#)))
    }

    /// Every content mode with each kind of data the peers send: JSON and bytes.
    static let httpCases = [("binary", "json"), ("structured", "json"), ("binary", "bytes"), ("structured", "bytes")]

    /// Runs `body` (which makes a peer send) while taking the first delivery of `receiver`,
    /// accepting it; returns its event, waiting at most ``stepTimeout``.
    ///
    /// - Throws: ``PeerFailure`` when no delivery arrives in time; what decoding throws.
    static func firstEvent(
        of receiver: any BoundReceiver, whileRunning body: () async throws -> Void
    ) async throws -> CloudEvent {
        try await withThrowingTaskGroup(of: CloudEvent?.self) { group in
            group.addTask {
                for try await delivery in receiver.deliveries() {
                    let event = try delivery.event()
                    delivery.accept()
                    return event
                }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: stepTimeout)
                throw PeerFailure(description: "no delivery at \(receiver.endpoint) within \(stepTimeout)")
            }
            try await body()
            defer { group.cancelAll() }
            guard let event = try await group.next() ?? nil else {
                throw PeerFailure(description: "the deliveries of \(receiver.endpoint) ended without one")
            }
            return event
        }
    }

    /// Checks that `event` (what we decoded) is the event of a peer's line: the same
    /// attributes with the same canonical strings, and equal JSON data.
    static func expectEqual(_ event: CloudEvent, toPeerLine line: [String: Any]) throws {
        #expect(PeerJSON.attributes(of: event) == PeerJSON.attributes(ofLine: line))
        #expect(try PeerJSON.data(of: event) == PeerJSON.canonical(try #require(line["data"])))
    }
}

@Suite("Peer interop over HTTP: the CloudEvents Python SDK", PeerEnvironment.gate)
struct PeerInteropHTTPTests {
    /// The Python SDK encodes (binary or structured, JSON data or bytes) and POSTs; our
    /// receiver decodes the same event.
    @Test(arguments: PeerInterop.httpCases)
    func pythonSDKToOurReceiver(mode: String, data: String) async throws {
        let listen = try Endpoint("http://127.0.0.1:0/events", allowingPortZero: true)
        try await PeerInterop.registry().withReceiver(for: listen, options: PeerInterop.options) { receiver in
            var peer: PeerProcess?
            let event = try await PeerInterop.firstEvent(of: receiver) {
                peer = try PeerProcess("http_peer.py", ["send", receiver.endpoint.description, mode, data])
            }
            let python = try #require(peer)
            let sent = try await python.line(timeout: PeerInterop.stepTimeout) { $0["attributes"] != nil }
            try PeerInterop.expectEqual(event, toPeerLine: sent)
            #expect(event.subject == #"a "subject" with spaces, 100% and caf\#u{E9} \#u{2713}"#)
            #expect(event.extensions["peerext"] == .string("extension value"))
            let status = try await python.line(timeout: PeerInterop.stepTimeout) { $0["status"] != nil }
            #expect(status["status"] as? Int == 202)
            #expect(try await python.exitStatus(timeout: PeerInterop.stepTimeout) == 0)
        }
    }

    /// Our sender (binary or structured, JSON data or bytes) POSTs to the Python SDK's
    /// `from_http`, which reads the same attributes and data.
    @Test(arguments: PeerInterop.httpCases)
    func ourSenderToPythonSDK(mode: String, data: String) async throws {
        let python = try PeerProcess("http_peer.py", ["receive", "0", "1"])
        let listening = try await python.line(timeout: PeerInterop.stepTimeout) { $0["listening"] != nil }
        let port = try #require(listening["listening"] as? Int)
        let event = try PeerInterop.ourEvent(bytes: data == "bytes")
        let target = try Endpoint("http://127.0.0.1:\(port)/events?mode=\(mode)")
        _ = try await PeerInterop.registry().withSender(for: target, options: PeerInterop.options) { sender in
            try await sender.send(event)
        }
        let received = try await python.line(timeout: PeerInterop.stepTimeout) { $0["attributes"] != nil || $0["error"] != nil }
        #expect(received["error"] == nil, "the Python SDK refused our \(mode) request: \(received["error"] ?? "")")
        #expect(PeerJSON.attributes(ofLine: received) == PeerJSON.attributes(of: event))
        #expect(try PeerJSON.canonical(try #require(received["data"])) == PeerJSON.data(of: event))
        #expect(try await python.exitStatus(timeout: PeerInterop.stepTimeout) == 0)
    }
}

@Suite(
    "Peer interop over MQTT: paho-mqtt", PeerEnvironment.gate,
    BrokerRequirement.gate(
        skipComment: BrokerRequirement.skipComment(broker: "MQTT broker", variable: "CE_TEST_MQTT_PORT")
    ) {
        BrokerRequirement.decide(
            broker: "the MQTT broker (mosquitto of Scripts/brokers)",
            listeners: [(variable: "CE_TEST_MQTT_PORT", listener: "plain")], hostVariable: "CE_TEST_MQTT_HOST",
            in: ProcessInfo.processInfo.environment)
    })
struct PeerInteropMQTTTests {
    static var host: String { ProcessInfo.processInfo.environment["CE_TEST_MQTT_HOST"] ?? "127.0.0.1" }
    static var port: String { ProcessInfo.processInfo.environment["CE_TEST_MQTT_PORT"] ?? "1883" }

    /// A topic no other test publishes to.
    static func topic() -> String { "ce-peers/\(UInt64.random(in: 0...UInt64.max))" }

    /// paho publishes (MQTT 5 binary or structured, 3.1.1 structured) with the spec's mapping
    /// done by hand; our MQTT receiver decodes the same event.
    @Test(arguments: [("5", "binary"), ("5", "structured"), ("3.1.1", "structured")])
    func pahoToOurReceiver(version: String, mode: String) async throws {
        let topic = Self.topic()
        let subscribe = try Endpoint("mqtt://\(Self.host):\(Self.port)/\(topic)?version=\(version)&qos=1")
        try await PeerInterop.registry().withReceiver(for: subscribe, options: PeerInterop.options) { receiver in
            var peer: PeerProcess?
            let event = try await PeerInterop.firstEvent(of: receiver) {
                peer = try PeerProcess("mqtt_peer.py", ["publish", Self.host, Self.port, topic, version, mode])
            }
            let paho = try #require(peer)
            let sent = try await paho.line(timeout: PeerInterop.stepTimeout) { $0["attributes"] != nil }
            try PeerInterop.expectEqual(event, toPeerLine: sent)
            #expect(event.extensions["peerext"] == .string("extension value"))
            #expect(try await paho.exitStatus(timeout: PeerInterop.stepTimeout) == 0)
        }
    }

    /// Our MQTT sender publishes; paho's raw view of the PUBLISH shows REFERENCE's mapping:
    /// binary = Content Type property with datacontenttype, one User Property per other
    /// attribute named exactly as it (no prefix, no datacontenttype), payload = the data;
    /// structured = Content Type `application/cloudevents+json` (none in 3.1.1) and the JSON event.
    @Test(arguments: [("5", "binary"), ("5", "structured"), ("3.1.1", "structured")])
    func ourSenderToPaho(version: String, mode: String) async throws {
        let topic = Self.topic()
        let paho = try PeerProcess("mqtt_peer.py", ["subscribe", Self.host, Self.port, topic, version, "1"])
        _ = try await paho.line(timeout: PeerInterop.stepTimeout) { $0["subscribed"] != nil }
        let event = try PeerInterop.ourEvent()
        let target = try Endpoint("mqtt://\(Self.host):\(Self.port)/\(topic)?version=\(version)&qos=1&mode=\(mode)")
        _ = try await PeerInterop.registry().withSender(for: target, options: PeerInterop.options) { sender in
            try await sender.send(event)
        }
        let message = try await paho.line(timeout: PeerInterop.stepTimeout) { $0["topic"] != nil }
        #expect(message["topic"] as? String == topic)
        let payload = try #require((message["payload"] as? [String: Any])?["text"] as? String)
        let userProperties = (message["user_properties"] as? [[String]]) ?? []
        if mode == "binary" {
            #expect(message["content_type"] as? String == "application/json")
            let expected = event.attributes.filter { $0.name != "datacontenttype" }.map { [$0.name, $0.value.canonicalString] }
            #expect(userProperties == expected)
            #expect(try PeerJSON.canonical(bytes: Array(payload.utf8)) == PeerJSON.data(of: event))
        } else {
            #expect(message["content_type"] as? String == (version == "5" ? "application/cloudevents+json" : nil))
            if version == "3.1.1" { #expect(userProperties.isEmpty) }
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any], "\(payload)")
            var attributes = object
            let data = attributes.removeValue(forKey: "data")
            #expect(attributes.mapValues { "\($0)" } == PeerJSON.attributes(of: event))
            #expect(try PeerJSON.canonical(try #require(data)) == PeerJSON.data(of: event))
        }
        #expect(try await paho.exitStatus(timeout: PeerInterop.stepTimeout) == 0)
    }
}

/// The rule deciding whether the peer suites run, skip or fail (no peers or network needed).
@Suite("Peer interop: the environment rule")
struct PeerInteropEnvironmentRuleTests {
    @Test func skipsOnlyWhenNeitherConfiguredNorRequired() {
        #expect(PeerEnvironment.decide(in: [:]) == .skip)
        #expect(PeerEnvironment.decide(in: ["CE_TEST_BROKERS": "0", "CI": "false"]) == .skip)
    }

    @Test(arguments: [["CE_TEST_BROKERS": "1"], ["CI": "true"], ["CI": "TRUE"], ["CI": "1"]])
    func failsWhenRequiredButUnset(environment: [String: String]) throws {
        guard case .fail(let reason) = PeerEnvironment.decide(in: environment) else {
            Issue.record("expected a failure for \(environment)")
            return
        }
        #expect(reason.contains("CE_TEST_PEERS_PYTHON is not set") && reason.contains("Scripts/peers"), "\(reason)")
    }

    @Test func failsForAPythonThatIsNotAnExecutable() {
        let decision = PeerEnvironment.decide(in: ["CE_TEST_PEERS_PYTHON": "/nonexistent/peers-venv/bin/python"])
        #expect(
            decision
                == .fail(
                    "CE_TEST_PEERS_PYTHON=/nonexistent/peers-venv/bin/python is not an executable file. Run Scripts/peers, which prints the path"
                ))
    }

    @Test func runsWithAnExecutableAndThePeerPrograms() {
        #expect(PeerEnvironment.decide(in: ["CE_TEST_PEERS_PYTHON": "/bin/sh"]) == .run)
    }
}
