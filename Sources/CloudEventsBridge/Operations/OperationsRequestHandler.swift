import Logging
import NIOCore
import NIOHTTP1
import Prometheus

/// Answers one connection's requests to the operations endpoints: `/healthz`, `/readyz` and
/// `/metrics` (GET only).
///
/// `configureHTTPServerPipeline`'s pipelining assistance hands requests over one at a time, so
/// this handler holds the one it is reading. Bodies (which no endpoint reads) are counted and
/// dropped; one over ``maximumBodyBytes`` is answered 413 and the connection closed.
final class OperationsRequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// The most body bytes a request may carry (none is expected).
    static let maximumBodyBytes = 16 * 1024

    private let health: BridgeHealth
    private let registry: PrometheusCollectorRegistry
    private let logger: Logger
    private var request: HTTPRequestHead?
    private var bodyBytes = 0
    private var refused = false

    init(health: BridgeHealth, registry: PrometheusCollectorRegistry, logger: Logger) {
        self.health = health
        self.registry = registry
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
            bodyBytes = 0
        case .body(let body):
            bodyBytes += body.readableBytes
            if bodyBytes > Self.maximumBodyBytes, !refused, let request {
                refused = true
                respond(
                    context: context, to: request, Response(status: .payloadTooLarge, body: "request too large\n"), close: true)
            }
        case .end:
            guard let request, !refused else { return }
            self.request = nil
            respond(context: context, to: request, answer(request), close: !request.isKeepAlive)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // An idle keep-alive connection is closed, so that forgotten clients do not hold sockets.
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("operations connection failed", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    private struct Response {
        var status: HTTPResponseStatus
        var contentType = "text/plain; charset=utf-8"
        var headers: [(String, String)] = []
        var body: ByteBuffer

        init(status: HTTPResponseStatus, body: String) {
            self.status = status
            self.body = ByteBuffer(string: body)
        }

        init(status: HTTPResponseStatus, contentType: String, body: ByteBuffer) {
            self.status = status
            self.contentType = contentType
            self.body = body
        }
    }

    private func answer(_ request: HTTPRequestHead) -> Response {
        let path = request.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard ["/healthz", "/readyz", "/metrics"].contains(path) else {
            return Response(status: .notFound, body: "not found\n")
        }
        guard request.method == .GET else {
            var response = Response(status: .methodNotAllowed, body: "method not allowed\n")
            response.headers = [("Allow", "GET")]
            return response
        }
        switch path {
        case "/healthz":
            return health.isLive ? Response(status: .ok, body: "ok\n") : Response(status: .serviceUnavailable, body: "stopped\n")
        case "/readyz":
            // Both read under one call each; a change between them only makes the report newer.
            let ready = health.isReady
            let report = health.report
            let text = (ready ? "ready\n" : "not ready\n") + (report.isEmpty ? "" : report + "\n")
            return Response(status: ready ? .ok : .serviceUnavailable, body: text)
        default:
            var bytes: [UInt8] = []
            registry.emit(into: &bytes)
            return Response(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8", body: ByteBuffer(bytes: bytes))
        }
    }

    private func respond(context: ChannelHandlerContext, to request: HTTPRequestHead, _ response: Response, close: Bool) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(response.body.readableBytes))
        headers.add(name: "Cache-Control", value: "no-store")
        for (name, value) in response.headers {
            headers.add(name: name, value: value)
        }
        headers.add(name: "Connection", value: close ? "close" : "keep-alive")
        let version = HTTPVersion(major: 1, minor: min(request.version.minor, 1))
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: version, status: response.status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        if close {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                channel.close(promise: nil)
            }
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
