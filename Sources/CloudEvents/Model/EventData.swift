/// The data (payload) of an event.
///
/// Data is bytes; the case records how the bytes are meant, which decides how the JSON
/// format writes them:
///
/// | case | JSON format | binary-mode body |
/// |---|---|---|
/// | ``binary(_:)`` | `"data_base64": "<Base64>"` | the bytes |
/// | ``json(_:)`` | `"data": <the JSON value>` | the JSON text |
/// | ``text(_:)`` | `"data": "<the text as a JSON string>"` | the text as UTF-8 (a JSON string, quoted, when `datacontenttype` is JSON) |
///
/// Decoders pick the case from `datacontenttype` with ``init(bytes:contentType:)``.
public enum EventData: Sendable, Hashable {
    /// Opaque bytes.
    case binary([UInt8])
    /// A JSON value, kept as its (validated) text and never parsed into objects.
    case json(RawJSON)
    /// Text for a non-JSON content type such as `text/plain` or `application/xml`.
    case text(String)

    /// Chooses the case for bytes that arrived in a binary-mode body (spec edge case 27):
    /// a JSON content type and valid JSON give ``json(_:)``; a textual content type
    /// (`text/*`, XML) with UTF-8 (or no) charset and valid UTF-8 gives ``text(_:)``;
    /// anything else, including no content type, gives ``binary(_:)``. JSON that does not
    /// parse falls back to ``binary(_:)`` so that no byte is lost.
    public init(bytes: [UInt8], contentType: String?) {
        guard let contentType else {
            self = .binary(bytes)
            return
        }
        // JSON, the common case, is decided without parsing the media type.
        if MediaType.isJSON(contentType) {
            if let json = try? RawJSON(validating: bytes) { self = .json(json) } else { self = .binary(bytes) }
            return
        }
        guard let mediaType = MediaType(contentType) else {
            self = .binary(bytes)
            return
        }
        if mediaType.isText, mediaType.hasUTF8CompatibleCharset,
            let text = String(validating: bytes, as: UTF8.self)
        {
            self = .text(text)
        } else {
            self = .binary(bytes)
        }
    }

    /// The bytes a binary-mode message carries as its body for this data, given the
    /// event's `datacontenttype`.
    public func bodyBytes(contentType: String?) -> [UInt8] {
        switch self {
        case .binary(let bytes): return bytes
        case .json(let json): return json.bytes
        case .text(let text):
            // With a JSON content type (or none, which JSON implies) text is a JSON string.
            if contentType.map(MediaType.isJSON) ?? true {
                var bytes = [UInt8]()
                JSONWriter.appendString(text, to: &bytes)
                return bytes
            }
            return Array(text.utf8)
        }
    }

    /// The number of bytes of data.
    public var count: Int {
        switch self {
        case .binary(let bytes): bytes.count
        case .json(let json): json.bytes.count
        case .text(let text): text.utf8.count
        }
    }
}
