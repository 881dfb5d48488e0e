import CloudEvents
import CloudEventsConformance
import CloudEventsMQTT
import CloudEventsProtobuf
import CloudEventsTransports
import Testing

/// The binding's own run of its conformance rows, through the test kit `ce conformance`
/// uses (`ConformanceTarget.mqtt5` and `.mqtt311`): every corpus event in each mode the
/// binding states for the version, over the real broker, plus the wire-shape rows read by a
/// raw MQTT client.
@Suite(.mqttBroker, .timeLimit(.minutes(2)))
struct MQTTConformanceRowsTests {
    @Test func everyMQTTCellIsFull() async throws {
        let registry = try BindingRegistry([MQTTBinding()])
        let runner = ConformanceRunner(registry: registry, formats: .standardWithProtobuf)
        let targets: [ConformanceTarget] = [
            .mqtt5(host: Broker.host, port: Broker.port()), .mqtt311(host: Broker.host, port: Broker.port())
        ]
        let matrix = await runner.run(targets: targets, crossFormat: false)
        #expect(matrix.isFull, "\(matrix.table())")
        // MQTT 5: binary, structured JSON and Protobuf; MQTT 3.1.1: structured JSON; each also on the wire.
        #expect(matrix.cells.count == 8)
    }
}
