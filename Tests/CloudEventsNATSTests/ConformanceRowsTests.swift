import CloudEvents
import CloudEventsConformance
import CloudEventsNATS
import CloudEventsProtobuf
import CloudEventsTransports
import Testing

/// The binding's own run of its conformance rows, through the test kit `ce conformance` uses
/// (`ConformanceTarget.nats` and `.natsFromEnvironment`): every corpus event in each mode and
/// format the binding states through the real nats-server, plus the wire-shape rows read by
/// the conformance module's raw NATS subscriber (its own parser, not the binding's client).
@Suite("NATS conformance rows", NATSBroker.gate, .timeLimit(.minutes(3)))
struct ConformanceRowsTests {
    /// Binary, structured JSON and structured Protobuf; each also on the wire.
    static let expectedCells = [
        "binary -", "structured json", "structured protobuf", "binary (wire) -", "structured (wire) json",
        "structured (wire) protobuf"
    ]

    @Test func everyNATSCellIsFull() async throws {
        let registry = try BindingRegistry([NATSBinding()])
        let runner = ConformanceRunner(registry: registry, formats: .standardWithProtobuf)
        let list = ConformanceTarget.natsFromEnvironment(NATSBroker.environment)
        let target = try #require(list.targets.first { $0.name == "NATS" }, "\(list.notRun)")
        let matrix = await runner.run(targets: [target], crossFormat: false)
        #expect(matrix.isFull, "\(matrix.table())")
        #expect(matrix.cells.map { "\($0.mode) \($0.format ?? "-")" } == Self.expectedCells, "\(matrix.table())")
        #expect(matrix.cells.allSatisfy { $0.total == Corpus.events.count })
    }

    /// The same rows through the server that wants a user and password (the raw subscriber
    /// authenticates too), JSON only to keep it short.
    @Test func theRowsPassWithCredentials() async throws {
        let registry = try BindingRegistry([NATSBinding()])
        let runner = ConformanceRunner(registry: registry, formats: .standard)
        let target = ConformanceTarget.nats(
            host: NATSBroker.host, port: NATSBroker.authPort,
            username: NATSBroker.username, password: NATSBroker.password)
        let matrix = await runner.run(targets: [target], crossFormat: false)
        #expect(matrix.isFull, "\(matrix.table())")
        #expect(
            matrix.cells.map { "\($0.mode) \($0.format ?? "-")" }
                == ["binary -", "structured json", "binary (wire) -", "structured (wire) json"], "\(matrix.table())")
    }

    @Test func theTargetComesFromTheEnvironment() {
        let without = ConformanceTarget.natsFromEnvironment([:])
        #expect(without.targets.isEmpty && without.notRun.first?.contains("CE_TEST_NATS_PORT is not set") == true)
        let bad = ConformanceTarget.natsFromEnvironment(["CE_TEST_NATS_PORT": "x"])
        #expect(bad.targets.isEmpty && bad.notRun.first?.contains("'x' is not a port number") == true)
        let with = ConformanceTarget.natsFromEnvironment(["CE_TEST_NATS_HOST": "127.0.0.2", "CE_TEST_NATS_PORT": "4999"])
        #expect(with.targets == [.nats(host: "127.0.0.2", port: 4999)] && with.notRun.isEmpty)
        #expect(with.targets.first?.receiverEndpoint == "nats://127.0.0.2:4999/ce-conformance.{cell}")
        #expect(with.targets.first?.wireProbe == .rawNATS)
        #expect(
            ConformanceTarget.nats(host: "h", port: 1, username: "u@x", password: "p w").receiverEndpoint
                == "nats://u%40x:p%20w@h:1/ce-conformance.{cell}")
    }
}
