import AsyncHTTPClient
import CloudEvents
import CloudEventsHTTP
import CloudEventsTestSupport
import HTTPTypes
import Logging
import NIOPosix
import ServiceLifecycle
import Synchronization
import Testing

/// Refusals, timeouts and retries go through the binding's logger (issue 11: `ce listen`
/// printed nothing for the 400, 413 and 431 it answered), and the sender is a `Service`.
@Suite("HTTP logging and sender lifecycle", .timeLimit(.minutes(1)))
struct HTTPLoggingAndLifecycleTests {
    @Test func refusalsAreLoggedWithStatusReasonAndRemoteAddress() async throws {
        let logs = CapturedLogs()
        var configuration = HTTPReceiverConfiguration()
        configuration.logger = logs.logger()
        configuration.maximumBodySize = 16
        try await withReceiver(configuration) { port, client, received in
            // No ce-id: 400.
            let invalid = fields([("ce-specversion", "1.0"), ("ce-source", "/s"), ("ce-type", "t")])
            #expect(try await post(client, port: port, fields: invalid, body: []).status == 400)
            let (valid, _) = try CloudEvent(id: "1", source: "/s", type: "t").httpFields()
            #expect(try await post(client, port: port, fields: valid, body: Array(repeating: 65, count: 64)).status == 413)
            #expect(received.all.isEmpty)
        }
        let refusals = logs.all.filter { $0.message == "refused an HTTP request" }
        #expect(refusals.map(\.metadata["status"]) == ["400", "413"])
        #expect(refusals.allSatisfy { $0.level == .warning })
        #expect(refusals.first?.metadata["reason"]?.contains("id") == true)
        #expect(refusals.allSatisfy { $0.metadata["remote_address"]?.hasPrefix("127.0.0.1:") == true })
    }

    @Test func timeoutsThatCloseConnectionsAreLogged() async throws {
        let logs = CapturedLogs()
        var configuration = HTTPReceiverConfiguration()
        configuration.logger = logs.logger()
        configuration.settlementTimeout = .milliseconds(200)
        let held = Mutex<[Delivery]>([])
        let (requestFields, body) = try CloudEvent(id: "1", source: "/s", type: "t").httpFields()
        try await withReceiver(configuration, settle: { delivery in held.withLock { $0.append(delivery) } }) {
            port, client, _ in
            let response = try await post(client, port: port, fields: requestFields, body: body)
            #expect(response.status == 503)
        }
        held.withLock { $0.removeAll() }
        let timedOut = logs.all.filter { $0.message.contains("not settled in time") }
        #expect(timedOut.count == 1)
        #expect(timedOut.first?.metadata["status"] == "503")
        #expect(timedOut.first?.level == .warning)
    }

    @Test func senderRetriesAndGiveUpsAreLogged() async throws {
        let logs = CapturedLogs()
        try await ScriptedServer.with([.init(status: 503)]) { port, _ in
            var configuration = HTTPSenderConfiguration(
                url: "http://user:secret@127.0.0.1:\(port)/",
                retry: HTTPRetryPolicy(maximumAttempts: 2, backoff: .linear(step: .milliseconds(10), jitter: 0)))
            configuration.logger = logs.logger()
            try await HTTPEventSender.withSender(configuration: configuration) { sender in
                let error = try await #require(throws: TransportError.self) {
                    try await sender.send(CloudEvent(id: "1", source: "/s", type: "t"))
                }
                #expect(error.code == .notDelivered)
                #expect(!error.message.contains("secret"))
            }
            #expect(logs.all.first?.metadata["endpoint"] == "http://user:***@127.0.0.1:\(port)/")
        }
        let retry = try #require(logs.all.first { $0.message == "retrying the send" })
        #expect(retry.level == .warning)
        #expect(retry.metadata["attempt"] == "1")
        #expect(retry.metadata["delay_ms"] == "10")
        #expect(retry.metadata["status"] == "503")
        let gaveUp = try #require(logs.all.first { $0.message == "gave up sending the event" })
        #expect(gaveUp.level == .error)
        #expect(gaveUp.metadata["attempt"] == "2")
        #expect(logs.all.allSatisfy { !($0.metadata["endpoint"] ?? "").contains("secret") })
    }

    /// The sender as a `Service`: `run()` holds it until the group shuts down gracefully,
    /// then shuts it down (sending afterwards fails).
    @Test func senderRunsAsAServiceUntilGracefulShutdown() async throws {
        try await withReceiver { port, _, received in
            let sender = try HTTPEventSender(configuration: .init(url: "http://127.0.0.1:\(port)/"))
            let group = ServiceGroup(
                configuration: ServiceGroupConfiguration(services: [sender], logger: Logger(label: "test")))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                try await sender.send(CloudEvent(id: "svc-1", source: "/service", type: "com.example.service"))
                #expect(received.all.count == 1)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            await #expect(throws: (any Error).self) {
                try await sender.send(CloudEvent(id: "svc-2", source: "/service", type: "com.example.service"))
            }
            // Shutting down again does nothing.
            try await sender.shutdown()
        }
    }
}
