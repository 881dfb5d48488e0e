import CloudEventsTestSupport
import Foundation
import Testing

/// `PrivateRabbitMQ` itself: the tests that restart a broker mid-stream rely on it coming up,
/// going down (gracefully or as a crash) and coming back on the same port.
@Suite(
    "A private RabbitMQ starts, stops and restarts on its own ports",
    BrokerRequirement.gate(skipComment: PrivateRabbitMQRequirement.skipComment) {
        PrivateRabbitMQRequirement.decide(in: ProcessInfo.processInfo.environment)
    })
struct BindingPrivateRabbitMQTests {
    @Test func itRestartsOnTheSamePortAndShutsDownCompletely() async throws {
        var ports: (amqp: Int, epmd: Int) = (0, 0)
        try await PrivateRabbitMQ.withBroker { broker in
            ports = (broker.port, broker.epmdPort)
            #expect(AMQPProtocolHeader.answers(port: broker.port))

            await broker.stop()
            #expect(!TCPProbe.accepts(host: "127.0.0.1", port: broker.port, timeoutMilliseconds: 500))
            try await broker.start()
            #expect(AMQPProtocolHeader.answers(port: broker.port))

            try await broker.restart(graceful: false)
            #expect(AMQPProtocolHeader.answers(port: broker.port))
        }
        #expect(!TCPProbe.accepts(host: "127.0.0.1", port: ports.amqp, timeoutMilliseconds: 500))
        #expect(!TCPProbe.accepts(host: "127.0.0.1", port: ports.epmd, timeoutMilliseconds: 500))
    }
}
