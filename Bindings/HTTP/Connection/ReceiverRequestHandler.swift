internal import CloudEvents
internal import HTTPTypes
internal import Logging
internal import NIOCore
internal import NIOHTTPTypes
import Synchronization

/// What every connection of one receiver shares: how to answer, where deliveries go, and
/// the connections (so that cancelling the receiver can answer the requests waiting for
/// their settlement 503 at once).
final class ReceiverCore: Sendable {
    let responder: ReceiverResponder
    let continuation: DeliveryStream.Continuation
    let logger: Logger
    /// From the configuration, read per request (without copying the whole configuration).
    let maximumBodySize: Int
    let maximumHeaderSize: Int
    let formats: EventFormatRegistry
    let extensionTypes: ExtensionTypes
    /// Once set, new requests get 503 instead of reaching the consumer.
    private let aborting = Atomic<Bool>(false)
    private let waiting = Locked(Waiting())

    private struct Waiting {
        var nextID: UInt64 = 0
        /// Per connection (or HTTP/2 stream): answers its waiting request 503, if it has one.
        var aborts: [UInt64: @Sendable () -> Void] = [:]
    }

    init(responder: ReceiverResponder, continuation: DeliveryStream.Continuation, logger: Logger) {
        self.responder = responder
        self.continuation = continuation
        self.logger = logger
        maximumBodySize = responder.configuration.maximumBodySize
        maximumHeaderSize = responder.configuration.maximumHeaderSize
        formats = responder.configuration.formats
        extensionTypes = responder.configuration.extensionTypes
    }

    var isAborting: Bool { aborting.load(ordering: .relaxed) }

    /// Registers a connection; `abort` answers its waiting request 503, if it has one.
    func register(abort: @escaping @Sendable () -> Void) -> UInt64 {
        waiting.withLock { waiting in
            waiting.nextID += 1
            waiting.aborts[waiting.nextID] = abort
            return waiting.nextID
        }
    }

    func unregister(_ id: UInt64) {
        waiting.withLock { _ = $0.aborts.removeValue(forKey: id) }
    }

    /// Answers every waiting request 503 and refuses new ones.
    /// (Per connection rather than per request: registering costs a lock and an allocation.)
    func abort() {
        aborting.store(true, ordering: .relaxed)
        let aborts = waiting.withLock { waiting in
            defer { waiting.aborts = [:] }
            return Array(waiting.aborts.values)
        }
        for abort in aborts { abort() }
    }
}

/// Serves the requests of one HTTP/1.1 connection, or the one request of an HTTP/2 stream,
/// entirely on the channel's event loop: it collects the request, decides what happens to
/// it (``ReceiverResponder``), hands a delivery to the consumer, and writes the response
/// its settlement chose.
///
/// The consumer is the only hop off the event loop: the settlement builds its response on
/// the settling thread and comes back with one `execute` (none when the consumer runs on
/// the event loop).
///
/// HTTP/1 pipelining and graceful shutdown are handled here rather than by SwiftNIO's
/// `HTTPServerPipelineHandler`, which stops reading from the socket whenever a request waits
/// for its response: with a consumer that answers a moment later, that costs two `epoll_ctl`
/// calls per request. Here the socket stays registered while a request waits; a request
/// that a client pipelines behind it is held (with whatever else that read brought) and
/// only then does the handler withhold `read()`, so a slow consumer still stops the
/// connection instead of buffering its requests.
final class ReceiverRequestHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum State {
        case idle
        case reading(PendingRequest)
        /// `request` is the handler's own count.
        case awaitingSettlement(request: UInt64, closeAfter: Bool)
        case closed
    }

    /// One request being read.
    private struct PendingRequest {
        var head: HTTPRequest
        var body: [UInt8] = []
        /// The body is over the limit: the rest is discarded as it arrives.
        var bodyTooLarge = false
        var discarded = 0
        var headersTooLarge = false
        /// `Connection: close`: answer, then close.
        var closeRequested = false
    }

    private let core: ReceiverCore
    /// HTTP/2 streams end with their response; HTTP/1 connections close explicitly.
    private let isHTTP2: Bool
    private var state = State.idle
    private var readWithheld = false
    /// HTTP/1 request parts that arrived while a request waited for its settlement, served
    /// in order after it. Reading stops while any are held.
    private var pipelined = CircularBuffer<HTTPRequestPart>()
    /// Serving `pipelined` now (a response written meanwhile must not start another pass).
    private var servingPipelined = false
    /// A graceful shutdown began: the HTTP/1 request in progress is answered, then the
    /// connection closes.
    private var quiescing = false
    private var requestCount: UInt64 = 0
    private var context: ChannelHandlerContext?
    /// This handler's entry in the core, for ``ReceiverCore/abort()``.
    private var registration: UInt64?

    init(core: ReceiverCore, isHTTP2: Bool) {
        self.core = core
        self.isHTTP2 = isHTTP2
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        registration = core.register {
            handler.eventLoop.execute { handler.value.abortWaitingRequest() }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if let registration { core.unregister(registration) }
        registration = nil
        state = .closed
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        state = .closed
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        core.logger.debug("HTTP connection failed", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if case .closed = state { return }
        if pipelined.isEmpty {
            context.read()
        } else {
            readWithheld = true
        }
    }

    /// The server is shutting down (`ServerQuiescingHelper`): an idle HTTP/1 connection
    /// closes now, a busy one after its response. HTTP/2 connections send GOAWAY themselves.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard !isHTTP2, event is ChannelShouldQuiesceEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        switch state {
        case .idle:
            state = .closed
            context.close(promise: nil)
        case .reading, .awaitingSettlement:
            quiescing = true
        case .closed:
            break
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if case .awaitingSettlement = state {
            pipelined.append(part)
        } else if !pipelined.isEmpty {
            pipelined.append(part)
        } else {
            handle(part)
        }
    }

    /// One part of the request being read.
    private func handle(_ part: HTTPRequestPart) {
        let limits = core
        switch part {
        case .head(let head):
            guard case .idle = state else { return }
            var request = PendingRequest(head: head)
            // One pass over the fields (a lookup by name is a pass of its own).
            var headerBytes = 0
            var contentLength: Int?
            var expectsContinue = false
            // By index, name and value apart: cheaper than copying each field out.
            let fields = head.headerFields
            for index in fields.indices {
                let name = fields[index].name
                let value = fields[index].value
                headerBytes += name.rawName.utf8.count + value.utf8.count + 4
                if name == .contentLength {
                    contentLength = contentLength == nil ? Int(value) : contentLength
                } else if !isHTTP2, name == .connection, value.lowercased().contains("close") {
                    request.closeRequested = true
                } else if name == .expect, value.lowercased() == "100-continue" {
                    expectsContinue = true
                }
            }
            request.headersTooLarge = headerBytes > limits.maximumHeaderSize
            if let contentLength {
                if contentLength > limits.maximumBodySize {
                    request.bodyTooLarge = true
                } else {
                    request.body.reserveCapacity(contentLength)
                }
            }
            state = .reading(request)
            if expectsContinue { answerExpectation(request) }
        case .body(let buffer):
            guard case .reading(var request) = state else { return }
            state = .idle  // keeps the body uniquely referenced while appending
            if request.bodyTooLarge || request.headersTooLarge {
                request.discarded += buffer.readableBytes
                // A client that keeps sending after 413 is cut off here.
                if request.discarded > Swift.max(limits.maximumBodySize * 4, 4 << 20) {
                    write(
                        ReceiverResponder.text(.contentTooLarge, "body larger than \(limits.maximumBodySize) bytes", close: true))
                    return
                }
            } else if request.body.count + buffer.readableBytes > limits.maximumBodySize {
                request.bodyTooLarge = true
                request.discarded = request.body.count + buffer.readableBytes
                request.body = []
            } else {
                request.body.append(contentsOf: buffer.readableBytesView)
            }
            state = .reading(request)
        case .end:
            guard case .reading(let request) = state else { return }
            state = .idle
            complete(request)
        }
    }

    /// `Expect: 100-continue`: the client waits before it sends the body (curl, for one, for
    /// a second). Invite it, or refuse now what the body's size or the headers already decide.
    private func answerExpectation(_ request: PendingRequest) {
        guard let context else { return }
        if request.headersTooLarge || request.bodyTooLarge {
            complete(request)  // 431 or 413, and the connection closes
        } else {
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
        }
    }

    /// A request has been read whole: answer it, or deliver it.
    private func complete(_ request: PendingRequest) {
        let limits = core
        var response: ReceiverResponse
        if request.headersTooLarge {
            response = ReceiverResponder.text(
                .requestHeaderFieldsTooLarge, "header fields larger than \(limits.maximumHeaderSize) bytes", close: true)
        } else if request.bodyTooLarge {
            response = ReceiverResponder.text(.contentTooLarge, "body larger than \(limits.maximumBodySize) bytes", close: true)
        } else {
            switch core.responder.outcome(of: request.head, body: request.body) {
            case .respond(let answer): response = answer
            case .deliver(let message, let events):
                deliver(closeAfter: request.closeRequested) { settle in
                    Delivery(
                        message: message, formats: limits.formats, extensionTypes: limits.extensionTypes,
                        decodedEvents: events, settle: settle)
                }
                return
            case .deliverDecoded(let event, let message):
                deliver(closeAfter: request.closeRequested) { settle in
                    Delivery(
                        formats: limits.formats, extensionTypes: limits.extensionTypes, decodedEvents: [event],
                        message: message, settle: settle)
                }
                return
            }
        }
        response.closesConnection = response.closesConnection || request.closeRequested
        write(response)
    }

    /// Hands the delivery that `makeDelivery` creates (around the settlement callback it is
    /// given) to the consumer, and waits for its settlement.
    private func deliver(closeAfter: Bool, _ makeDelivery: (@escaping @Sendable (Settlement) -> Void) -> Delivery) {
        guard let context, !core.isAborting else {
            write(core.responder.unavailable("the receiver is shutting down"))
            return
        }
        requestCount += 1
        let request = requestCount
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let responder = core.responder
        // Called once, on whichever thread settles (or drops) the delivery: at once when that
        // is the event loop (a consumer running on it, or a refusal below).
        let answer: @Sendable (ReceiverResponse) -> Void = { response in
            if handler.eventLoop.inEventLoop {
                handler.value.settled(request, response)
            } else {
                handler.eventLoop.execute { handler.value.settled(request, response) }
            }
        }
        state = .awaitingSettlement(request: request, closeAfter: closeAfter)
        // Not kept here: a consumer that drops the delivery unsettled releases it.
        let delivery = makeDelivery { answer(responder.response(to: $0)) }
        switch core.continuation.trySend(delivery) {
        case .enqueued:
            break
        case .terminated:
            answer(responder.unavailable("the receiver is not taking events"))
        case .full:
            // The consumer is behind: wait for room off the event loop. This connection serves
            // nothing more meanwhile (a request pipelined behind this one is held).
            let continuation = core.continuation
            Task {
                do { try await continuation.send(delivery) } catch {
                    answer(responder.unavailable("the receiver is not taking events"))
                }
            }
        }
    }

    /// A settlement's response, back on the event loop. Only the first answer to the
    /// request that is still waiting counts.
    private func settled(_ request: UInt64, _ response: ReceiverResponse) {
        guard case .awaitingSettlement(request, let closeAfter) = state else { return }
        var response = response
        response.closesConnection = response.closesConnection || closeAfter
        write(response)
    }

    /// The receiver was cancelled: the request waiting for its settlement gets 503 now (a
    /// settlement that comes later is ignored), and the connection closes.
    private func abortWaitingRequest() {
        guard case .awaitingSettlement(let request, _) = state else { return }
        var response = core.responder.unavailable("the receiver is shutting down")
        response.closesConnection = true
        settled(request, response)
    }

    /// Writes a whole response with one flush, then serves any pipelined request, reads on,
    /// or closes.
    private func write(_ response: ReceiverResponse) {
        guard let context else { return }
        var response = response
        if quiescing { response.closesConnection = true }
        var head = response.head
        // HTTP/2 forbids connection-specific fields; its stream ends with the response anyway.
        let closes = response.closesConnection && !isHTTP2
        if closes { head.headerFields[.connection] = "close" }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if !response.body.isEmpty {
            context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(bytes: response.body))), promise: nil)
        }
        if response.closesConnection {
            state = .closed
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        } else {
            state = .idle
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            servePipelined(context: context)
        }
    }

    /// Serves the held pipelined requests in order, until one waits for its settlement;
    /// reads on once none is left.
    private func servePipelined(context: ChannelHandlerContext) {
        // A request served below that is answered at once writes its response, and that
        // write comes back here: the loop that is already running goes on instead.
        guard !servingPipelined else { return }
        servingPipelined = true
        defer { servingPipelined = false }
        while !pipelined.isEmpty {
            switch state {
            case .idle, .reading: handle(pipelined.removeFirst())
            case .awaitingSettlement, .closed: return
            }
        }
        if readWithheld {
            readWithheld = false
            context.read()
        }
    }
}
