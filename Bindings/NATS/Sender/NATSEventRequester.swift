public import CloudEvents

/// Sends events as NATS requests and returns the event each reply carries: CloudEvents over
/// NATS request-reply.
///
/// A request is published with a reply subject in the client's inbox
/// (``NATSClient/request(_:timeout:)``); a responder is a ``NATSEventReceiver`` whose consumer
/// answers with ``Delivery/accept(reply:)-(CloudEvent)``:
///
/// ```swift
/// // The responder
/// for try await delivery in receiver.deliveries() {
///     let request = try delivery.event()
///     try delivery.accept(reply: answer(to: request))
/// }
/// // The requester
/// let requester = try NATSEventRequester(client: client, subject: "orders.price")
/// let reply = try await requester.request(event, timeout: .seconds(5))
/// ```
public struct NATSEventRequester: Sendable {
    /// The client that sends the requests.
    public let client: NATSClient
    /// The subject requests go to.
    public let subject: String
    /// The mode requests are written in: binary (the default) or structured.
    public let mode: ContentMode
    /// The structured-mode format of requests.
    public let format: any EventFormat
    /// The formats a structured reply may use.
    public let formats: EventFormatRegistry
    /// Types for a binary reply's extensions, which arrive as strings.
    public let extensionTypes: ExtensionTypes

    /// A requester to `subject` through `client`.
    ///
    /// - Parameters:
    ///   - client: the client that sends the requests.
    ///   - subject: the subject (no wildcards).
    ///   - mode: binary (the default) or structured, for requests.
    ///   - format: the structured-mode format of requests.
    ///   - formats: the formats a structured reply may use.
    ///   - extensionTypes: types for a binary reply's extensions.
    /// - Throws: ``TransportError`` `.invalidEndpoint` for batch mode or a subject that is not
    ///   a valid subject to publish to.
    public init(
        client: NATSClient, subject: String, mode: ContentMode = .binary, format: any EventFormat = JSONEventFormat(),
        formats: EventFormatRegistry = .standard, extensionTypes: ExtensionTypes = .none
    ) throws(TransportError) {
        // The sender's checks are the requester's: one subject, no batch mode.
        _ = try NATSEventSender(client: client, subject: subject, mode: mode, format: format)
        self.client = client
        self.subject = subject
        self.mode = mode
        self.format = format
        self.formats = formats
        self.extensionTypes = extensionTypes
    }

    /// Sends `event` as a request and returns the event of the first reply.
    ///
    /// - Parameter timeout: how long to wait for the reply; the client's operation timeout
    ///   when `nil`.
    /// - Throws: ``TransportError``: `.invalidMessage` for an event the mapping cannot write or
    ///   a reply that is not a CloudEvent (naming the rule it breaks); `.notDelivered` when no
    ///   responder subscribes to the subject; `.timedOut` when no reply came in time; what
    ///   ``NATSClient/request(_:timeout:)`` throws otherwise.
    public func request(_ event: CloudEvent, timeout: Duration? = nil) async throws -> CloudEvent {
        let request: NATSMessage
        do {
            request = try NATSMessage(
                subject: subject, event: event, mode: mode, format: format, serverSupportsHeaders: client.serverInfo.headers)
        } catch {
            throw TransportError(.invalidMessage, "cannot write the request to '\(subject)': \(error)", underlying: error)
        }
        let reply = try await client.request(request, timeout: timeout)
        do {
            return try NATSMessageReader(reply).event(formats: formats, extensionTypes: extensionTypes)
        } catch {
            throw TransportError(
                .invalidMessage, "the reply to the request on '\(subject)' is not a CloudEvent: \(error)", underlying: error)
        }
    }

    /// Sends `message` as a request, in the shape it has, and returns the reply as a message
    /// (its `:subject` metadata is the reply subject).
    ///
    /// - Throws: ``TransportError`` as ``request(_:timeout:)-(CloudEvent,_)`` does, except that
    ///   any reply is returned.
    public func request(_ message: Message, timeout: Duration? = nil) async throws -> Message {
        let request: NATSMessage
        do {
            request = try NATSMessage(subject: subject, message: message, serverSupportsHeaders: client.serverInfo.headers)
        } catch {
            throw TransportError(.invalidMessage, "cannot write the request to '\(subject)': \(error)", underlying: error)
        }
        let reply = try await client.request(request, timeout: timeout)
        do {
            return try NATSMessageReader(reply).message()
        } catch {
            throw TransportError(
                .invalidMessage, "the reply to the request on '\(subject)' cannot be read: \(error)", underlying: error)
        }
    }
}
