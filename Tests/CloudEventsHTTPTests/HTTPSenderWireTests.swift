import CloudEvents
import CloudEventsHTTP
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing

/// What HTTPEventSender puts on the wire, header by header: the request head is built once
/// per send straight from the mapping's fields (issue 16), and must stay what it was.
@Suite("HTTP sender wire", .timeLimit(.minutes(1)))
struct HTTPSenderWireTests {
    let event = CloudEvent(
        id: "wire-1", source: "/s", type: "t", dataContentType: "text/plain", subject: "Euro € 😀",
        extensions: ["traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"],
        data: .binary(Array("hello".utf8)))

    /// The configured fields the message does not set come first, under their names as
    /// configured; then the mapping's fields in order under their lowercase names; then what
    /// async-http-client adds (`host`, `Content-Length`).
    @Test func sendWritesTheConfiguredThenTheMappedFieldsInOrder() async throws {
        let (fields, body) = try event.httpFields(mode: .binary)
        let configured: HTTPFields = [
            HTTPField.Name("X-Api-Key")!: "secret", .contentType: "application/octet-stream", HTTPField.Name("X-Tenant")!: "a"
        ]
        var expected: [(String, String)] = [("X-Api-Key", "secret"), ("X-Tenant", "a")]
        expected += fields.map { ($0.name.canonicalName, $0.value) }
        #expect(expected.contains { $0 == ("content-type", "text/plain") })
        try await CapturingServer.with(status: .accepted) { port, server in
            let configuration = HTTPSenderConfiguration(url: "http://127.0.0.1:\(port)/path?q=1", headerFields: configured)
            try await HTTPEventSender.withSender(configuration: configuration) { sender in
                try await sender.send(event)
                _ = try await sender.exchange(event)
            }
            let requests = server.requests
            try #require(requests.count == 2)
            for request in requests {
                #expect(request.method == .POST)
                #expect(request.uri == "/path?q=1")
                let headers = request.headers.map { ($0.name, $0.value) }
                #expect(headers.count == expected.count + 2)
                #expect(headers.prefix(expected.count).elementsEqual(expected) { $0 == $1 })
                #expect(headers.dropFirst(expected.count).map(\.0) == ["host", "Content-Length"])
                #expect(request.headers["content-length"] == [String(body.count)])
                #expect(request.body == body)
            }
        }
    }

    /// A configured method and a `Message` go out as they did.
    @Test func messageIsSentWithTheConfiguredMethod() async throws {
        var message = try Message(event, mode: .binary)
        message.metadata["tracestate"] = "k=v"
        message.metadata["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        let (fields, body) = try message.httpFields()
        try await CapturingServer.with(status: .ok) { port, server in
            let configuration = HTTPSenderConfiguration(url: "http://127.0.0.1:\(port)/", method: .put)
            try await HTTPEventSender.withSender(configuration: configuration) { sender in
                try await sender.send(message)
            }
            let requests = server.requests
            try #require(requests.count == 1)
            #expect(requests[0].method == .PUT)
            let headers = requests[0].headers.map { ($0.name, $0.value) }
            #expect(headers.dropLast(2).elementsEqual(fields.map { ($0.name.canonicalName, $0.value) }) { $0 == $1 })
            #expect(requests[0].body == body)
        }
    }

    /// `send` after a 2xx whose event is broken succeeds, as before; `exchange` reports the
    /// broken event beside the response, with the response's fields and version.
    @Test func brokenResponseEventFailsNeitherSendNorExchange() async throws {
        let reply = [("ce-specversion", "1.0"), ("ce-id", "r")]  // no source, no type
        try await CapturingServer.with(status: .ok, headers: reply) { port, _ in
            let configuration = HTTPSenderConfiguration(url: "http://127.0.0.1:\(port)/")
            try await HTTPEventSender.withSender(configuration: configuration) { sender in
                try await sender.send(event)
                let response = try await sender.exchange(event)
                #expect(response.status == .ok)
                #expect(response.event == nil)
                #expect(response.eventError != nil)
                #expect(response.headerFields[HTTPField.Name("ce-id")!] == "r")
                #expect(response.version == "HTTP/1.1")
                #expect(response.attempts == 1)
            }
        }
    }

    /// A non-retryable status still carries the response's fields in its error.
    @Test func rejectionCarriesTheResponseFields() async throws {
        try await CapturingServer.with(status: .forbidden, headers: [("X-Reason", "quota")]) { port, _ in
            let configuration = HTTPSenderConfiguration(url: "http://127.0.0.1:\(port)/")
            try await HTTPEventSender.withSender(configuration: configuration) { sender in
                let error = try await #require(throws: TransportError.self) { try await sender.send(event) }
                #expect(error.code == .rejected)
                #expect(error.message.hasPrefix("POST http://127.0.0.1:\(port)/ answered 403"))
                let status = try #require(error.underlying as? HTTPStatusError)
                #expect(status.headerFields[HTTPField.Name("x-reason")!] == "quota")
            }
        }
    }
}

/// A loopback HTTP/1.1 server that records every request (head as parsed, names in the case
/// they arrived in, and body) and answers each with one status and header fields.
private final class CapturingServer: Sendable {
    struct Request: Sendable {
        var method: HTTPMethod
        var uri: String
        var headers: HTTPHeaders
        var body: [UInt8]
    }

    let status: HTTPResponseStatus
    let replyHeaders: [(String, String)]
    private let recorded = Mutex<[Request]>([])

    private init(status: HTTPResponseStatus, headers: [(String, String)]) {
        self.status = status
        replyHeaders = headers
    }

    var requests: [Request] { recorded.withLock { $0 } }

    func record(_ request: Request) { recorded.withLock { $0.append(request) } }

    /// Runs the server on 127.0.0.1 with an ephemeral port while `body` runs.
    static func with(
        status: HTTPResponseStatus, headers: [(String, String)] = [],
        _ body: (_ port: Int, _ server: CapturingServer) async throws -> Void
    ) async throws {
        let server = CapturingServer(status: status, headers: headers)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(CaptureHandler(server: server))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        do {
            try await body(channel.localAddress!.port!, server)
        } catch {
            try? await channel.close().get()
            throw error
        }
        try await channel.close().get()
    }
}

/// One connection's side of ``CapturingServer``.
private final class CaptureHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let server: CapturingServer
    private var current: CapturingServer.Request?

    init(server: CapturingServer) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            current = CapturingServer.Request(method: head.method, uri: head.uri, headers: head.headers, body: [])
        case .body(let buffer):
            current?.body += buffer.readableBytesView
        case .end:
            if let current { server.record(current) }
            current = nil
            var headers = HTTPHeaders(server.replyHeaders)
            headers.add(name: "Content-Length", value: "0")
            let head = HTTPResponseHead(version: .http1_1, status: server.status, headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
