import CloudEvents
import CloudEventsConformance
import CloudEventsHTTP
import CloudEventsProtobuf
import CloudEventsTransports
import Testing

/// The binding's own run of its conformance rows, through the test kit `ce conformance`
/// uses (`ConformanceTarget.http`): every corpus event in binary, structured and batch mode,
/// JSON and Protobuf, over a real receiver, plus the wire-shape rows read by a raw peer.
@Suite(.timeLimit(.minutes(2)))
struct HTTPConformanceRowsTests {
    @Test func everyHTTPCellIsFull() async throws {
        let registry = try BindingRegistry([HTTPBinding()])
        let runner = ConformanceRunner(registry: registry, formats: .standardWithProtobuf)
        let matrix = await runner.run(targets: [.http], crossFormat: false)
        #expect(matrix.isFull, "\(matrix.table())")
        #expect(matrix.cells.count == 10, "binary, structured and batch per format, each also on the wire")
    }
}
