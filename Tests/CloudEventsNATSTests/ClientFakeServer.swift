import CloudEventsTestSupport
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A scripted NATS server on loopback for the client's tests of malformed input and server
/// errors: it sends an INFO on every connection, answers the client's first PING with `PONG`
/// followed by `afterHandshake` (garbage, a huge size, a bad HMSG, an `-ERR`), answers later
/// PINGs when `answersPings`, closes the connection then when `closesAfterHandshake`, and
/// counts connections and the PINGs it read.
final class ClientFakeServer: Sendable {
    let channel: any Channel
    let port: Int
    private let counters: Counters

    final class Counters: Sendable {
        let connections = Atomic<Int>(0)
        let pings = Atomic<Int>(0)
        let children = Mutex<[any Channel]>([])
    }

    /// How many connections it accepted.
    var connections: Int { counters.connections.load(ordering: .relaxed) }
    /// How many PINGs it read after the handshakes.
    var pings: Int { counters.pings.load(ordering: .relaxed) }

    init(
        info: String = #"{"server_id":"fake","version":"2.9.0","proto":1,"headers":true,"max_payload":1048576}"#,
        afterHandshake: [UInt8], answersPings: Bool = true, closesAfterHandshake: Bool = false
    ) async throws {
        let counters = Counters()
        self.counters = counters
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                counters.connections.add(1, ordering: .relaxed)
                counters.children.withLock { $0.append(child) }
                return child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(
                        ScriptHandler(
                            info: "INFO \(info)\r\n", afterHandshake: afterHandshake, answersPings: answersPings,
                            closesAfterHandshake: closesAfterHandshake, counters: counters))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
    }

    /// Stops listening and closes every connection.
    func stop() async {
        try? await channel.close()
        for child in counters.children.withLock({ $0 }) { try? await child.close() }
    }

    private final class ScriptHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let info: String
        let afterHandshake: [UInt8]
        let answersPings: Bool
        let closesAfterHandshake: Bool
        let counters: Counters
        var received = ""
        var answered = false

        init(info: String, afterHandshake: [UInt8], answersPings: Bool, closesAfterHandshake: Bool, counters: Counters) {
            self.info = info
            self.afterHandshake = afterHandshake
            self.answersPings = answersPings
            self.closesAfterHandshake = closesAfterHandshake
            self.counters = counters
        }

        func channelActive(context: ChannelHandlerContext) {
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: info)), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            received += buffer.readString(length: buffer.readableBytes) ?? ""
            while let range = received.range(of: "PING\r\n") {
                received.removeSubrange(received.startIndex..<range.upperBound)
                guard answered else {
                    answered = true
                    var reply = context.channel.allocator.buffer(string: "PONG\r\n")
                    reply.writeBytes(afterHandshake)
                    context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
                    if closesAfterHandshake { context.close(promise: nil) }
                    continue
                }
                counters.pings.add(1, ordering: .relaxed)
                if answersPings {
                    context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: "PONG\r\n")), promise: nil)
                }
            }
        }
    }
}
