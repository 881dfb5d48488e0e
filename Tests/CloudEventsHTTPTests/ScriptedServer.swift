import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// A tiny loopback HTTP server that answers requests with a script of responses (the last
/// one repeats), and records when each request arrived.
final class ScriptedServer: Sendable {
    struct Reply: Sendable {
        var status: Int
        var headers: [(String, String)] = []
        var body: [UInt8] = []
    }

    private typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>
    private let script: Mutex<[Reply]>
    private let arrivals = Mutex<[ContinuousClock.Instant]>([])

    private init(script: [Reply]) {
        self.script = Mutex(script)
    }

    /// When each request arrived.
    var requestTimes: [ContinuousClock.Instant] { arrivals.withLock { $0 } }

    private func nextReply() -> Reply {
        arrivals.withLock { $0.append(.now) }
        return script.withLock { script in script.count > 1 ? script.removeFirst() : script[0] }
    }

    /// Runs a server on 127.0.0.1 with an ephemeral port while `body` runs; over TLS when
    /// `tls` is given.
    static func with(
        _ script: [Reply], tls: NIOSSLContext? = nil,
        _ body: (_ port: Int, _ server: ScriptedServer) async throws -> Void
    ) async throws {
        let server = ScriptedServer(script: script)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
        let port = channel.channel.localAddress!.port!
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await withThrowingDiscardingTaskGroup { connections in
                    try await channel.executeThenClose { inbound in
                        for try await connection in inbound {
                            connections.addTask { try? await server.serve(connection) }
                        }
                    }
                }
            }
            defer { group.cancelAll() }
            try await body(port, server)
        }
    }

    private func serve(_ connection: Connection) async throws {
        try await connection.executeThenClose { inbound, outbound in
            for try await part in inbound {
                guard case .end = part else { continue }
                let reply = nextReply()
                var headers = HTTPHeaders(reply.headers)
                headers.replaceOrAdd(name: "Content-Length", value: String(reply.body.count))
                try await outbound.write(
                    .head(
                        HTTPResponseHead(
                            version: .http1_1, status: HTTPResponseStatus(statusCode: reply.status), headers: headers)))
                if !reply.body.isEmpty { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: reply.body)))) }
                try await outbound.write(.end(nil))
            }
        }
    }
}
