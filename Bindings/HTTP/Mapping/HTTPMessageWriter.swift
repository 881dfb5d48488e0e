public import CloudEvents
public import HTTPTypes

/// Writes a CloudEvents message as HTTP header fields and a body, for a request or a
/// response.
///
/// Binary mode, by the core's ``HeaderAttributeCodec/http`` rule: `datacontenttype` becomes
/// `Content-Type`; every other attribute becomes a lowercase `ce-<name>` header whose value
/// is the canonical string percent-encoded with ``PercentEncoding/encodeHeaderValue(_:)``;
/// the data is the body, unchanged. Structured
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
        let codec = HeaderAttributeCodec.http
        let fieldName: HTTPField.Name
        if codec.travelsAsContentType(name) {
            fieldName = .contentType
        } else if let known = HTTPField.Name.ceCoreAttribute(name) {
            fieldName = known
        } else {
            guard let headerName = HTTPField.Name(codec.headerName(forAttribute: name)) else {
                throw MessageError(.invalidMessage("attribute '\(name)' cannot be written as an HTTP header name"))
            }
            fieldName = headerName
        }
        guard !headerFields.contains(fieldName) else { throw MessageError(.duplicateAttribute(name)) }
        if headerFields.isEmpty { headerFields.reserveCapacity(Self.expectedFieldCount) }
        headerFields.append(HTTPField(name: fieldName, value: codec.headerValue(forAttribute: name, value)))
    }

    /// Room for the core attributes, a few extensions and `Content-Type`, so that a binary
    /// event's fields are appended without regrowing.
    private static let expectedFieldCount = 12

    /// Sets the body to the data bytes.
    ///
    /// - Parameter bytes: the data.
    public mutating func writeData(_ bytes: [UInt8]) throws(MessageError) {
        body = bytes
    }

    /// Sets `Content-Type` to the format's media type and the body to the encoded event.
    ///
    /// - Parameter content: the media type and the encoded event.
    public mutating func writeStructured(_ content: StructuredContent) throws(MessageError) {
        headerFields[.contentType] = content.mediaType
        body = content.body
    }

    /// Sets `Content-Type` to the format's batch media type and the body to the encoded batch.
    ///
    /// - Parameter content: the batch media type and the encoded batch.
    public mutating func writeBatch(_ content: StructuredContent) throws(MessageError) {
        headerFields[.contentType] = content.mediaType
        body = content.body
    }
}
