import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Darwin)
    import Darwin
#else
    import Glibc
#endif

// The baseline for Scripts/bench-http: a plain SwiftNIO HTTP/1.1 server that answers every
// request 200 with an empty body and does no CloudEvents work. It is set up as
// HTTPEventReceiver sets up its server (the singleton event-loop group, SO_REUSEADDR,
// `configureHTTPServerPipeline()`), with the group limited to ONE event-loop thread, as
// ReceiverServer is, so that both are measured on one core.
//
// Usage: BareHTTPServer [seconds]   (default 120; prints "port N", serves until killed or
// until the duration ends)

NIOSingletons.groupLoopCountSuggestion = 1
let duration = CommandLine.arguments.dropFirst().first.flatMap { Int64($0) } ?? 120

/// Answers each complete request 200 with `content-length: 0`, keeping the connection open.
final class OKHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var keepAlive = true

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            keepAlive = head.isKeepAlive
        case .body:
            break
        case .end:
            var headers = HTTPHeaders()
            headers.add(name: "content-length", value: "0")
            if !keepAlive { headers.add(name: "connection", value: "close") }
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            if keepAlive {
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            } else {
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }
}

let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
    .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.configureHTTPServerPipeline()
            try channel.pipeline.syncOperations.addHandler(OKHandler())
        }
    }
    .bind(host: "127.0.0.1", port: 0)
    .get()
announcePort(channel.localAddress?.port ?? 0)
try? await Task.sleep(for: .seconds(duration))
_ = try? await channel.close().get()

/// Writes `port N` to standard output unbuffered: Scripts/bench-http waits for it.
func announcePort(_ port: Int) {
    let line = Array("port \(port)\n".utf8)
    _ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}
