import CloudEvents
import CloudEventsNATS
import CloudEventsTestSupport
import Foundation
import Logging
import Testing

/// A server that breaks the protocol after the handshake: the client logs a connection error
/// and reconnects, never crashes, and stays closable. No broker needed.
@Suite struct ClientMalformedServerTests {
    static let inputs: [(String, [UInt8])] = [
        ("garbage", Array("HELLO WORLD\r\n".utf8)),
        ("huge size", Array("MSG a 1 99999999999999999999\r\n".utf8)),
        ("size over the limit", Array("MSG a 1 999999999\r\n".utf8)),
        ("bad HMSG", Array("HMSG a 1 5 3\r\nNATS/1.0\r\n\r\n".utf8)),
        ("binary", [0x00, 0xFF, 0x13, 0x0A, 0x0D, 0x0A]),
        ("payload without CRLF", Array("MSG a 1 3\r\nabcXY".utf8))
    ]

    @Test(arguments: 0..<inputs.count)
    func malformedInputClosesTheConnectionAndReconnects(index: Int) async throws {
        let (name, bytes) = Self.inputs[index]
        let server = try await ClientFakeServer(afterHandshake: bytes)
        let logs = CapturedLogs()
        var configuration = NATSClientConfiguration(host: "127.0.0.1", port: server.port)
        configuration.reconnect = .exponential(initial: .milliseconds(20), maximum: .milliseconds(100))
        configuration.operationTimeout = .seconds(30)
        configuration.logger = logs.logger()
        let client = try await NATSClient.connect(configuration: configuration)
        let recorder = RecordingConsumer()
        _ = try await client.subscribe(to: "a", consumer: recorder.consumer)
        #expect(await pollUntil(timeout: .seconds(30)) { server.connections >= 3 }, "\(name): no reconnects")
        #expect(
            logs.all.contains { $0.message == "closing the NATS connection" && $0.level == .warning },
            "\(name): no connection error logged")
        await client.close()
        #expect(recorder.finished)
        #expect(!client.isConnected)
        await server.stop()
    }

    @Test func anErrorDuringTheHandshakeFailsTheConnect() async throws {
        let server = try await ClientFakeServer(afterHandshake: [])
        await server.stop()
        var configuration = NATSClientConfiguration(host: "127.0.0.1", port: server.port)
        configuration.operationTimeout = .seconds(30)
        await #expect {
            _ = try await NATSClient.connect(configuration: configuration)
        } throws: { error in
            guard let error = error as? TransportError else { return false }
            return error.code == .connectionFailed && error.message.contains("127.0.0.1:\(server.port)")
        }
    }
}
