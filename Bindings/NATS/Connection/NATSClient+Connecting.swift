import CloudEvents
import Logging
import NIOCore
import NIOPosix
import NIOSSL

extension NATSClient {
    /// NIOSSL's client context for `settings`; verification stays on unless turned off.
    static func makeTLSContext(_ settings: TLSSettings) throws(TransportError) -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        do {
            if let file = settings.trustedCertificatesFile {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(file))
            }
            if let file = settings.certificateChainFile {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(file).map { .certificate($0) }
            }
            if let file = settings.privateKeyFile {
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: file, format: .pem))
            }
            configuration.certificateVerification = settings.verifiesPeer ? .fullVerification : .none
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw TransportError(.invalidEndpoint, "cannot load the TLS certificates or key for NATS", underlying: error)
        }
    }

    /// The CONNECT options: credentials, name, echo, and headers and no-responders when the
    /// server's INFO says it supports headers (a server without them refuses a CONNECT asking
    /// for no-responders: `-ERR 'no responders requires headers support'`).
    func connectOptions(tls: Bool, serverSupportsHeaders: Bool) -> NATSConnectOptions {
        var options = NATSConnectOptions(name: configuration.name)
        options.echo = configuration.echo
        options.tlsRequired = tls
        options.headers = serverSupportsHeaders
        options.noResponders = serverSupportsHeaders
        switch configuration.authentication {
        case .none: break
        case .userPassword(let user, let password):
            options.user = user
            options.pass = password
        case .token(let token): options.authToken = token
        }
        return options
    }

    /// Connects to `server`, runs the handshake (INFO, TLS if asked for, CONNECT, PING/PONG),
    /// and installs the connection (replaying subscriptions and the reconnect buffer).
    func establish(_ server: NATSServerAddress) async throws(TransportError) {
        let ready = eventLoop.makePromise(of: Void.self)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(configuration.operationTimeout))
            .channelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(ChannelOptions.writeBufferWaterMark, value: .init(low: 256 << 10, high: 1 << 20))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NATSConnectionHandler(client: self, server: server, ready: ready))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: server.host, port: server.port).get()
        } catch {
            ready.fail(error)
            throw TransportError(.connectionFailed, "cannot connect to the NATS server at \(server)", underlying: error)
        }
        let timeout = configuration.operationTimeout
        let timer = eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            ready.fail(TransportError(.timedOut, "the NATS server at \(server) did not complete the handshake within \(timeout)"))
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        do {
            try await ready.futureResult.get()
        } catch {
            channel.close(promise: nil)
            throw Self.transportError(error, "connect to the NATS server at \(server)")
        }
    }

    /// Makes `channel` the connection after its handshake: replays every subscription (with
    /// what is left of its message limit), then the reconnect buffer. On the loop.
    ///
    /// - Returns: `false` when the client was closed meanwhile (the caller closes `channel`).
    func install(_ channel: any Channel, server: NATSServerAddress, info: NATSServerInfo) -> Bool {
        var replay = channel.allocator.buffer(capacity: 0)
        var replayed = (subscriptions: 0, bufferedBytes: 0)
        let installed = state.withLock { state -> Bool in
            guard !state.isClosed else { return false }
            replayed = (state.subscriptions.count, state.reconnectBuffer.readableBytes)
            if state.hasConnected { state.statistics.reconnects += 1 }
            state.hasConnected = true
            state.phase = .connected
            state.channel = channel
            state.server = server
            state.learn(info)
            state.writable = channel.isWritable
            state.outstandingPings = 0
            for (id, subscription) in state.subscriptions.sorted(by: { $0.key < $1.key }) {
                let left = subscription.maximum.map { $0 - subscription.received }
                if let left, left <= 0 { continue }
                NATSClientCommand.subscribe(
                    subject: subscription.subject, queueGroup: subscription.queueGroup, subscriptionID: id
                ).write(into: &replay)
                if let left { NATSClientCommand.unsubscribe(subscriptionID: id, afterMessages: left).write(into: &replay) }
            }
            replay.writeBuffer(&state.reconnectBuffer)
            state.reconnectBuffer = channel.allocator.buffer(capacity: 0)
            state.pongWaiters = CircularBuffer(state.deferredPongWaiters)
            state.deferredPongWaiters = []
            return true
        }
        guard installed else { return false }
        if replay.readableBytes > 0 {
            logger.debug(
                "replaying NATS subscriptions and the reconnect buffer",
                metadata: [
                    "server": "\(server)", "subscriptions": "\(replayed.subscriptions)",
                    "buffered_bytes": "\(replayed.bufferedBytes)"
                ])
            channel.writeAndFlush(replay, promise: nil)
        }
        return true
    }

    /// The connection `channel` closed (not by ``close()``): fails the flushes waiting on it and
    /// starts reconnecting. On the loop.
    func connectionLost(_ channel: any Channel, reason: String) {
        let lost = state.withLock { state -> (CircularBuffer<NATSPongWaiter>, [EventLoopPromise<Void>], NATSServerAddress)? in
            guard state.channel === channel, case .connected = state.phase else { return nil }
            state.phase = .reconnecting
            state.channel = nil
            state.outbound.clear()
            state.writable = true
            defer {
                state.pongWaiters = []
                state.writabilityWaiters = []
            }
            return (state.pongWaiters, state.writabilityWaiters, state.server)
        }
        guard let (pongWaiters, writabilityWaiters, server) = lost else { return }
        logger.warning("lost the NATS connection; reconnecting", metadata: ["server": "\(server)", "reason": "\(reason)"])
        let error = TransportError(.connectionFailed, "the connection to the NATS server at \(server) was lost: \(reason)")
        for case .flush(let promise) in pongWaiters { promise.fail(error) }
        // Their messages went out with the connection, or were lost with it (at most once).
        for waiter in writabilityWaiters { waiter.succeed() }
        let task = Task { await self.reconnect() }
        state.withLock { state in
            if state.isClosed { task.cancel() } else { state.reconnectTask = task }
        }
    }

    /// Tries every known server once per round, waiting the backoff's delay before each round,
    /// until one connects, the client closes, or the rounds run out.
    private func reconnect() async {
        var round = 0
        while true {
            round += 1
            if let maximum = configuration.maximumReconnectAttempts, round > maximum {
                shutDown(failure: TransportError(.connectionFailed, "gave up reconnecting to NATS after \(maximum) rounds"))
                return
            }
            let delay = configuration.reconnect.delay(beforeRetry: round)
            logger.debug("reconnecting to NATS", metadata: ["attempt": "\(round)", "delay_ms": "\(delay.milliseconds)"])
            guard (try? await Task.sleep(for: delay)) != nil else { return }
            for server in state.withLock({ $0.isClosed ? [] : $0.knownServers }) {
                do {
                    try await establish(server)
                    logger.info("reconnected to NATS", metadata: ["server": "\(server)", "attempt": "\(round)"])
                    return
                } catch {
                    logger.debug("NATS reconnect attempt failed", metadata: ["server": "\(server)", "reason": "\(error)"])
                }
            }
            if state.withLock({ $0.isClosed }) { return }
        }
    }
}

extension Duration {
    /// Whole milliseconds, for logs.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
