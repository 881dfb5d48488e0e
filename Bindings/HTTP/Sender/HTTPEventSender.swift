internal import AsyncHTTPClient
public import CloudEvents
internal import HTTPTypes
internal import Logging
internal import NIOCore
internal import NIOHTTP1
internal import NIOPosix
internal import NIOSSL
public import ServiceLifecycle
import Synchronization
import Tracing

/// Sends CloudEvents over HTTP with async-http-client: connection pooling, HTTP/1.1 and
/// HTTP/2, retries with backoff (``HTTPRetryPolicy``), no redirects (the webhook spec
/// forbids following them).
///
/// A 2xx response is success; a retryable status or network error is retried as the
/// policy says; any other status throws ``TransportError`` with code `.rejected` and an
/// ``HTTPStatusError`` (status and body) as `underlying`.
///
/// Lifecycle: use ``withSender(configuration:_:)``, which shuts the sender down on every
/// path; or run it as a swift-service-lifecycle `Service`, whose ``run()`` holds it until the
/// task is cancelled or the service group shuts down gracefully, then shuts it down; or call
/// ``shutdown()`` when done.
public final class HTTPEventSender: CloudEventSender, Service {
    /// The configuration the sender was created with.
    public let configuration: HTTPSenderConfiguration
    private let client: HTTPClient
    private let logger: Logger
    /// What every request starts from: the URL and the method, set once.
    private let requestTemplate: HTTPClientRequest
    /// ``HTTPSenderConfiguration/headerFields``, as they are added to requests.
    private let extraHeaderFields: [(name: HTTPField.Name, value: String)]
    /// One attempt's time, as async-http-client takes it.
    private let attemptTimeout: TimeAmount
    /// `METHOD URL` (password masked), for error messages.
    private let operation: String
    /// Completed by ``shutdown()``: ``run()`` returns then.
    private let stopped: EventLoopPromise<Void>
    private let shutdownStarted = Atomic<Bool>(false)

    /// Creates a sender and its `HTTPClient`.
    ///
    /// - Throws: ``TransportError`` with `.invalidEndpoint` when the URL is not `http(s)://`
    ///   or a TLS file cannot be loaded.
    public init(configuration: HTTPSenderConfiguration) throws {
        let lowered = configuration.url.lowercased()
        guard lowered.hasPrefix("http://") || lowered.hasPrefix("https://") else {
            throw TransportError(.invalidEndpoint, "'\(configuration.url)' is not an http:// or https:// URL")
        }
        self.configuration = configuration
        var clientConfiguration = HTTPClient.Configuration()
        clientConfiguration.redirectConfiguration = .disallow
        clientConfiguration.httpVersion = .automatic
        // The retry policy retries failed connections (with its backoff, or not at all);
        // async-http-client's own retrying would keep a request that can never connect (an
        // untrusted certificate) waiting until its timeout.
        clientConfiguration.connectionPool.retryConnectionEstablishment = false
        // Connecting (TLS handshake included) is part of an attempt, so it gets the attempt's
        // time: async-http-client's own 10 s would fail a slow handshake on a loaded machine
        // long before the timeout the user set.
        clientConfiguration.timeout.connect = .nanoseconds(configuration.timeout.nanoseconds)
        // Without a tracer bootstrapped, async-http-client would still open a no-op span per
        // request (a few per cent of a request's CPU); with one, it traces as usual.
        if clientConfiguration.tracing.tracer is NoOpTracer { clientConfiguration.tracing.tracer = nil }
        if let tls = configuration.tls {
            clientConfiguration.tlsConfiguration = try Self.tlsConfiguration(tls)
        }
        let group = MultiThreadedEventLoopGroup.singleton
        client = HTTPClient(eventLoopGroup: group, configuration: clientConfiguration)
        var logger = configuration.logger
        logger[metadataKey: "endpoint"] = "\(configuration.maskedURL)"
        self.logger = logger
        var requestTemplate = HTTPClientRequest(url: configuration.url)
        requestTemplate.method = HTTPMethod(rawValue: configuration.method.rawValue)
        self.requestTemplate = requestTemplate
        extraHeaderFields = configuration.headerFields.map { ($0.name, $0.value) }
        attemptTimeout = .nanoseconds(configuration.timeout.nanoseconds)
        operation = "\(configuration.method) \(configuration.maskedURL)"
        stopped = group.next().makePromise()
    }

    deinit {
        // A promise must be completed before it goes (completing it twice does nothing).
        stopped.succeed()
    }

    /// NIOSSL's configuration for ``TLSSettings``; verification stays on unless turned off.
    private static func tlsConfiguration(_ tls: TLSSettings) throws(TransportError) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        do {
            if let file = tls.trustedCertificatesFile {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(file))
            }
            if let file = tls.certificateChainFile {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(file).map { .certificate($0) }
            }
            if let file = tls.privateKeyFile {
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: file, format: .pem))
            }
        } catch {
            throw TransportError(.invalidEndpoint, "cannot load the TLS certificates or key", underlying: error)
        }
        configuration.certificateVerification = tls.verifiesPeer ? .fullVerification : .none
        return configuration
    }

    /// Creates a sender, runs `body` with it, and shuts it down on every path.
    ///
    /// - Parameters:
    ///   - configuration: where and how to send, and where to log.
    ///   - body: runs with the sender.
    /// - Returns: what `body` returns.
    /// - Throws: what ``init(configuration:)`` or `body` throws, or the client's shutdown
    ///   error when `body` succeeded.
    public static func withSender<Result>(
        configuration: HTTPSenderConfiguration, _ body: (HTTPEventSender) async throws -> Result
    ) async throws -> Result {
        let sender = try HTTPEventSender(configuration: configuration)
        do {
            let result = try await body(sender)
            try await sender.shutdown()
            return result
        } catch {
            try? await sender.shutdown()
            throw error
        }
    }

    /// Holds the sender until the task is cancelled, the service group shuts down
    /// gracefully, or ``shutdown()`` is called; then shuts it down (sends in progress fail)
    /// and returns.
    ///
    /// - Throws: the client's shutdown error.
    public func run() async throws {
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                try? await stopped.futureResult.get()
            } onGracefulShutdown: {
                self.stopped.succeed()
            }
        } onCancel: {
            self.stopped.succeed()
        }
        try await shutdown()
    }

    /// Closes the pooled connections and makes ``run()`` return. The sender cannot send
    /// afterwards. Calling it again does nothing.
    ///
    /// - Throws: the client's shutdown error.
    public func shutdown() async throws {
        guard !shutdownStarted.exchange(true, ordering: .relaxed) else { return }
        stopped.succeed()
        try await client.shutdown()
    }

    /// Sends `event` in the configured mode and format.
    ///
    /// - Throws: ``TransportError``; see ``exchange(_:)-(CloudEvent)``.
    public func send(_ event: CloudEvent) async throws {
        let (fields, body) = try Self.httpFields(of: event, mode: configuration.mode, format: configuration.format)
        try await execute(fields: fields, body: body) { _, _, _, _ in }
    }

    /// Sends `message` in the shape it has (a structured body passes through untouched).
    ///
    /// - Throws: ``TransportError``.
    public func send(_ message: Message) async throws {
        let (fields, body) = try Self.httpFields(of: message)
        try await execute(fields: fields, body: body) { _, _, _, _ in }
    }

    /// Sends `event` and returns the response, with any event it carries.
    ///
    /// - Throws: ``TransportError``: `.invalidMessage` when the event cannot be written,
    ///   `.rejected` for a non-retryable status, `.notDelivered` when retries ran out,
    ///   `.connectionFailed` or `.timedOut` for network failures.
    public func exchange(_ event: CloudEvent) async throws -> HTTPEventResponse {
        let (fields, body) = try Self.httpFields(of: event, mode: configuration.mode, format: configuration.format)
        return try await execute(fields: fields, body: body, response: eventResponse)
    }

    /// Sends `message` as it is and returns the response.
    ///
    /// - Throws: ``TransportError`` as ``exchange(_:)-(CloudEvent)`` does.
    public func exchange(_ message: Message) async throws -> HTTPEventResponse {
        let (fields, body) = try Self.httpFields(of: message)
        return try await execute(fields: fields, body: body, response: eventResponse)
    }

    /// Sends `events` as one batch in the configured format and returns the response.
    ///
    /// - Throws: ``TransportError`` as ``exchange(_:)-(CloudEvent)`` does.
    public func exchange(batch events: [CloudEvent]) async throws -> HTTPEventResponse {
        let message: Message
        do { message = try Message(batch: events, format: configuration.format) } catch {
            throw TransportError(.invalidMessage, "cannot encode a batch of \(events.count) events", underlying: error)
        }
        return try await exchange(message)
    }

    private static func httpFields(
        of event: CloudEvent, mode: ContentMode, format: any EventFormat
    ) throws(TransportError) -> (HTTPFields, [UInt8]) {
        do {
            return try event.httpFields(mode: mode, format: format)
        } catch {
            throw TransportError(.invalidMessage, "cannot write event '\(event.id)' as an HTTP request", underlying: error)
        }
    }

    private static func httpFields(of message: Message) throws(TransportError) -> (HTTPFields, [UInt8]) {
        do {
            return try message.httpFields()
        } catch {
            throw TransportError(.invalidMessage, "cannot write the message as an HTTP request", underlying: error)
        }
    }

    /// The request head's header fields: the configured ones the message does not set, by
    /// their names as configured, then the message's, by their canonical (lowercase) names.
    private func requestHeaders(_ fields: HTTPFields) -> HTTPHeaders {
        var headers: [(String, String)] = []
        headers.reserveCapacity(extraHeaderFields.count + fields.count)
        for field in extraHeaderFields where fields[field.name] == nil { headers.append((field.name.rawName, field.value)) }
        for field in fields { headers.append((field.name.canonicalName, field.value)) }
        // One array, not `add(name:value:)` per field, which checks that each name is ASCII
        // (HTTP tokens are) and resets the keep-alive state (still unknown here).
        return HTTPHeaders(headers)
    }

    /// Sends the request with retries; a 2xx response becomes what `response` makes of it
    /// (``send(_:)-(CloudEvent)`` wants nothing, so its header fields are not converted).
    private func execute<Response>(
        fields: HTTPFields, body: [UInt8],
        response makeResponse: (HTTPResponse.Status, HTTPClientResponse, _ body: [UInt8], _ attempts: Int) -> Response
    ) async throws -> Response {
        var request = requestTemplate
        request.headers = requestHeaders(fields)
        let requestBody = ByteBuffer(bytes: body)
        let policy = configuration.retry
        var attempt = 0
        while true {
            attempt += 1
            request.body = .bytes(requestBody)
            let outcome: Result<(HTTPClientResponse, [UInt8]), any Error>
            do {
                let response = try await client.execute(request, timeout: attemptTimeout)
                outcome = .success(
                    (
                        response,
                        try await Self.body(of: response, operation: operation, limit: configuration.maximumResponseBodySize)
                    ))
            } catch let error as TransportError {
                throw error  // the response arrived: not a network error, never retried
            } catch {
                outcome = .failure(error)
            }
            switch outcome {
            case .success(let (response, bytes)):
                let status = HTTPResponse.Status(code: Int(response.status.code))
                if status.kind == .successful { return makeResponse(status, response, bytes, attempt) }
                let headerFields = Self.headerFields(of: response.headers)
                let statusError = HTTPStatusError(status: status, headerFields: headerFields, body: bytes)
                guard policy.isRetryable(status: status.code) else {
                    logger.error(
                        "the receiver refused the event",
                        metadata: ["attempt": "\(attempt)", "status": "\(status.code)", "reason": "\(statusError)"])
                    throw TransportError(
                        .rejected, "\(operation) answered \(statusError)", peerStatus: status.code, isTransient: false,
                        underlying: statusError)
                }
                let retryAfter = headerFields[.retryAfter].flatMap { HTTPRetryPolicy.parseRetryAfter($0) }
                guard attempt < policy.maximumAttempts else {
                    logger.error(
                        "gave up sending the event",
                        metadata: ["attempt": "\(attempt)", "status": "\(status.code)", "reason": "\(statusError)"])
                    throw TransportError(
                        .notDelivered, "\(operation) answered \(statusError) after \(attempt) attempts",
                        peerStatus: status.code, isTransient: true, retryAfter: retryAfter, underlying: statusError)
                }
                let delay = policy.delay(beforeRetry: attempt, retryAfter: retryAfter)
                logger.warning(
                    "retrying the send",
                    metadata: ["attempt": "\(attempt)", "delay_ms": "\(delay.milliseconds)", "status": "\(status.code)"])
                try await Task.sleep(for: delay)
            case .failure(let error):
                // async-http-client reports a cancelled request with its own error: never retry it.
                if error is CancellationError || Task.isCancelled { throw CancellationError() }
                let code = Self.isTimeout(error) ? TransportError.Code.timedOut : .connectionFailed
                // A refused TLS handshake (an untrusted or mismatched certificate) fails the same
                // way every time: reported at once rather than retried.
                if Self.isTLSHandshakeFailure(error) {
                    logger.error(
                        "gave up sending the event: the TLS handshake was refused",
                        metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                    throw TransportError(code, "\(operation) failed: the TLS handshake was refused", underlying: error)
                }
                guard policy.retryOnNetworkErrors, attempt < policy.maximumAttempts else {
                    logger.error("gave up sending the event", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                    throw TransportError(code, "\(operation) failed after \(attempt) attempt(s)", underlying: error)
                }
                let delay = policy.delay(beforeRetry: attempt, retryAfter: nil)
                logger.warning(
                    "retrying the send",
                    metadata: ["attempt": "\(attempt)", "delay_ms": "\(delay.milliseconds)", "error": "\(error)"])
                try await Task.sleep(for: delay)
            }
        }
    }

    /// The ``HTTPEventResponse`` of a 2xx response, with the event it carries.
    private func eventResponse(
        status: HTTPResponse.Status, response: HTTPClientResponse, body: [UInt8], attempts: Int
    ) -> HTTPEventResponse {
        let headerFields = Self.headerFields(of: response.headers)
        let (event, eventError) = responseEvent(headerFields: headerFields, body: body)
        return HTTPEventResponse(
            status: status, headerFields: headerFields, body: body, attempts: attempts, event: event,
            eventError: eventError, version: Self.versionText(response.version))
    }

    /// A response's header fields as swift-http-types fields; names that are not valid field
    /// names are left out.
    private static func headerFields(of headers: HTTPHeaders) -> HTTPFields {
        var headerFields = HTTPFields()
        for header in headers {
            if let name = HTTPField.Name(header.name) { headerFields.append(HTTPField(name: name, value: header.value)) }
        }
        return headerFields
    }

    /// `HTTP/1.1` and the like, without formatting the common versions.
    private static func versionText(_ version: HTTPVersion) -> String {
        switch (version.major, version.minor) {
        case (1, 1): "HTTP/1.1"
        case (2, 0): "HTTP/2.0"
        case (1, 0): "HTTP/1.0"
        default: "\(version)"
        }
    }

    /// The response body, up to `limit` bytes. Once a status has arrived, a body that cannot be
    /// read is not a network error: after a 2xx the event was delivered, so retrying would
    /// deliver it twice. An oversize 2xx body is a `.protocolError` saying so; the body of
    /// an error status is only informative, so it is dropped and the status decides.
    private static func body(of response: HTTPClientResponse, operation: String, limit: Int) async throws -> [UInt8] {
        do {
            return Array(try await response.body.collect(upTo: limit).readableBytesView)
        } catch {
            if Task.isCancelled { throw CancellationError() }
            guard (200..<300).contains(Int(response.status.code)) else { return [] }
            throw TransportError(
                .protocolError,
                "\(operation) delivered the event (status \(response.status.code)), but its response body could not be read within \(limit) bytes",
                underlying: error)
        }
    }

    /// The event a 2xx response carries, if it carries one (a CloudEvents content type or a
    /// `ce-specversion` header), or why it could not be decoded.
    private func responseEvent(headerFields: HTTPFields, body: [UInt8]) -> (CloudEvent?, MessageError?) {
        let reader: HTTPMessageReader
        do {
            reader = try HTTPMessageReader(headerFields: headerFields, body: body, formats: configuration.formats)
        } catch {
            // Only a response that claims to carry an event can carry a broken one.
            let claims =
                headerFields.contains { $0.name.canonicalName.hasPrefix("ce-") }
                || headerFields[.contentType]?.lowercased().contains("application/cloudevents") == true
            return (nil, claims ? error : nil)
        }
        let carriesEvent =
            reader.contentMode != .binary
            || reader.headerFields.contains { $0.name.canonicalName == "ce-specversion" }
        guard carriesEvent else { return (nil, nil) }
        do {
            return (try reader.event(formats: configuration.formats), nil)
        } catch {
            return (nil, error)
        }
    }

    private static func isTLSHandshakeFailure(_ error: any Error) -> Bool {
        if case .handshakeFailed = error as? NIOSSLError { return true }
        return false
    }

    private static func isTimeout(_ error: any Error) -> Bool {
        guard let error = error as? HTTPClientError else { return false }
        return error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout
    }
}
