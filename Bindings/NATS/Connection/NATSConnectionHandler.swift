import CloudEvents
import Logging
import NIOCore
import NIOSSL

/// One connection's handler: the handshake (INFO, TLS upgrade, CONNECT, PING → PONG), then
/// the server's commands routed to the client. A message a consumer had no room for is held
/// here, with every message after it, in order, until the consumer calls `onRoom`. Reading goes
/// on meanwhile (so PONGs, PINGs and errors are still seen: a flush does not wait for a full
/// consumer) until the held messages pass ``readAheadLimit`` bytes; then the socket's reading
/// pauses, and the server holds (or, for a slow consumer, drops) what follows.
///
/// Decodes with ``NATSServerCommandDecoder`` itself (no separate decoding handler: one
/// pipeline step per read). Everything here runs on the channel's event loop.
final class NATSConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Phase {
        case awaitingInfo
        case awaitingPong(NATSServerInfo)
        case ready
    }

    private let client: NATSClient
    private let server: NATSServerAddress
    private let ready: EventLoopPromise<Void>
    private let processor = NIOSingleStepByteToMessageProcessor(NATSServerCommandDecoder())
    private var phase = Phase.awaitingInfo
    private var context: ChannelHandlerContext?
    /// Messages not yet taken, oldest first, and whether each was counted already.
    private var held = CircularBuffer<(subscriptionID: UInt64, message: NATSMessage, counted: Bool)>()
    /// The payload bytes of ``held``.
    private var heldBytes = 0
    /// Whether a consumer answered `.full` and its `onRoom` has not come yet.
    private var waitingForRoom = false
    /// Whether reading is paused (`autoRead` off) because ``held`` passed ``readAheadLimit``.
    private var readingPaused = false
    /// Payload bytes held for a full consumer before reading pauses.
    static let readAheadLimit = 4 << 20
    /// Why the connection is closing, when this side knows (logged and reported on loss).
    private var closeReason: String?
    private var keepalive: RepeatedTask?
    /// Given to consumers that answer `.full`: resumes delivery on the loop.
    private var onRoom: (@Sendable () -> Void)?

    init(client: NATSClient, server: NATSServerAddress, ready: EventLoopPromise<Void>) {
        self.client = client
        self.server = server
        self.ready = ready
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        onRoom = { bound.eventLoop.execute { bound.value.resume() } }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        do {
            try processor.process(buffer: bytes) { command in try handle(command, context: context) }
        } catch let error as NATSProtocolError {
            fail(context: context, reason: error.description)
        } catch {
            fail(context: context, reason: "\(error)")
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        client.writabilityChanged(context.channel, writable: context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is NIOSSLError || error is BoringSSLError {
            fail(context: context, reason: "TLS with \(server) failed: \(error)")
        } else {
            fail(context: context, reason: "\(error)")
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        keepalive?.cancel()
        keepalive = nil
        let reason = closeReason ?? "the server closed the connection"
        switch phase {
        case .awaitingInfo, .awaitingPong:
            ready.fail(Self.handshakeError(reason, server: server))
        case .ready:
            client.connectionLost(context.channel, reason: reason)
        }
        context.fireChannelInactive()
    }

    /// Closes the connection for `reason` (the first reason wins).
    private func fail(context: ChannelHandlerContext, reason: String) {
        if closeReason == nil {
            closeReason = reason
            client.logger.warning("closing the NATS connection", metadata: ["server": "\(server)", "reason": "\(reason)"])
        }
        context.close(promise: nil)
    }

    private func handle(_ command: NATSServerCommand, context: ChannelHandlerContext) throws {
        switch (command, phase) {
        case (.ping, _):
            var pong = context.channel.allocator.buffer(capacity: 6)
            NATSClientCommand.pong.write(into: &pong)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case (.ok, _):
            break
        case (.info(let info), .awaitingInfo):
            try startSession(info, context: context)
        case (.info(let info), _):
            client.serverInfoUpdated(info, channel: context.channel)
        case (.pong, .awaitingPong(let info)):
            phase = .ready
            guard client.install(context.channel, server: server, info: info) else {
                ready.fail(TransportError(.closed, "the NATS client was closed while connecting"))
                context.close(promise: nil)
                return
            }
            startKeepalive(context: context)
            ready.succeed()
        case (.pong, .ready):
            client.pongReceived(context.channel)
        case (.error(let text), .ready):
            if let reason = client.serverError(text, channel: context.channel) { fail(context: context, reason: reason) }
        case (.error(let text), _):
            closeReason = "the server answered -ERR '\(text)'"
            ready.fail(Self.handshakeError(closeReason!, server: server))
            context.close(promise: nil)
        case (.message(let subscriptionID, let message), .ready):
            if waitingForRoom || !held.isEmpty {
                hold(subscriptionID, message, counted: false, context: context)
            } else if !offer(subscriptionID, message, counted: false) {
                waitingForRoom = true
                hold(subscriptionID, message, counted: true, context: context)
            }
        case (.message, _), (.pong, .awaitingInfo):
            throw NATSProtocolError("the server sent \(Self.name(command)) before the handshake completed")
        }
    }

    /// INFO arrived: upgrade to TLS if wanted, then CONNECT and PING.
    private func startSession(_ info: NATSServerInfo, context: ChannelHandlerContext) throws {
        let wantsTLS = client.configuration.tls != nil || info.tlsRequired
        if wantsTLS {
            guard info.tlsRequired || info.tlsAvailable || client.configuration.tls == nil else {
                throw TransportError(.connectionFailed, "the NATS server at \(server) does not offer TLS")
            }
            let tlsContext = try client.tlsContext ?? NATSClient.makeTLSContext(TLSSettings())
            let isAddress = (try? SocketAddress(ipAddress: server.host, port: 0)) != nil
            let handler = try NIOSSLClientHandler(context: tlsContext, serverHostname: isAddress ? nil : server.host)
            try context.pipeline.syncOperations.addHandler(handler, position: .first)
        }
        phase = .awaitingPong(info)
        var buffer = context.channel.allocator.buffer(capacity: 256)
        NATSClientCommand.connect(client.connectOptions(tls: wantsTLS, serverSupportsHeaders: info.headers)).write(into: &buffer)
        NATSClientCommand.ping.write(into: &buffer)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    private func startKeepalive(context: ChannelHandlerContext) {
        let interval = TimeAmount(client.configuration.pingInterval)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let channel = context.channel
        keepalive = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            // Paused reading cannot see a PONG: no staleness verdict then.
            guard !bound.value.readingPaused else { return }
            if let reason = bound.value.client.keepaliveTick(channel), let context = bound.value.context {
                bound.value.fail(context: context, reason: reason)
            }
        }
    }

    /// Offers a message to its consumer; `false` when the consumer was full.
    private func offer(_ subscriptionID: UInt64, _ message: NATSMessage, counted: Bool) -> Bool {
        client.deliver(message, to: subscriptionID, counted: counted, onRoom: onRoom!)
    }

    private func hold(_ subscriptionID: UInt64, _ message: NATSMessage, counted: Bool, context: ChannelHandlerContext) {
        held.append((subscriptionID, message, counted))
        heldBytes += message.payload.count
        guard heldBytes > Self.readAheadLimit, !readingPaused else { return }
        readingPaused = true
        try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: false)
    }

    /// A consumer has room: offers the held messages again, in order, then reads again.
    private func resume() {
        guard waitingForRoom else { return }
        waitingForRoom = false
        while let first = held.first {
            guard offer(first.subscriptionID, first.message, counted: first.counted) else {
                held[held.startIndex].counted = true
                waitingForRoom = true
                break
            }
            held.removeFirst()
            heldBytes -= first.message.payload.count
        }
        guard readingPaused, heldBytes <= Self.readAheadLimit / 2, let context, context.channel.isActive else { return }
        readingPaused = false
        try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: true)
        context.read()
    }

    /// A handshake failure as the caller of connect sees it.
    static func handshakeError(_ reason: String, server: NATSServerAddress) -> TransportError {
        if reason.lowercased().contains("authorization violation") || reason.lowercased().contains("authentication") {
            return TransportError(.notAuthorized, "the NATS server at \(server) refused the credentials: \(reason)")
        }
        return TransportError(.connectionFailed, "cannot connect to the NATS server at \(server): \(reason)")
    }

    private static func name(_ command: NATSServerCommand) -> String {
        switch command {
        case .info: "INFO"
        case .message: "MSG"
        case .ping: "PING"
        case .pong: "PONG"
        case .ok: "+OK"
        case .error: "-ERR"
        }
    }
}
