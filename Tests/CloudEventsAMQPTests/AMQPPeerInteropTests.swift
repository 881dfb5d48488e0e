import CloudEvents
import CloudEventsAMQP
import CloudEventsTestSupport
import CloudEventsTransports
import Foundation
import Testing

/// The independent AMQP peer (`Conformance/Peers/amqp_peer.py`: python-qpid-proton with the
/// CloudEvents Python SDK, the AMQP binding done by hand as REFERENCE §3.3 maps it), run by
/// the python of `Scripts/peers` (`CE_TEST_PEERS_PYTHON`) through the real RabbitMQ, both ways.
/// Here rather than beside the HTTP and MQTT peers because only this test target links the
/// AMQP binding; `--filter PeerInterop` runs them all.
enum AMQPPeer {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// Run, skip naming `Scripts/peers`, or fail: the broker suites' rule, for the peer's python
    /// and the broker together.
    static func requirement() -> BrokerRequirement {
        let broker = AMQPBroker.requirement()
        guard broker == .run else { return broker }
        guard let python = environment["CE_TEST_PEERS_PYTHON"], !python.isEmpty else {
            guard BrokerRequirement.isRequired(by: environment) else { return .skip }
            return .fail(
                "the independent peers are required (CE_TEST_BROKERS=1 or CI=true) but CE_TEST_PEERS_PYTHON is not set. "
                    + #"Prepare them: export CE_TEST_PEERS_PYTHON="$(Scripts/peers)""#)
        }
        guard FileManager.default.isExecutableFile(atPath: python) else {
            return .fail("CE_TEST_PEERS_PYTHON=\(python) is not an executable file. Run Scripts/peers, which prints the path")
        }
        guard FileManager.default.fileExists(atPath: script) else { return .fail("the peer program \(script) is missing") }
        return .run
    }

    static let gate = BrokerRequirement.gate(
        skipComment: Comment(
            rawValue: "SKIPPED: no AMQP broker or no independent peers (CE_TEST_AMQP_PORT or CE_TEST_PEERS_PYTHON unset). "
                + #"Run these: eval "$(Scripts/brokers env)"; export CE_TEST_PEERS_PYTHON="$(Scripts/peers)""#)
    ) { requirement() }

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Conformance/Peers/amqp_peer.py").path

    /// The broker URL the peer connects to (SASL PLAIN).
    static var brokerURL: String {
        let user = environment["CE_TEST_AMQP_USERNAME"] ?? "guest"
        let password = environment["CE_TEST_AMQP_PASSWORD"] ?? "guest"
        return "amqp://\(user):\(password)@\(AMQPBroker.host):\(AMQPBroker.port)"
    }

    /// Our endpoint for `queue`, in `mode`.
    static func endpoint(queue: String, mode: String = "binary") throws -> Endpoint {
        try Endpoint("\(brokerURL)//queue/\(queue)?mode=\(mode)")
    }

    static let options = BindingOptions(timeout: .seconds(30), retries: 0)

    /// Starts the peer with `arguments`; its output goes to a temporary file.
    static func start(_ arguments: [String]) throws -> SpawnedProcess {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("amqp-peer-\(UUID().uuidString).log").path
        return try SpawnedProcess(
            environment["CE_TEST_PEERS_PYTHON"] ?? "python3", ["-u", script] + arguments, outputPath: output)
    }

    /// The peer's JSON-object output lines (other lines, such as warnings, skipped).
    static func lines(_ process: SpawnedProcess) -> [[String: Any]] {
        process.output.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }

    /// Waits up to 60 s for `count` lines satisfying `predicate`.
    static func waitForLines(
        _ process: SpawnedProcess, count: Int = 1, where predicate: @escaping ([String: Any]) -> Bool = { _ in true }
    ) async throws -> [[String: Any]] {
        let found = await pollUntil(timeout: .seconds(60)) { lines(process).filter(predicate).count >= count }
        guard found else { throw PeerTimeout(description: "the AMQP peer printed no expected line; output: \(process.output)") }
        return lines(process).filter(predicate)
    }

    struct PeerTimeout: Error, CustomStringConvertible {
        var description: String
    }

    /// The event we send: hostile strings, an Integer, a Boolean and a Binary extension, a
    /// millisecond time, JSON data.
    static func ourEvent() throws -> CloudEvent {
        CloudEvent(
            id: "swift-amqp-1", source: "/peers/swift", type: "io.cloudevents.peer.swift",
            dataContentType: "application/json", subject: #"our "subject": 50% off, na\#u{EF}ve \#u{2603} ok"#,
            time: try Timestamp(rfc3339: "2026-12-03T09:45:00.125Z"),
            extensions: [
                "swiftext": .string("ext value"), "swiftcount": .integer(-7), "swiftflag": .boolean(false),
                "swiftbytes": .binary([0x00, 0xFF, 0x10])
            ],
            data: .json(try RawJSON(validating: #"{"greeting":"hello from Swift","n":3,"list":[1,"two",null]}"#)))
    }

    /// `event`'s attributes as canonical strings, the time as its instant in milliseconds
    /// (the peer writes `.250Z`, Swift `.25Z`: the same instant).
    static func attributes(of event: CloudEvent) -> [String: String] {
        var result: [String: String] = [:]
        for (name, value) in event.attributes {
            if case .timestamp(let time) = value {
                result[name] = "\(time.secondsSinceEpoch * 1000 + Int64(time.nanosecond / 1_000_000)) ms"
            } else {
                result[name] = value.canonicalString
            }
        }
        return result
    }

    /// The attributes of a peer event line, the time as its instant in milliseconds.
    static func attributes(ofLine line: [String: Any]) throws -> [String: String] {
        var result: [String: String] = [:]
        for (name, value) in (line["attributes"] as? [String: Any]) ?? [:] {
            result[name] = "\(value)"
            if name == "time", let text = value as? String {
                let time = try Timestamp(rfc3339: text)
                result[name] = "\(time.secondsSinceEpoch * 1000 + Int64(time.nanosecond / 1_000_000)) ms"
            }
        }
        return result
    }

    /// JSON as canonical text (sorted keys).
    static func canonicalJSON(_ value: Any) throws -> String {
        String(
            decoding: try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]),
            as: UTF8.self)
    }
}

@Suite("Peer interop over AMQP: python-qpid-proton through RabbitMQ", AMQPPeer.gate, .timeLimit(.minutes(2)))
struct AMQPPeerInteropTests {
    /// The peer sends (typed binary, structured JSON, binary with `cloudEvents:` and every
    /// value a string); our receiver decodes the same event, and from typed values the
    /// extension types travel.
    @Test(arguments: ["binary", "structured", "binary-colon-strings"])
    func thePeersEventDecodes(mode: String) async throws {
        let queue = AMQPBroker.uniqueQueue("peerSends\(mode)")
        let registry = try BindingRegistry([AMQPBinding()])
        try await registry.withReceiver(for: AMQPPeer.endpoint(queue: queue), options: AMQPPeer.options) { receiver in
            let peer = try AMQPPeer.start(["send", AMQPPeer.brokerURL, "/queue/\(queue)", mode])
            var iterator = receiver.deliveries().makeAsyncIterator()
            let delivery = try #require(try await iterator.next(), "no delivery; peer output: \(peer.output)")
            let event = try delivery.event()
            #expect(delivery.accept())
            let lines = try await AMQPPeer.waitForLines(peer, count: 2)
            #expect(lines.last?["outcome"] as? String == "accepted", "\(peer.output)")
            #expect(AMQPPeer.attributes(of: event) == (try AMQPPeer.attributes(ofLine: lines[0])))
            let data = try #require(event.data).bodyBytes(contentType: event.dataContentType)
            #expect(
                try AMQPPeer.canonicalJSON(JSONSerialization.jsonObject(with: Data(data)))
                    == AMQPPeer.canonicalJSON(try #require(lines[0]["data"])))
            if mode == "binary" {
                #expect(event[attribute: "peercount"] == .integer(42))
                #expect(event[attribute: "peerflag"] == .boolean(true))
                #expect(event[attribute: "peerbytes"] == .binary(Array("\u{0}".utf8) + [0xFF] + Array(" binary".utf8)))
                #expect(event[attribute: "time"]?.type == .timestamp)
            }
            _ = await peer.waitForExit(timeout: .seconds(90))
        }
    }

    /// We send binary and structured; the peer reads the raw message with proton and the
    /// event with the Python SDK: exact property names, AMQP types of §3.3's table, the
    /// content-type a symbol, one data section, and the same event.
    @Test(arguments: ["binary", "structured"])
    func ourEventReachesThePeer(mode: String) async throws {
        let queue = AMQPBroker.uniqueQueue("weSend\(mode)")
        let peer = try AMQPPeer.start(["receive", AMQPPeer.brokerURL, "/queue/\(queue)", "1"])
        _ = try await AMQPPeer.waitForLines(peer) { $0["attached"] as? Bool == true }
        let event = try AMQPPeer.ourEvent()
        let registry = try BindingRegistry([AMQPBinding()])
        try await registry.withSender(for: AMQPPeer.endpoint(queue: queue, mode: mode), options: AMQPPeer.options) {
            _ = try await $0.send(event)
        }
        let line = try #require(try await AMQPPeer.waitForLines(peer) { $0["event"] != nil }.first)
        let body = try #require(line["body"] as? [String: Any])
        #expect(body["section"] as? String == "data", "\(line)")
        #expect(line["content_type_type"] as? String == "symbol", "\(line)")
        let properties = (line["properties"] as? [[Any]]) ?? []
        let types = Dictionary(properties.map { ("\($0[0])", "\($0[1])") }) { first, _ in first }
        if mode == "binary" {
            #expect(line["content_type"] as? String == "application/json")
            let expected: [String: String] = [
                "cloudEvents_specversion": "string", "cloudEvents_id": "string", "cloudEvents_source": "string",
                "cloudEvents_type": "string", "cloudEvents_subject": "string", "cloudEvents_time": "timestamp",
                "cloudEvents_swiftext": "string", "cloudEvents_swiftcount": "long", "cloudEvents_swiftflag": "boolean",
                "cloudEvents_swiftbytes": "binary"
            ]
            #expect(types == expected, "\(line)")
            #expect(properties.count == expected.count, "a property repeats: \(line)")
        } else {
            #expect((line["content_type"] as? String)?.hasPrefix("application/cloudevents+json") == true, "\(line)")
            #expect(properties.isEmpty, "\(line)")
        }
        let peerEvent = try #require(line["event"] as? [String: Any])
        #expect(peerEvent["error"] == nil, "\(line)")
        #expect(AMQPPeer.attributes(of: event) == (try AMQPPeer.attributes(ofLine: peerEvent)), "\(line)")
        let data = try #require(event.data).bodyBytes(contentType: event.dataContentType)
        #expect(
            try AMQPPeer.canonicalJSON(JSONSerialization.jsonObject(with: Data(data)))
                == AMQPPeer.canonicalJSON(try #require(peerEvent["data"])))
        #expect(await peer.waitForExit(timeout: .seconds(90)) == .exited(0), "\(peer.output)")
    }
}
