import CloudEvents
import CloudEventsConformance
import CloudEventsNATS
import CloudEventsTestSupport
import CloudEventsTransports
import Foundation
import Testing

/// The independent NATS peer (`Conformance/Peers/nats_peer.py`: nats-py with the CloudEvents
/// Python SDK, the NATS binding done by hand as REFERENCE §3.4 maps it), run by the python of
/// `Scripts/peers` (`CE_TEST_PEERS_PYTHON`) through the shared nats-server, both ways. Here
/// rather than beside the HTTP and MQTT peers because only this test target links the NATS
/// binding; `--filter PeerInterop` runs them all.
enum NATSPeer {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// Run, skip naming `Scripts/peers`, or fail: the broker suites' rule, for the peer's
    /// python and the server together.
    static func requirement() -> BrokerRequirement {
        let server = NATSBroker.requirement()
        guard server == .run else { return server }
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
            rawValue: "SKIPPED: no NATS server or no independent peers (CE_TEST_NATS_PORT or CE_TEST_PEERS_PYTHON unset). "
                + #"Run these: eval "$(Scripts/brokers env)"; export CE_TEST_PEERS_PYTHON="$(Scripts/peers)""#)
    ) { requirement() }

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Conformance/Peers/nats_peer.py").path

    /// The server URL the peer connects to.
    static var serverURL: String { "nats://\(NATSBroker.host):\(NATSBroker.port)" }

    static let options = BindingOptions(timeout: .seconds(30), retries: 0)

    /// Starts the peer with `arguments`; its output goes to a temporary file.
    static func start(_ arguments: [String]) throws -> SpawnedProcess {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("nats-peer-\(UUID().uuidString).log").path
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
        guard found else { throw PeerTimeout(description: "the NATS peer printed no expected line; output: \(process.output)") }
        return lines(process).filter(predicate)
    }

    struct PeerTimeout: Error, CustomStringConvertible {
        var description: String
    }

    /// The event we send: hostile strings (space, quote, percent, non-ASCII, emoji), an
    /// Integer, a Boolean and a Binary extension, a millisecond time, JSON data.
    static func ourEvent() throws -> CloudEvent {
        CloudEvent(
            id: "swift-nats-1", source: "/peers/swift", type: "io.cloudevents.peer.swift",
            dataContentType: "application/json", subject: #"our "subject": 50% off, na\#u{EF}ve \#u{2603} ok 😀"#,
            time: try Timestamp(rfc3339: "2026-12-03T09:45:00.125Z"),
            extensions: [
                "swiftext": .string("ext value"), "swiftcount": .integer(-7), "swiftflag": .boolean(false),
                "swiftbytes": .binary([0x00, 0xFF, 0x10])
            ],
            data: .json(try RawJSON(validating: #"{"greeting":"hello from Swift","n":3,"list":[1,"two",null]}"#)))
    }

    /// `event`'s attributes as canonical strings, the time as its instant in milliseconds
    /// (the peer writes `.250Z`, Swift may write `.25Z`: the same instant).
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

@Suite("Peer interop over NATS: nats-py through nats-server", NATSPeer.gate, .timeLimit(.minutes(2)))
struct NATSPeerInteropTests {
    /// The peer publishes (binary with every attribute as a percent-encoded `ce-` header,
    /// structured JSON with Content-Type, and structured JSON without any header block as the
    /// 1.0.2 binding sends it); our receiver decodes the same event.
    @Test(arguments: ["binary", "structured", "structured-no-headers"])
    func thePeersEventDecodes(mode: String) async throws {
        let subject = NATSBroker.uniqueSubject("peerSends\(mode)")
        let registry = try BindingRegistry([NATSBinding()])
        try await registry.withReceiver(
            for: NATSBroker.endpoint(subject: subject), options: NATSPeer.options
        ) { receiver in
            // The deliveries go to an inbox, so that waiting for the peer's is bounded (60 s).
            let inbox = ConformanceInbox<Result<CloudEvent, MessageError>>()
            let reader = Task {
                for try await delivery in receiver.deliveries() {
                    do throws(MessageError) {
                        inbox.post(.success(try delivery.event()))
                    } catch {
                        inbox.post(.failure(error))
                    }
                    _ = delivery.accept()
                }
            }
            defer { reader.cancel() }
            let peer = try NATSPeer.start(["publish", NATSPeer.serverURL, subject, mode])
            let received = await inbox.next(before: .now + .seconds(60))
            let event = try #require(try received?.get(), "no delivery within 60 s; peer output: \(peer.output)")
            let lines = try await NATSPeer.waitForLines(peer)
            #expect(NATSPeer.attributes(of: event) == (try NATSPeer.attributes(ofLine: lines[0])), "\(peer.output)")
            #expect(event.subject == "a \"subject\" with spaces, 100% and caf\u{E9} \u{2713} \u{1F600}")
            let data = try #require(event.data).bodyBytes(contentType: event.dataContentType)
            #expect(
                try NATSPeer.canonicalJSON(JSONSerialization.jsonObject(with: Data(data)))
                    == NATSPeer.canonicalJSON(try #require(lines[0]["data"])))
            #expect(await peer.waitForExit(timeout: .seconds(90)) == .exited(0), "\(peer.output)")
        }
    }

    /// We send binary and structured; the peer reads the raw headers with nats-py and the
    /// event as §3.4 maps it: lowercase `ce-` names for every attribute, `ce-datacontenttype`
    /// and no Content-Type in binary mode, values that percent-decode strictly to the same
    /// event; Content-Type and the JSON event in structured mode.
    @Test(arguments: ["binary", "structured"])
    func ourEventReachesThePeer(mode: String) async throws {
        let subject = NATSBroker.uniqueSubject("weSend\(mode)")
        let peer = try NATSPeer.start(["subscribe", NATSPeer.serverURL, subject, "1"])
        _ = try await NATSPeer.waitForLines(peer) { $0["subscribed"] as? Bool == true }
        let event = try NATSPeer.ourEvent()
        let registry = try BindingRegistry([NATSBinding()])
        try await registry.withSender(
            for: NATSBroker.endpoint(subject: subject, mode: mode), options: NATSPeer.options
        ) {
            _ = try await $0.send(event)
        }
        let line = try #require(try await NATSPeer.waitForLines(peer) { $0["event"] != nil }.first)
        let headers = ((line["headers"] as? [[Any]]) ?? []).map { ("\($0[0])", "\($0[1])") }
        let names = headers.map(\.0)
        if mode == "binary" {
            let expected = Set(event.attributes.map { "ce-" + $0.name })
            #expect(Set(names.filter { $0.lowercased().hasPrefix("ce-") }) == expected, "\(line)")
            #expect(names.allSatisfy { !$0.hasPrefix("ce-") || $0 == $0.lowercased() }, "\(line)")
            #expect(!names.contains { $0.lowercased() == "content-type" }, "\(line)")
            #expect(headers.first { $0.0 == "ce-datacontenttype" }?.1 == "application/json", "\(line)")
            #expect(headers.allSatisfy { !$0.1.contains(" ") && !$0.1.contains("\"") }, "\(line)")
        } else {
            #expect(names == ["Content-Type"], "\(line)")
            #expect(headers.first?.1.hasPrefix("application/cloudevents+json") == true, "\(line)")
        }
        let peerEvent = try #require(line["event"] as? [String: Any])
        #expect(peerEvent["error"] == nil, "\(line)")
        #expect(NATSPeer.attributes(of: event) == (try NATSPeer.attributes(ofLine: peerEvent)), "\(line)")
        let data = try #require(event.data).bodyBytes(contentType: event.dataContentType)
        #expect(
            try NATSPeer.canonicalJSON(JSONSerialization.jsonObject(with: Data(data)))
                == NATSPeer.canonicalJSON(try #require(peerEvent["data"])))
        #expect(await peer.waitForExit(timeout: .seconds(90)) == .exited(0), "\(peer.output)")
    }
}
