public import CloudEvents
public import HTTPTypes

/// Reads a CloudEvents message from HTTP header fields and a body, as the HTTP protocol
/// binding says (works for requests and responses alike, from any server framework).
///
/// Mode detection looks at `Content-Type`, case-insensitively: a media type starting with
/// `application/cloudevents-batch` is batched (tested first), one starting with
/// `application/cloudevents` is structured, anything else (or none) is binary.
///
/// A structured or batched body whose format is not in the registry is refused with
/// ``MessageError/Reason/unsupportedFormat(_:)`` rather than forwarded as binary: a
/// receiver that cannot decode it should say so (HTTP 415) instead of inventing attributes.
///
/// In binary mode every `ce-` header (any case) is an attribute whose name is the rest of
/// the header name, lowercased; its value is decoded strictly with ``PercentEncoding``.
/// `Content-Type` is `datacontenttype`; a `ce-datacontenttype` header is refused, as the
/// spec forbids it. An empty body without `Content-Type` is "no data" (spec edge case 21);
/// a body without `Content-Type` is data without `datacontenttype`. In structured and
/// batched mode the body wins: `ce-` headers are ignored. Headers other than `ce-*` and
/// `Content-Type` become ``Message/metadata``.
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
        switch mode {
        case .structured:
            guard formats.format(forMediaType: contentType!) != nil else {
                throw MessageError(.unsupportedFormat(contentType!))
            }
        case .batch:
            guard formats.format(forBatchMediaType: contentType!) != nil else {
                throw MessageError(.unsupportedFormat(contentType!))
            }
        case .binary:
            break
        }
        self.contentMode = mode
    }

    /// Reads a request.
    ///
    /// - Throws: see ``init(headerFields:body:formats:)``.
    public init(request: HTTPRequest, body: [UInt8], formats: EventFormatRegistry = .standard) throws(MessageError) {
        try self.init(headerFields: request.headerFields, body: body, formats: formats)
    }

    /// Reads a response.
    ///
    /// - Throws: see ``init(headerFields:body:formats:)``.
    public init(response: HTTPResponse, body: [UInt8], formats: EventFormatRegistry = .standard) throws(MessageError) {
        try self.init(headerFields: response.headerFields, body: body, formats: formats)
    }

    /// The content mode a `Content-Type` value selects (spec edge case 29).
    public static func detectMode(contentType: String?) -> ContentMode {
        guard let contentType else { return .binary }
        if let mode = detectModeASCII(contentType) { return mode }
        let lowered = String(
            decoding: contentType.utf8.drop(while: { $0 == 0x20 || $0 == 0x09 }).map(asciiLowercase), as: UTF8.self)
        if lowered.hasPrefix("application/cloudevents-batch") { return .batch }
        if lowered.hasPrefix("application/cloudevents") { return .structured }
        return .binary
    }

    /// ``detectMode(contentType:)`` without allocating, for an all-ASCII value (where a
    /// byte-wise prefix test is exactly `String.hasPrefix`); `nil` for anything else.
    private static func detectModeASCII(_ contentType: String) -> ContentMode? {
        if let mode = contentType.utf8.withContiguousStorageIfAvailable(detectModeASCII(utf8:)) { return mode }
        var copy = contentType  // not stored contiguously (bridged): make it native
        return copy.withUTF8(detectModeASCII(utf8:))
    }

    private static func detectModeASCII(utf8: UnsafeBufferPointer<UInt8>) -> ContentMode? {
        for byte in utf8 where byte >= 0x80 { return nil }
        var start = 0
        while start < utf8.count, utf8[start] == 0x20 || utf8[start] == 0x09 { start += 1 }
        @inline(__always)
        func hasPrefix(_ prefix: StaticString) -> Bool {
            let count = prefix.utf8CodeUnitCount
            guard utf8.count - start >= count else { return false }
            for offset in 0..<count where asciiLowercase(utf8[start + offset]) != prefix.utf8Start[offset] {
                return false
            }
            return true
        }
        if hasPrefix("application/cloudevents-batch") { return .batch }
        if hasPrefix("application/cloudevents") { return .structured }
        return .binary
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
    ///   percent-decode or for a `ce-datacontenttype` header, or what the writer throws.
    public func readBinary<Writer: BinaryMessageWriter>(into writer: inout Writer) throws(MessageError) {
        guard contentMode == .binary else {
            throw MessageError(.invalidMessage("a \(contentMode) HTTP message has no binary attributes"))
        }
        // Duplicates: a short head is checked against the fields before each one (same
        // canonical name, same attribute), which needs no allocation; a long one with a set.
        let scanEarlierFields = headerFields.count <= 32
        var seen = Set<String>()
        for (offset, field) in headerFields.enumerated() {
            guard let name = Self.attributeName(of: field.name) else { continue }
            guard name != "datacontenttype" else {
                throw MessageError(
                    .invalidMessage(
                        "header '\(field.name.rawName)' must not be present in binary mode: 'datacontenttype' travels as Content-Type"
                    ))
            }
            let isDuplicate =
                scanEarlierFields
                ? headerFields.prefix(offset).contains { $0.name == field.name }
                : !seen.insert(name).inserted
            guard !isDuplicate else { throw MessageError(.duplicateAttribute(name)) }
            let value: String
            do {
                value = try PercentEncoding.decodeHeaderValue(field.value)
            } catch {
                throw MessageError(.invalidMessage("header '\(field.name.rawName)' (attribute '\(name)'): \(error)"))
            }
            try writer.writeAttribute(name, .string(value))
        }
        if let contentType {
            try writer.writeAttribute("datacontenttype", .string(contentType))
        }
        if contentType != nil || !body.isEmpty {
            try writer.writeData(body)
        }
    }

    /// The attribute name a header carries, or `nil` when it is not a `ce-` header.
    static func attributeName(of name: HTTPField.Name) -> String? {
        let canonical = name.canonicalName  // lowercased by swift-http-types
        guard canonical.utf8.count > 3, canonical.hasPrefix("ce-") else { return nil }
        return String(canonical.dropFirst(3))
    }

    /// Headers that are not CloudEvents metadata, names lowercased; repeated headers are
    /// joined with `, ` as HTTP allows.
    public var metadata: [String: String] {
        var metadata: [String: String] = [:]
        for field in headerFields {
            if field.name == .contentType { continue }
            if contentMode == .binary, Self.attributeName(of: field.name) != nil { continue }
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
        case .structured: message.content = .structured(structuredContent!)
        case .batch: message.content = .batch(structuredContent!)
        }
        message.metadata = metadata
        return message
    }
}

@inline(__always)
func asciiLowercase(_ byte: UInt8) -> UInt8 {
    byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
}
