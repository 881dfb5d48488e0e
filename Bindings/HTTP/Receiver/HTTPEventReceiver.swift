public import CloudEvents
internal import HTTPTypes
public import Logging
public import ServiceLifecycle
internal import NIOCore
internal import NIOHTTP1
internal import NIOHTTPTypes
internal import NIOHTTPTypesHTTP1
internal import NIOPosix
import Synchronization

/// A standalone HTTP server (SwiftNIO, HTTP/1.1) that receives CloudEvents in binary,
/// structured and batched mode and hands them out as ``DeliveryStream`` deliveries.
///
/// Settling a delivery chooses the response: accept → ``HTTPReceiverConfiguration/acceptedStatus``
/// (202 by default), reject → 400 with the reason as a `text/plain` body, release (or a
/// delivery dropped unsettled) → 503. The sender learns the outcome only through this
/// status: it is the binding's whole guarantee.
///
/// Requests that carry no valid event never reach the consumer: 400 with a one-line
/// message naming the attribute, 415 for a structured format not in
/// ``HTTPReceiverConfiguration/formats``, 413 for a body over the limit, 431 for headers
/// over the limit. `OPTIONS` answers the CloudEvents webhook validation handshake.
///
/// Back-pressure: a connection reads its next request only after the consumer took the
/// current delivery and settled it, and ``DeliveryStream/Continuation/send(_:)`` waits
/// while ``HTTPReceiverConfiguration/capacity`` deliveries are queued.
///
/// ```swift
/// try await HTTPEventReceiver.withReceiver(configuration: .init(port: 8080)) { receiver in
///     for try await delivery in receiver.deliveries() {
///         print(try delivery.event())
///         delivery.accept()
///     }
/// }
/// ```
public final class HTTPEventReceiver: CloudEventReceiver, Service {
    private typealias Connection = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    /// The configuration the receiver was bound with.
    public let configuration: HTTPReceiverConfiguration
    /// The port the receiver is bound to (the ephemeral one when the configuration said 0).
    public let port: Int
    private let serverChannel: NIOAsyncChannel<Connection, Never>
    private let stream: DeliveryStream
    private let continuation: DeliveryStream.Continuation
    private let logger: Logger
    private let connections = Mutex(ConnectionRegistry())

    /// Which connections are idle (between requests), so that a graceful shutdown can close
    /// them while letting busy ones finish their request.
    private struct ConnectionRegistry {
        var shuttingDown = false
        var nextID = 0
        var idle: [Int: any Channel] = [:]
    }

    private init(
        configuration: HTTPReceiverConfiguration, port: Int, serverChannel: NIOAsyncChannel<Connection, Never>, logger: Logger
    ) {
        self.configuration = configuration
        self.port = port
        self.serverChannel = serverChannel
        self.logger = logger
        (stream, continuation) = DeliveryStream.makeStream(capacity: configuration.capacity)
    }

    /// Binds the listening socket. Call ``run()`` to serve; until then connections wait
    /// in the accept queue.
    ///
    /// - Parameters:
    ///   - configuration: where to listen and how to answer.
    ///   - logger: receives debug-level connection events.
    /// - Throws: ``TransportError`` with `.connectionFailed` when the address cannot be bound.
    public static func bind(
        configuration: HTTPReceiverConfiguration = HTTPReceiverConfiguration(),
        logger: Logger = Logger(label: "cloudevents.http.receiver")
    ) async throws -> HTTPEventReceiver {
        let serverChannel: NIOAsyncChannel<Connection, Never>
        do {
            serverChannel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .bind(host: configuration.host, port: configuration.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        return try Connection(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw TransportError(
                .connectionFailed, "cannot listen on \(configuration.host):\(configuration.port)", underlying: error)
        }
        let port = serverChannel.channel.localAddress?.port ?? configuration.port
        return HTTPEventReceiver(configuration: configuration, port: port, serverChannel: serverChannel, logger: logger)
    }

    /// Binds a receiver, serves while `body` runs, then shuts it down.
    ///
    /// - Throws: what ``bind(configuration:logger:)`` or `body` throws.
    public static func withReceiver<Result>(
        configuration: HTTPReceiverConfiguration = HTTPReceiverConfiguration(),
        logger: Logger = Logger(label: "cloudevents.http.receiver"),
        _ body: (HTTPEventReceiver) async throws -> Result
    ) async throws -> Result {
        let receiver = try await bind(configuration: configuration, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
            group.addTask { try await receiver.run() }
            defer { group.cancelAll() }
            return try await body(receiver)
        }
    }

    /// The deliveries, as they arrive. There is one stream per receiver: call this once.
    public func deliveries() -> DeliveryStream { stream }

    /// Serves until the task is cancelled (requests in progress are answered 503) or a
    /// graceful shutdown is triggered (requests in progress finish; idle connections and
    /// the listening socket close). Ends the delivery stream when it returns.
    public func run() async throws {
        defer { continuation.finish() }
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await serverChannel.executeThenClose { inbound in
                    for try await connection in inbound {
                        group.addTask { await self.serve(connection) }
                    }
                }
            }
        } onGracefulShutdown: {
            self.beginShutdown()
        }
    }

    /// Stops accepting and closes idle connections; busy ones close after their response.
    private func beginShutdown() {
        let idle = connections.withLock { registry -> [any Channel] in
            registry.shuttingDown = true
            defer { registry.idle = [:] }
            return Array(registry.idle.values)
        }
        serverChannel.channel.close(promise: nil)
        for channel in idle { channel.close(promise: nil) }
    }

    /// Marks a connection idle; `false` when the receiver is shutting down.
    private func markIdle(_ id: Int, _ channel: any Channel) -> Bool {
        connections.withLock { registry in
            guard !registry.shuttingDown else { return false }
            registry.idle[id] = channel
            return true
        }
    }

    private func markBusy(_ id: Int) {
        connections.withLock { _ = $0.idle.removeValue(forKey: id) }
    }

    /// One request being read.
    private struct PendingRequest {
        var head: HTTPRequest
        var body: [UInt8] = []
        /// The body is over the limit: the rest is discarded as it arrives.
        var bodyTooLarge = false
        var discarded = 0
        var headersTooLarge = false
    }

    /// Serves the requests of one connection, one at a time.
    private func serve(_ connection: Connection) async {
        let id = connections.withLock { registry -> Int in
            registry.nextID += 1
            return registry.nextID
        }
        defer { markBusy(id) }
        let maximumBody = configuration.maximumBodySize
        // A client that keeps sending after 413 is cut off here.
        let discardLimit = Swift.max(maximumBody * 4, 4 << 20)
        do {
            try await connection.executeThenClose { inbound, outbound in
                guard markIdle(id, connection.channel) else { return }
                var pending: PendingRequest?
                for try await part in inbound {
                    switch part {
                    case .head(let head):
                        markBusy(id)
                        var request = PendingRequest(head: head)
                        let headerBytes = head.headerFields.reduce(0) { $0 + $1.name.rawName.utf8.count + $1.value.utf8.count + 4 }
                        request.headersTooLarge = headerBytes > configuration.maximumHeaderSize
                        if let length = head.headerFields[.contentLength].flatMap({ Int($0) }), length > maximumBody {
                            request.bodyTooLarge = true
                        }
                        pending = request
                    case .body(let buffer):
                        guard var request = pending else { continue }
                        pending = nil  // keep the body uniquely referenced while appending
                        if request.bodyTooLarge || request.headersTooLarge {
                            request.discarded += buffer.readableBytes
                            if request.discarded > discardLimit {
                                try await write(Self.textResponse(.contentTooLarge, "body larger than \(maximumBody) bytes", close: true), to: outbound)
                                return
                            }
                        } else if request.body.count + buffer.readableBytes > maximumBody {
                            request.bodyTooLarge = true
                            request.discarded = request.body.count + buffer.readableBytes
                            request.body = []
                        } else {
                            request.body.append(contentsOf: buffer.readableBytesView)
                        }
                        pending = request
                    case .end:
                        guard let request = pending else { continue }
                        pending = nil
                        let response: (HTTPResponse, [UInt8])
                        if request.headersTooLarge {
                            response = Self.textResponse(
                                .requestHeaderFieldsTooLarge, "header fields larger than \(configuration.maximumHeaderSize) bytes", close: true)
                        } else if request.bodyTooLarge {
                            response = Self.textResponse(.contentTooLarge, "body larger than \(maximumBody) bytes", close: true)
                        } else {
                            response = await respond(to: request.head, body: request.body)
                        }
                        try await write(response, to: outbound)
                        if response.0.headerFields[.connection] == "close" || !markIdle(id, connection.channel) { return }
                    }
                }
            }
        } catch {
            logger.debug("HTTP connection ended", metadata: ["error": "\(error)"])
        }
    }

    /// Writes a whole response in one trip to the event loop (and one flush): three
    /// separate writes cost a quarter of the receiver's time under load.
    private func write(_ response: (HTTPResponse, [UInt8]), to outbound: NIOAsyncChannelOutboundWriter<HTTPResponsePart>) async throws {
        if response.1.isEmpty {
            try await outbound.write(contentsOf: [.head(response.0), .end(nil)])
        } else {
            try await outbound.write(contentsOf: [.head(response.0), .body(ByteBuffer(bytes: response.1)), .end(nil)])
        }
    }

    /// The response to one complete request.
    private func respond(to request: HTTPRequest, body: [UInt8]) async -> (HTTPResponse, [UInt8]) {
        if request.method == .options { return webhookHandshake(request) }
        if let path = configuration.path {
            let requestPath = request.path.map { $0.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "" } ?? ""
            guard requestPath == path else { return Self.textResponse(.notFound, "no CloudEvents receiver at '\(requestPath)'") }
        }
        let message: Message
        do {
            let reader = try HTTPMessageReader(request: request, body: body, formats: configuration.formats)
            message = try reader.message()
            _ = try message.events(formats: configuration.formats, extensionTypes: configuration.extensionTypes)
        } catch {
            if case .unsupportedFormat = error.reason {
                return Self.textResponse(.unsupportedMediaType, error.description)
            }
            return Self.textResponse(.badRequest, error.description)
        }
        let (settled, settledContinuation) = AsyncStream.makeStream(of: Settlement.self, bufferingPolicy: .bufferingNewest(1))
        do {
            // The delivery is not kept here, so a consumer that drops it unsettled releases it.
            try await continuation.send(Delivery(
                message: message, formats: configuration.formats, extensionTypes: configuration.extensionTypes
            ) { settlement in
                settledContinuation.yield(settlement)
                settledContinuation.finish()
            })
        } catch {
            return Self.textResponse(.serviceUnavailable, "the receiver is not taking events")
        }
        var iterator = settled.makeAsyncIterator()
        switch await iterator.next() ?? .released {
        case .accepted:
            return (HTTPResponse(status: configuration.acceptedStatus, headerFields: [.contentLength: "0"]), [])
        case .acceptedWithReply(let reply):
            // The reply event travels in the response, in the message's own content mode.
            do {
                var (fields, body) = try reply.httpFields()
                fields[.contentLength] = String(body.count)
                return (HTTPResponse(status: .ok, headerFields: fields), body)
            } catch {
                return Self.textResponse(.internalServerError, "the consumer's reply is not a valid event: \(error)")
            }
        case .rejected(let reason):
            return Self.textResponse(.badRequest, reason)
        case .released:
            return Self.textResponse(.serviceUnavailable, "the event was released; try again")
        }
    }

    static let webhookRequestOrigin = HTTPField.Name("WebHook-Request-Origin")!
    static let webhookRequestRate = HTTPField.Name("WebHook-Request-Rate")!
    static let webhookAllowedOrigin = HTTPField.Name("WebHook-Allowed-Origin")!
    static let webhookAllowedRate = HTTPField.Name("WebHook-Allowed-Rate")!

    /// The CloudEvents webhook abuse-protection handshake (`http-webhook.md` §4).
    private func webhookHandshake(_ request: HTTPRequest) -> (HTTPResponse, [UInt8]) {
        var fields: HTTPFields = [.allow: "POST", .contentLength: "0"]
        if let origin = request.headerFields[Self.webhookRequestOrigin] {
            if let allowed = configuration.webhookAllowedOrigins, !allowed.contains(origin) {
                return Self.textResponse(.forbidden, "origin '\(origin)' is not allowed to deliver here")
            }
            fields[Self.webhookAllowedOrigin] = origin
            if request.headerFields[Self.webhookRequestRate] != nil {
                fields[Self.webhookAllowedRate] = configuration.webhookAllowedRate.map(String.init) ?? "*"
            }
        }
        return (HTTPResponse(status: .ok, headerFields: fields), [])
    }

    /// A `text/plain` response with a one-line message.
    static func textResponse(_ status: HTTPResponse.Status, _ text: String, close: Bool = false) -> (HTTPResponse, [UInt8]) {
        let line = text.split(whereSeparator: \.isNewline).joined(separator: "; ")
        let body = Array(line.utf8)
        var fields: HTTPFields = [.contentType: "text/plain; charset=utf-8", .contentLength: String(body.count)]
        if close { fields[.connection] = "close" }
        return (HTTPResponse(status: status, headerFields: fields), body)
    }
}
