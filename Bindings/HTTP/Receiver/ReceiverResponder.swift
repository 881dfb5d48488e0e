internal import CloudEvents
internal import HTTPTypes

/// A whole response: head, body, and whether the connection closes after it.
struct ReceiverResponse: Sendable {
    var head: HTTPResponse
    var body: [UInt8]
    var closesConnection = false
}

/// What the receiver answers, decided without I/O: requests that never reach the consumer
/// (webhook handshake, wrong path, invalid event), and through ``settlement`` the response
/// for each settlement. Pure and `Sendable`, so a settlement's response is built on the
/// thread that settled it and the event loop only writes it. A class, so that the
/// per-request closures that keep it retain one reference rather than copy the whole
/// configuration.
final class ReceiverResponder: Sendable {
    let configuration: HTTPReceiverConfiguration
    /// How settlements become responses.
    let settlement: HTTPSettlement

    init(configuration: HTTPReceiverConfiguration) {
        self.configuration = configuration
        settlement = HTTPSettlement(configuration: configuration)
    }

    /// A complete request: either the response to send at once, or the message to deliver.
    enum Outcome {
        case respond(ReceiverResponse)
        /// The message, and its events as decoded to validate it.
        case deliver(Message, [CloudEvent])
        /// A binary-mode event decoded in one pass, and how to build its message should the
        /// consumer ask for it.
        case deliverDecoded(CloudEvent, message: @Sendable () -> Message)
    }

    func outcome(of request: HTTPRequest, body: [UInt8]) -> Outcome {
        if let path = configuration.path {
            let requestPath = request.path.map { $0.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "" } ?? ""
            guard requestPath == path else {
                return .respond(Self.text(.notFound, "no CloudEvents receiver at '\(requestPath)'"))
            }
        }
        if request.method == .options { return .respond(webhookHandshake(request)) }
        do {
            let reader = try HTTPMessageReader(request: request, body: body, formats: configuration.formats)
            // Decoded here so that an invalid event gets its 400 without reaching the consumer
            // (who then gets these events instead of decoding again).
            // The ordinary binary request through the one-pass decoder (which gives up, to the
            // general path, on anything unusual).
            var event = CloudEvent.decodingPlaceholder
            if reader.contentMode == .binary,
                event.decodeBinaryMode(
                    headerFields: request.headerFields, body: body, extensionTypes: configuration.extensionTypes)
            {
                let decoded = event
                return .deliverDecoded(event) {
                    // The reader accepts whatever the one-pass decoder accepts (the fast path's
                    // tests hold them to it), so this does not fail; were it ever to, the
                    // event is the same message.
                    do { return try reader.message() } catch { return (try? Message(decoded)) ?? Message() }
                }
            }
            let message = try reader.message()
            let events = try message.events(formats: configuration.formats, extensionTypes: configuration.extensionTypes)
            return .deliver(message, events)
        } catch {
            if case .unsupportedFormat = error.reason {
                return .respond(Self.text(.unsupportedMediaType, error.description))
            }
            return .respond(Self.text(.badRequest, error.description))
        }
    }

    static let webhookRequestOrigin = HTTPField.Name("WebHook-Request-Origin")!
    static let webhookRequestRate = HTTPField.Name("WebHook-Request-Rate")!
    static let webhookAllowedOrigin = HTTPField.Name("WebHook-Allowed-Origin")!
    static let webhookAllowedRate = HTTPField.Name("WebHook-Allowed-Rate")!

    /// The CloudEvents webhook abuse-protection handshake (`http-webhook.md` §4).
    private func webhookHandshake(_ request: HTTPRequest) -> ReceiverResponse {
        var fields: HTTPFields = [.allow: "POST", .contentLength: "0"]
        if let origin = request.headerFields[Self.webhookRequestOrigin] {
            if let allowed = configuration.webhookAllowedOrigins, !allowed.contains(origin) {
                return Self.text(.forbidden, "origin '\(origin)' is not allowed to deliver here")
            }
            fields[Self.webhookAllowedOrigin] = origin
            if request.headerFields[Self.webhookRequestRate] != nil {
                fields[Self.webhookAllowedRate] = configuration.webhookAllowedRate.map(String.init) ?? "*"
            }
        }
        return ReceiverResponse(head: HTTPResponse(status: .ok, headerFields: fields), body: [])
    }

    /// A `text/plain` response with a one-line message.
    static func text(_ status: HTTPResponse.Status, _ text: String, close: Bool = false) -> ReceiverResponse {
        let line = text.split(whereSeparator: \.isNewline).joined(separator: "; ")
        let body = Array(line.utf8)
        let fields: HTTPFields = [.contentType: "text/plain; charset=utf-8", .contentLength: String(body.count)]
        return ReceiverResponse(head: HTTPResponse(status: status, headerFields: fields), body: body, closesConnection: close)
    }
}
