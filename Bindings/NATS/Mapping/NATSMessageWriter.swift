public import CloudEvents

/// Writes a CloudEvents message as a ``NATSMessage``, as the NATS protocol binding (main,
/// `REFERENCE.md` §3.4) says.
///
/// **Binary mode** (NATS 2.2+ headers): every attribute, extensions **and**
/// `datacontenttype`, becomes one header named `ce-<name>`, always written lowercase, whose
/// value is the canonical string percent-encoded exactly as in HTTP
/// (``HeaderAttributeCodec/nats``); no `Content-Type` header is written, since in NATS it
/// only selects structured mode. The data is the payload (no data: an empty payload).
///
/// **Structured mode**: one `Content-Type` header, the format's media type, and the encoded
/// event as the payload. A server before 2.2 has no headers
/// (`serverSupportsHeaders: false`): the message then has none, which a receiver reads as
/// structured JSON, so only the JSON format can be written there, and no binary mode.
///
/// NATS has no batch mode: ``writeBatch(_:)`` throws ``MessageError/Reason/batchNotSupported``.
public struct NATSMessageWriter: MessageWriter, Sendable {
    /// The message written so far; its subject and reply subject are the caller's.
    public private(set) var natsMessage: NATSMessage
    /// Whether the server the message is for carries headers (NATS 2.2+, INFO `headers`).
    public let serverSupportsHeaders: Bool

    /// A writer for a message to `subject`.
    ///
    /// - Parameters:
    ///   - subject: the subject to publish to.
    ///   - replyTo: the reply subject, if any.
    ///   - serverSupportsHeaders: `false` for a server before 2.2, which carries structured
    ///     JSON only.
    public init(subject: String, replyTo: String? = nil, serverSupportsHeaders: Bool = true) {
        self.natsMessage = NATSMessage(subject: subject, replyTo: replyTo)
        self.serverSupportsHeaders = serverSupportsHeaders
    }

    /// Adds the header `ce-<name>` (lowercase) with the percent-encoded canonical string.
    ///
    /// - Parameters:
    ///   - name: the attribute name (`datacontenttype` included).
    ///   - value: its value.
    /// - Throws: ``MessageError``: `.invalidMessage` when the server has no headers or `name`
    ///   cannot be part of a NATS header name, `.duplicateAttribute` when the attribute is
    ///   already written.
    public mutating func writeAttribute(_ name: String, _ value: AttributeValue) throws(MessageError) {
        guard serverSupportsHeaders else { throw Self.noHeadersError }
        let headerName = try Self.headerName(forAttribute: name)
        if let headers = natsMessage.headers {
            // Every `ce-` header here is this writer's, lowercase: exact comparison finds a
            // duplicate. A short head is searched; a long one (a forwarded message with many
            // attributes) goes through a set, so that writing stays linear.
            let isDuplicate: Bool
            if headers.fields.count < Self.linearSearchLimit {
                isDuplicate = headers.fields.contains { $0.name == headerName }
            } else {
                if writtenNames.isEmpty { writtenNames = Set(headers.fields.map(\.name)) }
                isDuplicate = writtenNames.contains(headerName)
            }
            if isDuplicate { throw MessageError(.duplicateAttribute(name)) }
            if !writtenNames.isEmpty { writtenNames.insert(headerName) }
        } else {
            var headers = NATSHeaders()
            headers.fields.reserveCapacity(Self.expectedFieldCount)
            natsMessage.headers = headers
        }
        let text = HeaderAttributeCodec.nats.headerValue(forAttribute: name, value)
        // In place (optional chaining), not a copy of the fields per attribute.
        natsMessage.headers?.fields.append(NATSHeaders.Field(name: headerName, value: Array(text.utf8)))
    }

    /// Room for the eight core attributes and a few extensions, so that a binary event's
    /// headers are appended without regrowing.
    private static let expectedFieldCount = 12
    /// Up to this many headers, a duplicate is looked for by a linear search.
    private static let linearSearchLimit = 32
    /// The header names written, once there are ``linearSearchLimit`` of them.
    private var writtenNames: Set<String> = []

    /// Sets the payload to the data bytes.
    ///
    /// - Parameter bytes: the data.
    /// - Throws: ``MessageError`` `.invalidMessage` when the server has no headers (binary
    ///   mode needs them).
    public mutating func writeData(_ bytes: [UInt8]) throws(MessageError) {
        guard serverSupportsHeaders else { throw Self.noHeadersError }
        natsMessage.payload = bytes
    }

    /// Sets the headers to one `Content-Type` (the format's media type) and the payload to
    /// the encoded event; without header support, no headers and JSON only.
    ///
    /// - Parameter content: the media type and the encoded event.
    /// - Throws: ``MessageError`` `.invalidMessage` for a media type that cannot be a header
    ///   value (control characters), or a format other than JSON for a server without headers.
    public mutating func writeStructured(_ content: StructuredContent) throws(MessageError) {
        if serverSupportsHeaders {
            let value = Array(content.mediaType.utf8)
            guard Self.isSafeHeaderValue(value) else {
                throw MessageError(
                    .invalidMessage("media type '\(content.mediaType)' cannot be a NATS header value (control characters)"))
            }
            natsMessage.headers = NATSHeaders([NATSHeaders.Field(name: Self.contentTypeHeader, value: value)])
            writtenNames = []
        } else {
            guard JSONEventFormat().matches(mediaType: content.mediaType) else {
                throw MessageError(
                    .invalidMessage(
                        "a NATS server without headers (before 2.2) carries the JSON event format only, not '\(content.mediaType)' (there is no Content-Type to name another)"
                    ))
            }
            natsMessage.headers = nil
        }
        natsMessage.payload = content.body
    }

    /// Refuses a batch: NATS has no batch mode.
    ///
    /// - Throws: ``MessageError/Reason/batchNotSupported``.
    public mutating func writeBatch(_ content: StructuredContent) throws(MessageError) {
        throw MessageError(.batchNotSupported)
    }

    /// Adds the W3C trace context (`traceparent`, `tracestate`) from `metadata` as headers of
    /// those names, unless the message already has them or has no headers (a server before
    /// 2.2): a trace crosses a bridge the way HTTP headers and MQTT User Properties carry it.
    /// A value with control characters (which could break the header block) is left out.
    ///
    /// - Parameter metadata: a ``Message``'s metadata.
    public mutating func writeTraceContext(from metadata: [String: String]) {
        guard serverSupportsHeaders else { return }
        for name in ["traceparent", "tracestate"] {
            guard let value = metadata[name] else { continue }
            let bytes = Array(value.utf8)
            guard natsMessage.headers?[name] == nil, Self.isSafeHeaderValue(bytes) else { continue }
            if natsMessage.headers == nil { natsMessage.headers = NATSHeaders() }
            natsMessage.headers?.fields.append(NATSHeaders.Field(name: name, value: bytes))
        }
    }

    // MARK: Rules

    /// The header that selects structured mode, as written.
    static let contentTypeHeader = "Content-Type"

    private static let noHeadersError = MessageError(
        .invalidMessage(
            "a NATS server without headers (before 2.2) has no binary mode: use structured mode with the JSON format"))

    /// `ce-` + the attribute name, lowercase; refused when the name is empty or holds a byte
    /// a NATS header name cannot (`:`, space, control characters, non-ASCII).
    static func headerName(forAttribute name: String) throws(MessageError) -> String {
        // The core attributes' names as literals: no String built per attribute.
        switch name {
        case "specversion": return "ce-specversion"
        case "id": return "ce-id"
        case "source": return "ce-source"
        case "type": return "ce-type"
        case "datacontenttype": return "ce-datacontenttype"
        case "dataschema": return "ce-dataschema"
        case "subject": return "ce-subject"
        case "time": return "ce-time"
        default: break
        }
        var lowercase = true
        for byte in name.utf8 {
            guard byte > 0x20, byte < 0x7F, byte != UInt8(ascii: ":") else {
                throw MessageError(.invalidMessage("attribute '\(name)' cannot be written as a NATS header name"))
            }
            if byte >= 0x41 && byte <= 0x5A { lowercase = false }
        }
        guard !name.isEmpty else {
            throw MessageError(.invalidMessage("an attribute with an empty name cannot be written as a NATS header"))
        }
        let attribute =
            lowercase ? name : String(decoding: name.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
        return HeaderAttributeCodec.nats.headerName(forAttribute: attribute)
    }

    /// Whether `bytes` can be a header value as they are: no CR, LF or other control
    /// character but tab (which would end the line or the header block early).
    static func isSafeHeaderValue(_ bytes: [UInt8]) -> Bool {
        bytes.allSatisfy { $0 >= 0x20 && $0 != 0x7F || $0 == 0x09 }
    }
}
