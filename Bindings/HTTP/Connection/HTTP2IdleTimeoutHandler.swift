internal import Logging
internal import NIOCore
internal import NIOHTTP2

/// On an HTTP/2 connection, after its multiplexer: closes the connection once it has had no
/// open stream for the keep-alive idle timeout (HTTP/2's kept-alive connection). Streams are
/// counted from the multiplexer's stream-created and stream-closed events; each stream's
/// own request is timed by its ``ReceiverRequestHandler``.
final class HTTP2IdleTimeoutHandler: ChannelInboundHandler {
    typealias InboundIn = NIOAny

    private let timeout: TimeAmount
    private let logger: Logger
    private var openStreams = 0
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount, logger: Logger) {
        self.timeout = timeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        schedule(context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is NIOHTTP2StreamCreatedEvent {
            openStreams += 1
            timer?.cancel()
            timer = nil
        } else if event is StreamClosedEvent {
            openStreams = Swift.max(0, openStreams - 1)
            if openStreams == 0 { schedule(context: context) }
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func schedule(context: ChannelHandlerContext) {
        timer?.cancel()
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: timeout) {
            guard handler.value.openStreams == 0 else { return }
            handler.value.logger.info(
                "closing an idle HTTP/2 connection",
                metadata: [
                    "reason": "no stream within \(handler.value.timeout)",
                    "remote_address": "\(channel.remoteAddress.map { "\($0)" } ?? "unknown")"
                ])
            channel.close(promise: nil)
        }
    }
}
