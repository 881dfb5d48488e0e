import CloudEventsTestSupport
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A scripted NATS server on loopback for the client's tests of malformed input: it sends an
/// INFO on every connection, answers the client's first PING with `PONG` followed by
/// `afterHandshake` (garbage, a huge size, a bad HMSG), and counts connections.
final class ClientFakeServer: Sendable {
    let channel: any Channel
    let port: Int
    private let counters: Counters

    final class Counters: Sendable {
        let connections = Atomic<Int>(0)
    }

    /// How many connections it accepted.
    var connections: Int { counters.connections.load(ordering: .relaxed) }

    init(
        info: String = #"{"server_id":"fake","version":"2.9.0","proto":1,"headers":true,"max_payload":1048576}"#,
        afterHandshake: [UInt8]
    ) async throws {
        let counters = Counters()
        self.counters = counters
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                counters.connections.add(1, ordering: .relaxed)
                return child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(
                        ScriptHandler(info: "INFO \(info)\r\n", afterHandshake: afterHandshake))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
    }

    func stop() async {
        try? await channel.close()
    }

    private final class ScriptHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let info: String
        let afterHandshake: [UInt8]
        var received = ""
        var answered = false

        init(info: String, afterHandshake: [UInt8]) {
            self.info = info
            self.afterHandshake = afterHandshake
        }

        func channelActive(context: ChannelHandlerContext) {
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: info)), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            received += buffer.readString(length: buffer.readableBytes) ?? ""
            guard !answered, received.contains("PING\r\n") else { return }
            answered = true
            var reply = context.channel.allocator.buffer(string: "PONG\r\n")
            reply.writeBytes(afterHandshake)
            context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
        }
    }
}
