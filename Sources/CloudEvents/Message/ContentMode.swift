/// How a message carries its event.
public enum ContentMode: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Attributes in protocol metadata (headers, properties), data as the body.
    case binary
    /// The whole event, encoded with an event format, as the body.
    case structured
    /// Zero or more events, encoded with a format's batch representation, as the body.
    case batch

    /// `binary`, `structured` or `batch`.
    public var description: String { rawValue }
}

/// The body of a structured or batched message: encoded event(s) and their media type.
public struct StructuredContent: Sendable, Hashable {
    /// The format's media type as it travels, e.g. `application/cloudevents+json; charset=utf-8`.
    public var mediaType: String
    /// The encoded event or batch.
    public var body: [UInt8]

    /// Content of `mediaType` made of `body`.
    ///
    /// - Parameters:
    ///   - mediaType: the format's (batch) media type.
    ///   - body: the encoded event or batch.
    public init(mediaType: String, body: [UInt8]) {
        self.mediaType = mediaType
        self.body = body
    }
}

/// One attribute of a binary-mode message, as a binding read it.
public struct BinaryAttribute: Sendable, Hashable {
    /// The attribute name.
    public var name: String
    /// The value, typed as far as the binding can carry types.
    public var value: AttributeValue

    /// An attribute `name` with `value`.
    ///
    /// - Parameters:
    ///   - name: the attribute name.
    ///   - value: its value.
    public init(name: String, value: AttributeValue) {
        self.name = name
        self.value = value
    }
}
