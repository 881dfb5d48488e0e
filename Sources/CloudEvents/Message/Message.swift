/// A CloudEvents message independent of any protocol: what the in-process binding carries
/// and what receivers hand out in a ``Delivery``.
///
/// Binary messages hold attributes as the binding read them, without building a
/// ``CloudEvent``; structured and batched messages hold the encoded bytes untouched.
public struct Message: Sendable, Hashable, MessageReader, MessageWriter {
    /// What the message carries, by content mode.
    public enum Content: Sendable, Hashable {
        /// Attributes as read, and the data when there is any.
        case binary(attributes: [BinaryAttribute], data: [UInt8]?)
        /// One encoded event.
        case structured(StructuredContent)
        /// An encoded batch.
        case batch(StructuredContent)
    }

    /// The attributes and data, or the encoded body.
    public var content: Content
    /// Protocol metadata that is not CloudEvents metadata: the MQTT topic, other HTTP
    /// headers, ... (spec: such metadata must be marked as not being CloudEvents metadata).
    public var metadata: [String: String]

    /// An empty binary message, to be filled through the writer methods.
    public init() {
        content = .binary(attributes: [], data: nil)
        metadata = [:]
    }

    /// A message with `content` and protocol `metadata`.
    ///
    /// - Parameters:
    ///   - content: what it carries.
    ///   - metadata: protocol metadata that is not CloudEvents metadata.
    public init(content: Content, metadata: [String: String] = [:]) {
        self.content = content
        self.metadata = metadata
    }

    /// The message for `event` in `mode` (structured and batch encode with `format`).
    ///
    /// - Throws: ``MessageError`` when the event is invalid.
    public init(_ event: CloudEvent, mode: ContentMode = .binary, format: any EventFormat = JSONEventFormat())
        throws(MessageError)
    {
        self.init()
        try event.write(to: &self, mode: mode, format: format)
    }

    /// A batched message holding `events`.
    public init(batch events: [CloudEvent], format: any EventFormat = JSONEventFormat()) throws(MessageError) {
        guard let batchMediaType = format.batchMediaType else { throw MessageError(.batchNotSupported) }
        let body: [UInt8]
        do { body = try format.encodeBatch(events) } catch { throw MessageError(.format(error)) }
        self.init(content: .batch(StructuredContent(mediaType: batchMediaType, body: body)))
    }

    // MARK: MessageReader

    /// The mode of ``content``.
    public var contentMode: ContentMode {
        switch content {
        case .binary: .binary
        case .structured: .structured
        case .batch: .batch
        }
    }

    /// The body of a structured or batched message; `nil` in binary mode.
    public var structuredContent: StructuredContent? {
        switch content {
        case .binary: nil
        case .structured(let content), .batch(let content): content
        }
    }

    /// Visits the attributes, then the data.
    ///
    /// - Throws: ``MessageError`` `.invalidMessage` for a structured or batched message, or
    ///   what the writer throws.
    public func readBinary<Writer: BinaryMessageWriter>(into writer: inout Writer) throws(MessageError) {
        guard case .binary(let attributes, let data) = content else {
            throw MessageError(.invalidMessage("a \(contentMode) message has no binary attributes"))
        }
        for attribute in attributes { try writer.writeAttribute(attribute.name, attribute.value) }
        if let data { try writer.writeData(data) }
    }

    // MARK: MessageWriter

    /// Appends an attribute (a structured or batched message becomes binary).
    ///
    /// - Parameters:
    ///   - name: the attribute name.
    ///   - value: its value.
    public mutating func writeAttribute(_ name: String, _ value: AttributeValue) throws(MessageError) {
        guard case .binary(var attributes, let data) = content else {
            content = .binary(attributes: [BinaryAttribute(name: name, value: value)], data: nil)
            return
        }
        // Emptied first, so that `attributes` is the array's only owner and grows in place
        // rather than being copied on every write (quadratic for a message with many).
        content = .binary(attributes: [], data: nil)
        attributes.append(BinaryAttribute(name: name, value: value))
        content = .binary(attributes: attributes, data: data)
    }

    /// Sets the data (a structured or batched message becomes binary).
    ///
    /// - Parameter bytes: the data.
    public mutating func writeData(_ bytes: [UInt8]) throws(MessageError) {
        guard case .binary(let attributes, _) = content else {
            content = .binary(attributes: [], data: bytes)
            return
        }
        content = .binary(attributes: attributes, data: bytes)
    }

    /// Makes this a structured message with `content`.
    ///
    /// - Parameter content: the media type and encoded event.
    public mutating func writeStructured(_ content: StructuredContent) throws(MessageError) {
        self.content = .structured(content)
    }

    /// Makes this a batched message with `content`.
    ///
    /// - Parameter content: the batch media type and encoded batch.
    public mutating func writeBatch(_ content: StructuredContent) throws(MessageError) {
        self.content = .batch(content)
    }
}
