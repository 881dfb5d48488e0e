import CloudEvents
import Foundation
import Testing

@testable import CloudEventsConformance

/// The NATS wire-shape rules against a writer that is not ours: the nats-py peer
/// (`Conformance/Peers/nats_peer.py`, REFERENCE §3.4 done by hand) publishes its event in each
/// mode, the raw NATS subscriber reads it, and the rules find nothing wrong; so the wire rows
/// check the binding's shape, not this toolkit's habits. (A 1.0.2-style message without
/// headers breaks the rule this toolkit's writer follows, and the rules say so.)
@Suite("Wire shape: NATS rules on the nats-py peer's messages", PeerEnvironment.gate, NATSServerGate.gate)
struct WireShapeNATSPeerTests {
    /// The peer's event (`PEER_ATTRIBUTES` and `PEER_DATA` of nats_peer.py).
    static func peerEvent() throws -> CloudEvent {
        CloudEvent(
            id: "nats-peer-1", source: "/peers/nats-py", type: "io.cloudevents.peer.natspy",
            dataContentType: "application/json",
            subject: "a \"subject\" with spaces, 100% and caf\u{E9} \u{2713} \u{1F600}",
            time: try Timestamp(rfc3339: "2026-12-03T09:30:15.250Z"),
            extensions: ["peerext": .string("extension value"), "peercount": .integer(42)],
            data: .json(try RawJSON(validating: #"{"greeting": "hello from nats-py", "n": 7, "nested": {"ok": true}}"#)))
    }

    @Test(.timeLimit(.minutes(1)), arguments: ["binary", "structured", "structured-no-headers"])
    func thePeersMessageMeetsTheRules(mode: String) async throws {
        let subject = NATSServerGate.uniqueSubject("peerwire")
        let event = try Self.peerEvent()
        try await RawNATSConnection.withConnection(
            host: NATSServerGate.host, port: NATSServerGate.port, subscribingTo: subject, timeout: .seconds(30)
        ) { raw in
            let peer = try PeerProcess(
                "nats_peer.py", ["publish", "nats://\(NATSServerGate.host):\(NATSServerGate.port)", subject, mode])
            _ = try await peer.line(timeout: .seconds(60))
            #expect(try await peer.exitStatus(timeout: .seconds(60)) == 0)
            let message = try #require(await raw.next(before: .now + .seconds(30)), "the raw subscriber read nothing")
            let contentMode: ContentMode = mode == "binary" ? .binary : .structured
            let violations = WireShape.violations(
                of: .nats(message), event: event, mode: contentMode, format: JSONEventFormat()
            ).map(\.description)
            if mode == "structured-no-headers" {
                #expect(
                    violations == [
                        "header block: structured mode carries Content-Type: the message must have a header block (HPUB), it had none (PUB)"
                    ])
            } else {
                #expect(violations == [], "\(message)")
            }
        }
    }
}
