import CloudEvents
import CloudEventsHTTP
import HTTPTypes
import NIOCore
import NIOHTTP1

/// One connection of a ``ControllableSink``: collects each request, reads it as a CloudEvent
/// through the HTTP binding's mapping, asks the sink how to answer, answers (after the
/// behaviour's delay) and records it.
final class SinkRequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let sink: ControllableSink
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []

    init(sink: ControllableSink) {
        self.sink = sink
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.removeAll(keepingCapacity: true)
        case .body(var buffer):
            body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            guard let head else { return }
            self.head = nil
            sink.begin()
            answer(head, body: body, context: context)
        }
    }

    private func answer(_ head: HTTPRequestHead, body: [UInt8], context: ChannelHandlerContext) {
        var request = SinkRequest(
            method: head.method, uri: head.uri, headers: head.headers, bodyLength: body.count, event: nil, decodeError: nil,
            status: 400, receivedAt: .now)
        do {
            request.event = try Self.event(headers: head.headers, body: body)
        } catch {
            request.decodeError = "\(error)"
        }
        let answer = request.event.map { sink.behaviour.answer(forEventID: $0.id) } ?? (400, nil, .zero)
        request.status = answer.status
        let keepAlive = head.isKeepAlive
        let respond = { [sink] in
            // Recorded just before the answer leaves: a connection closed now (a stopped sink)
            // may lose the answer, and the bridge then sends the event again (a duplicate).
            sink.record(request)
            var headers = HTTPHeaders([("content-length", "0")])
            if let retryAfter = answer.1 { headers.add(name: "retry-after", value: retryAfter) }
            if !keepAlive { headers.add(name: "connection", value: "close") }
            let responseHead = HTTPResponseHead(
                version: head.version, status: HTTPResponseStatus(statusCode: answer.status), headers: headers)
            context.write(self.wrapOutboundOut(.head(responseHead)), promise: nil)
            let written = context.writeAndFlush(self.wrapOutboundOut(.end(nil)))
            if !keepAlive { written.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
        }
        if answer.delay > .zero {
            context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(answer.delay.nanoseconds))) { [sink] in
                guard context.channel.isActive else { return sink.abandon() }
                respond()
            }
        } else {
            respond()
        }
    }

    /// The event a request carries, read as the HTTP binding reads it (binary or structured).
    private static func event(headers: HTTPHeaders, body: [UInt8]) throws -> CloudEvent {
        var fields = HTTPFields()
        for (name, value) in headers {
            guard let fieldName = HTTPField.Name(name) else { continue }
            fields.append(HTTPField(name: fieldName, value: value))
        }
        return try HTTPMessageReader(headerFields: fields, body: body).event()
    }
}
