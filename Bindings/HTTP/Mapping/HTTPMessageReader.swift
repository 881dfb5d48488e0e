public import CloudEvents
public import HTTPTypes

/// Reads a CloudEvents message from HTTP header fields and a body, as the HTTP protocol
/// binding says (works for requests and responses alike, from any server framework).
///
/// Mode detection is the core's rule, ``MediaType/contentMode(of:whenAbsent:batch:)``, on
/// `Content-Type`: `application/cloudevents-batch` (any case) is batched,
/// `application/cloudevents` structured, anything else binary, and so is a message without
/// `Content-Type`.
///
/// A structured or batched body whose format is not in the registry is refused with
/// ``MessageError/Reason/unsupportedFormat(_:)`` rather than forwarded as binary: a
/// receiver that cannot decode it should say so (HTTP 415) instead of inventing attributes.
///
/// Binary mode follows the core's ``HeaderAttributeCodec/http`` rule: every `ce-` header
/// (any case) is an attribute whose name is the rest of the header name, lowercased; its
/// value is decoded strictly with ``PercentEncoding`` and refused, naming the header, when
/// its bytes are not UTF-8. `Content-Type` is `datacontenttype`; a `ce-datacontenttype`
/// header is refused, as the spec forbids it. An empty body without `Content-Type` is "no
/// data" (spec edge case 21); a body without `Content-Type` is data without
/// `datacontenttype`. In structured and batched mode the body wins: `ce-` headers are
/// ignored. Headers other than `ce-*` and `Content-Type` become ``Message/metadata``.
public struct HTTPMessageReader: MessageReader, Sendable {
    /// The header fields as they arrived.
    public let headerFields: HTTPFields
    /// The body bytes.
    public let body: [UInt8]
    /// The mode found by the binding's detection rule.
    public let contentMode: ContentMode
    private let contentType: String?

    /// Reads `headerFields` and `body`.
    ///
    /// - Parameters:
    ///   - headerFields: the request's or response's header fields.
    ///   - body: the complete body.
    ///   - formats: the formats a structured or batched body may use.
    /// - Throws: ``MessageError``: `.unsupportedFormat` for a structured or batched media
    ///   type that `formats` has no format for, `.duplicateAttribute` for two
    ///   `Content-Type` headers.
    public init(headerFields: HTTPFields, body: [UInt8], formats: EventFormatRegistry = .standard) throws(MessageError) {
        self.headerFields = headerFields
        self.body = body
        var contentType: String?
        for field in headerFields where field.name == .contentType {
            guard contentType == nil else { throw MessageError(.duplicateAttribute("datacontenttype")) }
            contentType = field.value
        }
        self.contentType = contentType
        let mode = Self.detectMode(contentType: contentType)
        if mode != .binary, let contentType {
            let format =
                mode == .batch
                ? formats.format(forBatchMediaType: contentType) : formats.format(forMediaType: contentType)
            guard format != nil else { throw MessageError(.unsupportedFormat(contentType)) }
        }
        self.contentMode = mode
    }

    /// Reads a request.
    ///
    /// - Parameters:
    ///   - request: the request head.
    ///   - body: the complete body.
    ///   - formats: the formats a structured or batched body may use.
    /// - Throws: see ``init(headerFields:body:formats:)``.
    public init(request: HTTPRequest, body: [UInt8], formats: EventFormatRegistry = .standard) throws(MessageError) {
        try self.init(headerFields: request.headerFields, body: body, formats: formats)
    }

    /// Reads a response.
    ///
    /// - Parameters:
    ///   - response: the response head.
    ///   - body: the complete body.
    ///   - formats: the formats a structured or batched body may use.
    /// - Throws: see ``init(headerFields:body:formats:)``.
    public init(response: HTTPResponse, body: [UInt8], formats: EventFormatRegistry = .standard) throws(MessageError) {
        try self.init(headerFields: response.headerFields, body: body, formats: formats)
    }

    /// The content mode a `Content-Type` value selects (spec edge case 29): the core's
    /// ``MediaType/contentMode(of:whenAbsent:batch:)``, binary when there is none.
    ///
    /// - Parameter contentType: the `Content-Type` value, or `nil` when absent.
    public static func detectMode(contentType: String?) -> ContentMode {
        MediaType.contentMode(of: contentType, whenAbsent: .binary, batch: true)
    }

    /// The body and its media type for structured and batched messages; `nil` in binary mode.
    public var structuredContent: StructuredContent? {
        guard contentMode != .binary, let contentType else { return nil }
        return StructuredContent(mediaType: contentType, body: body)
    }

    /// Visits the `ce-` headers as attributes, `Content-Type` as `datacontenttype`, then the body.
    ///
    /// - Throws: ``MessageError``: `.duplicateAttribute` for a header that appears twice
    ///   (in any case), `.invalidMessage` naming the header for a value that does not
    ///   percent-decode or is not UTF-8, or for a `ce-datacontenttype` header, or what the
    ///   writer throws.
    public func readBinary<Writer: BinaryMessageWriter>(into writer: inout Writer) throws(MessageError) {
        guard contentMode == .binary else {
            throw MessageError(.invalidMessage("a \(contentMode) HTTP message has no binary attributes"))
        }
        var headers = HeaderAttributeCodec.Reader(codec: .http)
        for field in headerFields {
            guard let attribute = try headers.read(name: field.name.rawName, value: field.value) else { continue }
            try writer.writeAttribute(attribute.name, attribute.value)
        }
        if let contentType = headers.contentType {
            try writer.writeAttribute("datacontenttype", .string(contentType))
        }
        if contentType != nil || !body.isEmpty {
            try writer.writeData(body)
        }
    }

    /// Headers that are not CloudEvents metadata, names lowercased; repeated headers are
    /// joined with `, ` as HTTP allows.
    public var metadata: [String: String] {
        var metadata: [String: String] = [:]
        for field in headerFields {
            if field.name == .contentType { continue }
            if contentMode == .binary, HeaderAttributeCodec.http.role(of: BinaryModeHeader(field.name)) != .other { continue }
            if contentMode != .binary, field.name.canonicalName.hasPrefix("ce-") { continue }
            let name = field.name.canonicalName
            if let existing = metadata[name] {
                metadata[name] = existing + ", " + field.value
            } else {
                metadata[name] = field.value
            }
        }
        return metadata
    }

    /// The protocol-independent message: binary attributes decoded (not validated as an
    /// event), or the structured/batched body untouched, with ``metadata``.
    ///
    /// - Throws: ``MessageError`` as ``readBinary(into:)`` does.
    public func message() throws(MessageError) -> Message {
        var message = Message()
        switch contentMode {
        case .binary: try readBinary(into: &message)
        case .structured, .batch:
            // The initialiser found a Content-Type for these modes; the guard is for the compiler.
            guard let contentType else {
                throw MessageError(.inconsistentReader("HTTPMessageReader in \(contentMode) mode without a Content-Type"))
            }
            let content = StructuredContent(mediaType: contentType, body: body)
            message.content = contentMode == .batch ? .batch(content) : .structured(content)
        }
        message.metadata = metadata
        return message
    }
}
