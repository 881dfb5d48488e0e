internal import Logging
internal import NIOCore

/// On the listening channel: stops accepting while `limit` connections are open, and
/// accepts again when one closes. Waiting connections stay in the kernel's accept queue,
/// so a burst of clients is slowed down rather than refused.
///
/// Works by withholding `read()` (which is what accepts on a server channel); the server
/// channel must accept one connection per read (`maxMessagesPerRead` 1), or one read could
/// take several past the limit.
final class ConnectionLimitHandler: ChannelDuplexHandler {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel
    typealias OutboundIn = Never

    private let limit: Int
    private let logger: Logger
    private var open = 0
    private var readWithheld = false
    private var context: ChannelHandlerContext?

    init(limit: Int, logger: Logger) {
        self.limit = Swift.max(1, limit)
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let child = unwrapInboundIn(data)
        open += 1
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        child.closeFuture.whenComplete { _ in
            handler.eventLoop.execute { handler.value.connectionClosed() }
        }
        context.fireChannelRead(data)
    }

    func read(context: ChannelHandlerContext) {
        if open >= limit {
            if !readWithheld {
                logger.warning(
                    "HTTP connection limit reached: new connections wait in the accept queue until one closes",
                    metadata: ["limit": "\(limit)", "reason": "connection limit"])
            }
            readWithheld = true
        } else {
            context.read()
        }
    }

    private func connectionClosed() {
        open -= 1
        if readWithheld, open < limit, let context {
            readWithheld = false
            context.read()
        }
    }
}
