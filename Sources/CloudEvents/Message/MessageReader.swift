/// Something that carries a CloudEvent in a binding's native shape and can be read as
/// binary (attributes + data) or structured (format media type + bytes).
///
/// Each binding makes its native message (an HTTP request, an MQTT PUBLISH, an AMQP
/// message) a reader; ``Message`` and ``CloudEvent`` are readers too. Reading through the
/// visitor ``readBinary(into:)`` lets a binding copy attributes straight into another
/// binding's writer without building a ``CloudEvent``.
public protocol MessageReader {
    /// The content mode, found by the binding's mode-detection rule.
    var contentMode: ContentMode { get }

    /// The body of a structured or batched message; `nil` in binary mode.
    var structuredContent: StructuredContent? { get }

    /// Visits every attribute, then the data (if any), of a binary-mode message.
    ///
    /// - Throws: ``MessageError`` when the native message cannot be read as attributes
    ///   (e.g. an invalid header encoding), or whatever the writer throws.
    func readBinary<Writer: BinaryMessageWriter>(into writer: inout Writer) throws(MessageError)
}

/// Receives the attributes and data of a binary-mode message.
public protocol BinaryMessageWriter {
    /// Called once per attribute. `datacontenttype` is an attribute like the others here;
    /// a binding's writer maps it to its native content-type field where the spec says so.
    mutating func writeAttribute(_ name: String, _ value: AttributeValue) throws(MessageError)

    /// Called once, after the attributes, when the message has data.
    mutating func writeData(_ bytes: [UInt8]) throws(MessageError)
}

/// Receives a whole message: binary parts, a structured body, or a batch.
public protocol MessageWriter: BinaryMessageWriter {
    /// Sets the body of a structured-mode message.
    mutating func writeStructured(_ content: StructuredContent) throws(MessageError)

    /// Sets the body of a batched message. Bindings without batch mode keep the default,
    /// which throws ``MessageError/Reason/batchNotSupported``.
    mutating func writeBatch(_ content: StructuredContent) throws(MessageError)
}

extension MessageWriter {
    /// Refuses a batch: the default for bindings without batch mode.
    ///
    /// - Throws: ``MessageError/Reason/batchNotSupported``.
    public mutating func writeBatch(_ content: StructuredContent) throws(MessageError) {
        throw MessageError(.batchNotSupported)
    }
}
