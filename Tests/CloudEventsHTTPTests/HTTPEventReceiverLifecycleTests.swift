import AsyncHTTPClient
import CloudEvents
import CloudEventsHTTP
import HTTPTypes
import Logging
import NIOPosix
import ServiceLifecycle
import Testing

@Suite("HTTP receiver lifecycle and limits", .timeLimit(.minutes(1)))
struct HTTPEventReceiverLifecycleTests {
    @Test func oversizeHeadersGet431() async throws {
        var configuration = HTTPReceiverConfiguration()
        configuration.maximumHeaderSize = 512
        let requestFields = fields([
            ("ce-specversion", "1.0"), ("ce-id", "1"), ("ce-source", "/s"), ("ce-type", "t"),
            ("ce-big", String(repeating: "x", count: 1024))
        ])
        try await withReceiver(configuration) { port, client, received in
            let response = try await post(client, port: port, fields: requestFields, body: [])
            #expect(response.status == 431)
            #expect(received.all.isEmpty)
        }
    }

    @Test func gracefulShutdownEndsRunAndTheDeliveryStream() async throws {
        let receiver = try await HTTPEventReceiver.bind()
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [receiver], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask {
                var count = 0
                for try await delivery in receiver.deliveries() {
                    count += 1
                    delivery.accept()
                }
                #expect(count == 1)
            }
            let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
            let (requestFields, body) = try CloudEvent(id: "1", source: "/s", type: "t").httpFields()
            let response = try await post(client, port: receiver.port, fields: requestFields, body: body)
            #expect(response.status == 202)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            try await client.shutdown()
        }
    }
}
