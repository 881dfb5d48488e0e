public import CloudEvents
public import HTTPTypes

/// Writes a CloudEvents message as HTTP header fields and a body, for a request or a
/// response.
///
/// Binary mode: `datacontenttype` becomes `Content-Type`; every other attribute becomes a
/// lowercase `ce-<name>` header whose value is the canonical string percent-encoded with
/// ``PercentEncoding/encodeHeaderValue(_:)``; the data is the body, unchanged. Structured
/// and batched mode: `Content-Type` is the format's (batch) media type and the body is the
/// encoded event(s).
public struct HTTPMessageWriter: MessageWriter, Sendable {
    /// The header fields written so far (plus any given at creation).
    public private(set) var headerFields: HTTPFields
    /// The body written so far.
    public private(set) var body: [UInt8]

    /// A writer that adds to `headerFields` (e.g. headers of the application's own).
    public init(headerFields: HTTPFields = [:]) {
        self.headerFields = headerFields
        self.body = []
    }

    /// Adds the `ce-` header for `name` (or `Content-Type` for `datacontenttype`).
    ///
    /// - Throws: ``MessageError`` with `.duplicateAttribute` when the header is already
    ///   set, `.invalidMessage` when `name` cannot be an HTTP header name.
    public mutating func writeAttribute(_ name: String, _ value: AttributeValue) throws(MessageError) {
        let isContentType = name == "datacontenttype"
        let fieldName: HTTPField.Name
        if isContentType {
            fieldName = .contentType
        } else if let known = Self.coreHeaderName(for: name) {
            fieldName = known
        } else {
            guard let headerName = HTTPField.Name("ce-" + name) else {
                throw MessageError(.invalidMessage("attribute '\(name)' cannot be written as an HTTP header name"))
            }
            fieldName = headerName
        }
        guard headerFields[fieldName] == nil else { throw MessageError(.duplicateAttribute(name)) }
        if headerFields.isEmpty { headerFields.reserveCapacity(Self.expectedFieldCount) }
        let text = isContentType ? value.canonicalString : Self.encodeHeaderValue(value.canonicalString)
        headerFields.append(HTTPField(name: fieldName, value: text))
    }

    /// ``PercentEncoding/encodeHeaderValue(_:)``, with a fast path for the usual value that
    /// has nothing to encode (scanned as contiguous bytes; it is returned as it is, as that
    /// function would return it).
    private static func encodeHeaderValue(_ value: String) -> String {
        let plain = value.utf8.withContiguousStorageIfAvailable { bytes in
            !bytes.contains { $0 <= 0x20 || $0 >= 0x7F || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "%") }
        }
        return plain == true ? value : PercentEncoding.encodeHeaderValue(value)
    }

    /// Room for the core attributes, a few extensions and `Content-Type`, so that a binary
    /// event's fields are appended without regrowing.
    private static let expectedFieldCount = 12

    /// The header names of the core attributes other than `datacontenttype`, built once:
    /// the same names `HTTPField.Name("ce-" + name)` makes, without concatenating and
    /// validating them for every event.
    private static func coreHeaderName(for name: String) -> HTTPField.Name? {
        switch name {
        case "id": ceID
        case "source": ceSource
        case "type": ceType
        case "specversion": ceSpecVersion
        case "time": ceTime
        case "subject": ceSubject
        case "dataschema": ceDataSchema
        default: nil
        }
    }

    private static let ceID = HTTPField.Name("ce-id")!
    private static let ceSource = HTTPField.Name("ce-source")!
    private static let ceType = HTTPField.Name("ce-type")!
    private static let ceSpecVersion = HTTPField.Name("ce-specversion")!
    private static let ceTime = HTTPField.Name("ce-time")!
    private static let ceSubject = HTTPField.Name("ce-subject")!
    private static let ceDataSchema = HTTPField.Name("ce-dataschema")!

    /// Sets the body to the data bytes.
    public mutating func writeData(_ bytes: [UInt8]) throws(MessageError) {
        body = bytes
    }

    /// Sets `Content-Type` to the format's media type and the body to the encoded event.
    public mutating func writeStructured(_ content: StructuredContent) throws(MessageError) {
        headerFields[.contentType] = content.mediaType
        body = content.body
    }

    /// Sets `Content-Type` to the format's batch media type and the body to the encoded batch.
    public mutating func writeBatch(_ content: StructuredContent) throws(MessageError) {
        headerFields[.contentType] = content.mediaType
        body = content.body
    }
}
