internal import CloudEvents
internal import HTTPTypes
internal import Logging
internal import NIOCore
internal import NIOHTTP1
internal import NIOHTTPTypes

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
///
/// Timeouts: one deadline per connection, for whatever the connection is waiting for (a
/// request head, body progress, the next request, a settlement), and one scheduled
/// callback that fires no earlier than it. Moving the deadline later (what every request
/// does) only stores a time; the callback, when it fires early, schedules itself again for
/// the deadline. So a request costs a clock read or two, not a timer.
final class ReceiverRequestHandler: ChannelDuplexHandler, RemovableChannelHandler, NIOScheduledCallbackHandler {
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

    /// What the connection's deadline is for.
    private enum Wait {
        /// A whole request head: from the connection's start, or from the first bytes of a
        /// request after a kept-alive one.
        case head
        /// Progress on the request body.
        case body
        /// The next request on a kept-alive connection.
        case keepAlive
        /// The consumer's settlement (or room in the delivery stream).
        case settlement
        /// Nothing (the connection is closing).
        case none
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
    /// This handler's entry in the core, for ``ReceiverCore/Notice``s.
    private var registration: UInt64?
    /// A delivery refused by a full stream, offered again when the core says there is room.
    private var waitingDelivery: Delivery?
    /// Why the request that waited for its settlement was answered or lost without it (the
    /// settlement timeout, a shutdown, the client leaving): what a later settlement's
    /// ``SettlementReport`` says failed.
    private var abandoned: (request: UInt64, error: TransportError)?

    /// What the deadline is for, and when it is.
    private var wait = Wait.head
    private var deadline = NIODeadline.uptimeNanoseconds(0)
    /// `wait` changed or progress was made: `deadline` is recomputed at the end of the read
    /// or response (one clock read for all the parts a read brings).
    private var deadlineIsStale = false
    /// The scheduled callback, and when it fires (never later than `deadline`).
    private var timer: NIOScheduledCallback?
    private var timerFiresAt = NIODeadline.distantFuture
    /// A request part arrived during the current read.
    private var partsInRead = false
    /// Bytes of a request have arrived since the last response (a timeout then answers 408).
    private var requestBegun = false

    init(core: ReceiverCore, isHTTP2: Bool) {
        self.core = core
        self.isHTTP2 = isHTTP2
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        registration = core.register { notice in
            handler.eventLoop.execute {
                switch notice {
                case .abort: handler.value.abortWaitingRequest()
                case .room: handler.value.offerWaitingDelivery()
                }
            }
        }
        // The head timeout runs from the connection's start (an HTTP/2 stream's head is
        // already there).
        wait = .head
        deadlineIsStale = true
        refreshDeadline()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if let registration { core.unregister(registration) }
        registration = nil
        abandonWaitingRequest("the HTTP connection closed before the delivery was settled")
        state = .closed
        waitingDelivery = nil
        cancelTimer(eventLoop: context.eventLoop)
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        abandonWaitingRequest("the client closed the HTTP connection before the delivery was settled")
        state = .closed
        waitingDelivery = nil
        cancelTimer(eventLoop: context.eventLoop)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is HTTPParserError {
            // HTTPServerProtocolErrorHandler has answered it 400.
            logRefusal(status: 400, reason: "malformed HTTP request: \(error)")
        } else {
            core.logger.debug(
                "HTTP connection failed", metadata: ["remote_address": "\(remoteAddress)", "error": "\(error)"])
        }
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
        partsInRead = true
        if case .awaitingSettlement = state {
            pipelined.append(part)
        } else if !pipelined.isEmpty {
            pipelined.append(part)
        } else {
            handle(part)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if !partsInRead, case .idle = state {
            // Bytes that make no request part yet: a request head has begun. After a kept-alive
            // request, its head timeout starts now; a head that trickles in does not extend it.
            requestBegun = true
            if wait == .keepAlive {
                wait = .head
                deadlineIsStale = true
            }
        }
        partsInRead = false
        if deadlineIsStale { refreshDeadline() }
        context.fireChannelReadComplete()
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
            requestBegun = true
            wait = .body
            deadlineIsStale = true
            if expectsContinue { answerExpectation(request) }
        case .body(let buffer):
            guard case .reading(var request) = state else { return }
            state = .idle  // keeps the body uniquely referenced while appending
            deadlineIsStale = true  // progress
            if request.bodyTooLarge || request.headersTooLarge {
                request.discarded += buffer.readableBytes
                // A client that keeps sending after 413 is cut off here.
                if request.discarded > Swift.max(limits.maximumBodySize * 4, 4 << 20) {
                    let reason = "body larger than \(limits.maximumBodySize) bytes"
                    logRefusal(status: 413, reason: reason)
                    write(ReceiverResponder.text(.contentTooLarge, reason, close: true))
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
        if response.head.status.kind == .clientError {
            // A request for a path not served is no invalid message: visible at info only.
            logRefusal(
                status: response.head.status.code, reason: String(decoding: response.body, as: UTF8.self),
                level: response.head.status == .notFound ? .info : .warning)
        }
        response.closesConnection = response.closesConnection || request.closeRequested
        write(response)
    }

    /// Hands the delivery that `makeDelivery` creates (around the settlement callback it is
    /// given) to the consumer, and waits for its settlement.
    private func deliver(
        closeAfter: Bool, _ makeDelivery: (@escaping @Sendable (Settlement, SettlementReport) -> Void) -> Delivery
    ) {
        guard let context, !core.isAborting else {
            write(core.responder.settlement.unavailable("the receiver is shutting down"))
            return
        }
        requestCount += 1
        let request = requestCount
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let responder = core.responder
        // Called once, on whichever thread settles (or drops) the delivery: at once when that
        // is the event loop (a consumer running on it, or a refusal below).
        let answer: @Sendable (ReceiverResponse, SettlementReport?) -> Void = { response, report in
            if handler.eventLoop.inEventLoop {
                handler.value.settled(request, response, report: report)
            } else {
                handler.eventLoop.execute { handler.value.settled(request, response, report: report) }
            }
        }
        state = .awaitingSettlement(request: request, closeAfter: closeAfter)
        wait = .settlement
        deadlineIsStale = true
        // Not kept here: a consumer that drops the delivery unsettled releases it.
        let delivery = makeDelivery { answer(responder.settlement.response(to: $0), $1) }
        switch core.continuation.trySend(delivery) {
        case .enqueued:
            break
        case .terminated:
            answer(responder.settlement.unavailable("the receiver is not taking events"), nil)
        case .full:
            // The consumer is behind: the delivery waits here, on the event loop, until the
            // core says there is room (or the settlement timeout answers it). This connection
            // serves nothing more meanwhile (a request pipelined behind this one is held).
            waitingDelivery = delivery
            offerWaitingDelivery()
        }
    }

    /// Offers the delivery that waits for room in the stream, again.
    private func offerWaitingDelivery() {
        guard let delivery = waitingDelivery else { return }
        guard case .awaitingSettlement(let request, _) = state, let registration else {
            waitingDelivery = nil
            return
        }
        switch core.offerWaitingForRoom(delivery, connection: registration) {
        case .enqueued:
            waitingDelivery = nil
        case .full:
            break
        case .terminated:
            settled(request, core.responder.settlement.unavailable("the receiver is not taking events"))
        }
    }

    /// A settlement's response, back on the event loop. Only the first answer to the
    /// request that is still waiting counts; `report` (the settlement's, if a settlement
    /// chose the response) hears whether the response was written.
    private func settled(_ request: UInt64, _ response: ReceiverResponse, report: SettlementReport? = nil) {
        guard case .awaitingSettlement(request, let closeAfter) = state else {
            if let abandoned, abandoned.request == request {
                report?.failed(abandoned.error)
            } else {
                report?.failed(TransportError(.closed, "the HTTP request was answered before the delivery was settled"))
            }
            return
        }
        var response = response
        response.closesConnection = response.closesConnection || closeAfter
        // A delivery still waiting for room is dropped after the response: dropping it
        // unsettled answers again (synchronously, here), and that answer is ignored.
        let dropped = waitingDelivery
        waitingDelivery = nil
        withExtendedLifetime(dropped) { write(response, report: report) }
    }

    /// The request waiting for its settlement will not get the settlement's response:
    /// remembers why, for the settlement's report.
    private func abandonWaitingRequest(_ reason: String, code: TransportError.Code = .connectionFailed) {
        guard case .awaitingSettlement(let request, _) = state else { return }
        abandoned = (request, TransportError(code, reason))
    }

    /// The receiver was cancelled: the request waiting for its settlement gets 503 now (a
    /// settlement that comes later is ignored), and the connection closes.
    private func abortWaitingRequest() {
        guard case .awaitingSettlement(let request, _) = state else { return }
        var response = core.responder.settlement.unavailable("the receiver is shutting down")
        response.closesConnection = true
        abandonWaitingRequest("the receiver shut down before the delivery was settled: answered 503", code: .closed)
        settled(request, response)
    }

    /// Writes a whole response with one flush, then serves any pipelined request, reads on,
    /// or closes. `report` hears whether the response was written.
    private func write(_ response: ReceiverResponse, report: SettlementReport? = nil) {
        guard let context else {
            report?.failed(TransportError(.connectionFailed, "the HTTP connection closed before the response"))
            return
        }
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
            wait = .none
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { result in
                Self.report(result, to: report)
                channel.close(promise: nil)
            }
        } else {
            state = .idle
            wait = .keepAlive
            requestBegun = false
            deadlineIsStale = true
            if let report {
                context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { Self.report($0, to: report) }
            } else {
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
            servePipelined(context: context)
            if deadlineIsStale { refreshDeadline() }
        }
    }

    /// What the response's write came to, for the settlement that chose it.
    private static func report(_ result: Result<Void, any Error>, to report: SettlementReport?) {
        switch result {
        case .success: report?.reachedPeer()
        case .failure(let error):
            report?.failed(TransportError(.connectionFailed, "the HTTP response could not be written", underlying: error))
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

    // MARK: Timeouts

    /// Recomputes the deadline for what the connection now waits for; schedules the callback
    /// only if it would otherwise fire after the deadline.
    private func refreshDeadline() {
        deadlineIsStale = false
        let timeout: TimeAmount
        switch wait {
        case .head: timeout = core.headerReadTimeout
        case .body: timeout = core.bodyReadTimeout
        case .keepAlive: timeout = core.keepAliveIdleTimeout
        case .settlement: timeout = core.settlementTimeout
        case .none: return
        }
        deadline = .now() + timeout
        if timer == nil || timerFiresAt > deadline { schedule(at: deadline) }
    }

    private func schedule(at time: NIODeadline) {
        guard let context else { return }
        let eventLoop = context.eventLoop.assumeIsolated()
        if let timer { eventLoop.cancelScheduledCallback(timer) }
        do {
            timer = try eventLoop.scheduleCallback(at: time, handler: self)
            timerFiresAt = time
        } catch {
            // The event loop is shutting down: so is the connection.
            timer = nil
        }
    }

    private func cancelTimer(eventLoop: any EventLoop) {
        wait = .none
        guard let timer else { return }
        self.timer = nil
        eventLoop.assumeIsolated().cancelScheduledCallback(timer)
    }

    /// The timer fired: the deadline may have moved since it was scheduled.
    func handleScheduledCallback(eventLoop: some EventLoop) {
        timer = nil
        guard context != nil, wait != .none else { return }
        if deadlineIsStale { refreshDeadline() }
        if timer != nil { return }
        let now = NIODeadline.now()
        if deadline > now {
            schedule(at: deadline)
            return
        }
        expire()
    }

    /// What the connection waited for did not come in time.
    private func expire() {
        let waited = wait
        wait = .none
        switch (waited, state) {
        case (.head, .idle):
            logTimeout(
                status: requestBegun ? "408" : "none",
                "request head not complete within \(core.responder.configuration.headerReadTimeout)")
            if requestBegun {
                write(ReceiverResponder.text(.requestTimeout, "the request head did not arrive in time", close: true))
            } else {
                close()
            }
        case (.body, .reading):
            logTimeout(status: "408", "request body made no progress for \(core.responder.configuration.bodyReadTimeout)")
            write(ReceiverResponder.text(.requestTimeout, "the request body did not arrive in time", close: true))
        case (.keepAlive, .idle):
            core.logger.info(
                "closing an idle HTTP connection",
                metadata: [
                    "remote_address": "\(remoteAddress)",
                    "reason": "no request within \(core.responder.configuration.keepAliveIdleTimeout)"
                ])
            close()
        case (.settlement, .awaitingSettlement(let request, _)):
            core.logger.warning(
                "a delivery was not settled in time: answered as released",
                metadata: [
                    "remote_address": "\(remoteAddress)", "status": "503",
                    "reason": "not settled within \(core.responder.settlement.settlementTimeoutText)"
                ])
            abandonWaitingRequest(
                "the delivery was not settled within \(core.responder.settlement.settlementTimeoutText): answered 503",
                code: .timedOut)
            settled(request, core.responder.settlement.settlementTimedOut())
        case (_, .idle):
            wait = .keepAlive
            deadlineIsStale = true
            refreshDeadline()
        case (_, .reading):
            wait = .body
            deadlineIsStale = true
            refreshDeadline()
        case (_, .awaitingSettlement):
            wait = .settlement
            deadlineIsStale = true
            refreshDeadline()
        case (_, .closed):
            break
        }
    }

    private func close() {
        state = .closed
        context?.close(promise: nil)
    }

    // MARK: Logging

    private func logRefusal(status: Int, reason: String, level: Logger.Level = .warning) {
        core.logger.log(
            level: level, "refused an HTTP request",
            metadata: ["status": "\(status)", "reason": "\(reason)", "remote_address": "\(remoteAddress)"])
    }

    private func logTimeout(status: String, _ reason: String) {
        core.logger.warning(
            "closing an HTTP connection that timed out",
            metadata: ["status": "\(status)", "reason": "\(reason)", "remote_address": "\(remoteAddress)"])
    }

    /// The peer's address as `host:port`, for logs.
    private var remoteAddress: String {
        guard let address = context?.channel.remoteAddress else { return "unknown" }
        switch address {
        case .v4: return "\(address.ipAddress ?? "?"):\(address.port ?? 0)"
        case .v6: return "[\(address.ipAddress ?? "?")]:\(address.port ?? 0)"
        case .unixDomainSocket: return "\(address)"
        }
    }
}
