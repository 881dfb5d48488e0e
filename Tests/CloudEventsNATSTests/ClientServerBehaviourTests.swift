import CloudEvents
import CloudEventsNATS
import CloudEventsTestSupport
import Foundation
import Logging
import Testing

/// The client's answers to what a server does after the handshake (a scripted server, no broker):
/// unanswered PINGs, `-ERR 'Slow Consumer'`, a permissions violation, servers announced in INFO.
@Suite struct ClientServerBehaviourTests {
    private func configuration(port: Int, logs: CapturedLogs) -> NATSClientConfiguration {
        var configuration = NATSClientConfiguration(host: "127.0.0.1", port: port)
        configuration.reconnect = .exponential(initial: .milliseconds(20), maximum: .milliseconds(100))
        configuration.operationTimeout = .seconds(30)
        configuration.logger = logs.logger()
        return configuration
    }

    @Test func unansweredPingsMakeTheConnectionStaleAndItIsReplaced() async throws {
        let server = try await ClientFakeServer(afterHandshake: [], answersPings: false)
        let logs = CapturedLogs()
        var configuration = configuration(port: server.port, logs: logs)
        configuration.pingInterval = .milliseconds(50)
        configuration.maximumOutstandingPings = 2
        let client = try await NATSClient.connect(configuration: configuration)
        #expect(await pollUntil(timeout: .seconds(30)) { server.connections >= 2 })
        #expect(server.pings >= 2)
        #expect(logs.all.contains { $0.metadata["reason"]?.contains("stale connection") == true })
        await client.close()
        await server.stop()
    }

    @Test func answeredPingsKeepTheConnection() async throws {
        let server = try await ClientFakeServer(afterHandshake: [], answersPings: true)
        var configuration = configuration(port: server.port, logs: CapturedLogs())
        // 40 PINGs with at most 20 outstanding: only the PONGs can have kept it. Not fewer:
        // a loaded machine may stall the fake server for a while, and 20 at 100 ms are 2 s.
        configuration.pingInterval = .milliseconds(100)
        configuration.maximumOutstandingPings = 20
        let client = try await NATSClient.connect(configuration: configuration)
        #expect(await pollUntil(timeout: .seconds(60)) { server.pings >= 40 })
        #expect(server.connections == 1)
        #expect(client.isConnected)
        await client.close()
        await server.stop()
    }

    @Test func aFlushInFlightWhenTheConnectionDropsFailsWithConnectionFailed() async throws {
        // The scripted server never answers the flush's PING, then goes away.
        let server = try await ClientFakeServer(afterHandshake: [], answersPings: false)
        let client = try await NATSClient.connect(configuration: configuration(port: server.port, logs: CapturedLogs()))
        let flushed = Task { try await client.flush() }
        #expect(await pollUntil(timeout: .seconds(30)) { server.pings == 1 })
        await server.stop()
        await #expect { try await flushed.value } throws: { ($0 as? TransportError)?.code == .connectionFailed }
        await client.close()
    }

    @Test func theServersPingIsAnswered() async throws {
        // The scripted server sends PING after the handshake; the client's PONG must not upset
        // anything, and the connection stays.
        let server = try await ClientFakeServer(afterHandshake: Array("PING\r\n".utf8))
        let client = try await NATSClient.connect(configuration: configuration(port: server.port, logs: CapturedLogs()))
        try await client.flush()
        #expect(server.connections == 1)
        await client.close()
        await server.stop()
    }

    @Test func aSlowConsumerReportIsCountedLoggedAndReconnected() async throws {
        let server = try await ClientFakeServer(afterHandshake: Array("-ERR 'Slow Consumer'\r\n".utf8))
        let logs = CapturedLogs()
        let client = try await NATSClient.connect(configuration: configuration(port: server.port, logs: logs))
        #expect(await pollUntil(timeout: .seconds(30)) { client.statistics.slowConsumerReports >= 1 && server.connections >= 2 })
        #expect(logs.all.contains { $0.level == .warning && $0.message.contains("slow consumer") })
        await client.close()
        await server.stop()
    }

    @Test func aPermissionsViolationIsLoggedAndNotFatal() async throws {
        let server = try await ClientFakeServer(
            afterHandshake: Array("-ERR 'Permissions Violation for Publish to \"secret\"'\r\n".utf8))
        let logs = CapturedLogs()
        let client = try await NATSClient.connect(configuration: configuration(port: server.port, logs: logs))
        #expect(await pollUntil(timeout: .seconds(30)) { logs.all.contains { $0.message.contains("refused an operation") } })
        try await client.flush()
        #expect(client.isConnected)
        #expect(server.connections == 1)
        await client.close()
        await server.stop()
    }

    @Test(
        .enabled(
            if: PrivateNATSServer.binary != nil || BrokerRequirement.isRequired(by: NATSBroker.environment),
            "no nats-server binary (Scripts/bootstrap installs it)"))
    func aServerAnnouncedInConnectURLsIsTriedAfterTheConfiguredOnes() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let real = try await PrivateNATSServer(directory: directory)
        defer { real.stopWaiting() }
        let info =
            #"{"server_id":"fake","version":"2.9.0","proto":1,"headers":true,"max_payload":1048576,"#
            + #""connect_urls":["127.0.0.1:\#(real.port)"]}"#
        let fake = try await ClientFakeServer(info: info, afterHandshake: [])
        let client = try await NATSClient.connect(configuration: configuration(port: fake.port, logs: CapturedLogs()))
        #expect(client.serverInfo.serverID == "fake")
        await fake.stop()
        #expect(await pollUntil(timeout: .seconds(30)) { client.isConnected && client.serverInfo.serverID != "fake" })
        #expect(client.statistics.reconnects == 1)
        try await client.flush()
        await client.close()
    }
}
