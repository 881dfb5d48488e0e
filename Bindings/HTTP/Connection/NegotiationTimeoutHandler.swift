internal import Logging
internal import NIOCore

/// On an HTTPS connection that negotiates its protocol (ALPN: HTTP/2 or HTTP/1.1): closes the
/// connection when the TLS handshake and the negotiation have not completed within the head
/// timeout, since a client that connects and stalls before its first request holds a
/// connection slot all the same. The protocol's configurator removes it
/// (``remove(from:)``); from then on ``ReceiverRequestHandler`` (HTTP/1) or
/// ``HTTP2IdleTimeoutHandler`` (HTTP/2) time the connection.
final class NegotiationTimeoutHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let timeout: TimeAmount
    private let logger: Logger
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount, logger: Logger) {
        self.timeout = timeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let logger = logger
        let timeout = timeout
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: timeout) {
            logger.warning(
                "closing an HTTPS connection that timed out",
                metadata: [
                    "status": "none", "reason": "TLS handshake not complete within \(timeout)",
                    "remote_address": "\(channel.remoteAddress.map { "\($0)" } ?? "unknown")"
                ])
            channel.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    /// Removes the handler from `channel`'s pipeline, if it is there: the protocol has been
    /// negotiated. On the channel's event loop.
    static func remove(from channel: any Channel) {
        let pipeline = channel.pipeline.syncOperations
        if let context = try? pipeline.context(handlerType: NegotiationTimeoutHandler.self) {
            pipeline.removeHandler(context: context, promise: nil)
        }
    }
}
