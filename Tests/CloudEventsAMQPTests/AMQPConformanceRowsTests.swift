import CloudEvents
import CloudEventsAMQP
import CloudEventsConformance
import CloudEventsProtobuf
import CloudEventsTransports
import Testing

@testable import ce

/// The binding's own run of its conformance rows, through the test kit `ce conformance`
/// uses (`ConformanceTarget.amqp` and `.amqpPeer`): every corpus event in each mode and
/// format the binding states, through the real RabbitMQ and peer to peer, plus the wire-shape
/// rows read by a bare proton link and this package's own AMQP decoder.
@Suite(.timeLimit(.minutes(3)))
struct AMQPConformanceRowsTests {
    static let probe = WireProbe.rawAMQP(ProtonRawAMQPReceiver())

    /// Binary, structured JSON and structured Protobuf; each also on the wire.
    static let expectedCells = [
        "binary -", "structured json", "structured protobuf", "binary (wire) -", "structured (wire) json",
        "structured (wire) protobuf"
    ]

    @Test(AMQPBroker.gate) func everyAMQPCellThroughRabbitMQIsFull() async throws {
        let registry = try BindingRegistry([AMQPBinding()])
        let runner = ConformanceRunner(registry: registry, formats: .standardWithProtobuf)
        let list = ConformanceTarget.amqpFromEnvironment(AMQPBroker.environment, wireProbe: Self.probe)
        let broker = try #require(list.targets.first { $0.name == "AMQP" }, "\(list.notRun)")
        let matrix = await runner.run(targets: [broker], crossFormat: false)
        #expect(matrix.isFull, "\(matrix.table())")
        #expect(matrix.cells.map { "\($0.mode) \($0.format ?? "-")" } == Self.expectedCells, "\(matrix.table())")
        #expect(matrix.cells.allSatisfy { $0.total == Corpus.events.count })
    }

    @Test func everyAMQPCellPeerToPeerIsFull() async throws {
        let registry = try BindingRegistry([AMQPBinding()])
        let runner = ConformanceRunner(registry: registry, formats: .standardWithProtobuf)
        let matrix = await runner.run(targets: [.amqpPeer(wireProbe: Self.probe)], crossFormat: false)
        #expect(matrix.isFull, "\(matrix.table())")
        #expect(matrix.cells.map { "\($0.mode) \($0.format ?? "-")" } == Self.expectedCells, "\(matrix.table())")
    }
}
