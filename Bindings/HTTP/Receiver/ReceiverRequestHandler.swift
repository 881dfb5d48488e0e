internal import CloudEvents
internal import HTTPTypes
internal import Logging
internal import NIOCore
internal import NIOHTTPTypes
import Synchronization

/// What every connection of one receiver shares: how to answer, where deliveries go, and
/// the requests waiting for their settlement (so that cancelling the receiver can answer
/// them 503 at once).
final class ReceiverCore: Sendable {
    let responder: ReceiverResponder
    let continuation: DeliveryStream.Continuation
    let logger: Logger
    /// Once set, new requests get 503 instead of reaching the consumer.
    private let aborting = Atomic<Bool>(false)
    private let waiting = Locked(Waiting())

    private struct Waiting {
        var nextID: UInt64 = 0
        var aborts: [UInt64: @Sendable () -> Void] = [:]
    }

    init(responder: ReceiverResponder, continuation: DeliveryStream.Continuation, logger: Logger) {
        self.responder = responder
        self.continuation = continuation
        self.logger = logger
    }

    var isAborting: Bool { aborting.load(ordering: .relaxed) }

    /// Registers a request waiting for its settlement; `abort` answers it 503.
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
/// the settling thread and comes back with one `execute`. While a request waits for its
/// settlement the handler withholds `read()`, so a slow consumer stops the connection
/// instead of buffering its requests.
final class ReceiverRequestHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum State {
        case idle
        case reading(PendingRequest)
        /// `request` is the handler's own count; `registration` the core's abort entry.
        case awaitingSettlement(request: UInt64, registration: UInt64, closeAfter: Bool)
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
    private var requestCount: UInt64 = 0
    private var context: ChannelHandlerContext?

    init(core: ReceiverCore, isHTTP2: Bool) {
        self.core = core
        self.isHTTP2 = isHTTP2
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        leaveWaiting()
        state = .closed
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        leaveWaiting()
        state = .closed
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        core.logger.debug("HTTP connection failed", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        switch state {
        case .awaitingSettlement: readWithheld = true
        case .closed: break
        case .idle, .reading: context.read()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let limits = core.responder.configuration
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard case .idle = state else { return }
            var request = PendingRequest(head: head)
            var headerBytes = 0
            for field in head.headerFields { headerBytes += field.name.rawName.utf8.count + field.value.utf8.count + 4 }
            request.headersTooLarge = headerBytes > limits.maximumHeaderSize
            if let length = head.headerFields[.contentLength].flatMap({ Int($0) }) {
                if length > limits.maximumBodySize { request.bodyTooLarge = true } else { request.body.reserveCapacity(length) }
            }
            if !isHTTP2, let connection = head.headerFields[.connection], connection.lowercased().contains("close") {
                request.closeRequested = true
            }
            state = .reading(request)
        case .body(let buffer):
            guard case .reading(var request) = state else { return }
            state = .idle  // keeps the body uniquely referenced while appending
            if request.bodyTooLarge || request.headersTooLarge {
                request.discarded += buffer.readableBytes
                // A client that keeps sending after 413 is cut off here.
                if request.discarded > Swift.max(limits.maximumBodySize * 4, 4 << 20) {
                    write(ReceiverResponder.text(.contentTooLarge, "body larger than \(limits.maximumBodySize) bytes", close: true))
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

    /// A request has been read whole: answer it, or deliver it.
    private func complete(_ request: PendingRequest) {
        let limits = core.responder.configuration
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
                deliver(message, events: events, closeAfter: request.closeRequested)
                return
            }
        }
        response.closesConnection = response.closesConnection || request.closeRequested
        write(response)
    }

    private func deliver(_ message: Message, events: [CloudEvent], closeAfter: Bool) {
        guard let context, !core.isAborting else {
            write(core.responder.unavailable("the receiver is shutting down"))
            return
        }
        requestCount += 1
        let request = requestCount
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let responder = core.responder
        // Called once, on whichever thread settles (or drops) the delivery.
        let answer: @Sendable (ReceiverResponse) -> Void = { response in
            handler.eventLoop.execute { handler.value.settled(request, response) }
        }
        let registration = core.register {
            var response = responder.unavailable("the receiver is shutting down")
            response.closesConnection = true
            answer(response)
        }
        state = .awaitingSettlement(request: request, registration: registration, closeAfter: closeAfter)
        let configuration = responder.configuration
        // Not kept here: a consumer that drops the delivery unsettled releases it.
        let delivery = Delivery(
            message: message, formats: configuration.formats, extensionTypes: configuration.extensionTypes, decodedEvents: events
        ) { answer(responder.response(to: $0)) }
        switch core.continuation.trySend(delivery) {
        case .enqueued:
            break
        case .terminated:
            answer(responder.unavailable("the receiver is not taking events"))
        case .full:
            // The consumer is behind: wait for room off the event loop. This connection reads
            // nothing more meanwhile.
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
        guard case .awaitingSettlement(request, _, let closeAfter) = state else { return }
        leaveWaiting()
        var response = response
        response.closesConnection = response.closesConnection || closeAfter
        write(response)
    }

    private func leaveWaiting() {
        if case .awaitingSettlement(_, let registration, _) = state { core.unregister(registration) }
    }

    /// Writes a whole response with one flush, then reads on or closes.
    private func write(_ response: ReceiverResponse) {
        guard let context else { return }
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
            if readWithheld {
                readWithheld = false
                context.read()
            }
        }
    }
}
