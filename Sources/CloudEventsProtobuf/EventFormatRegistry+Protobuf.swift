public import CloudEvents

extension EventFormatRegistry {
    /// The JSON format (`JSONEventFormat`) and the Protobuf format
    /// (``ProtobufEventFormat`` with its default options): what a binding needs to read
    /// structured and batched messages in either format.
    ///
    /// ```swift
    /// let format = EventFormatRegistry.standardWithProtobuf.format(forMediaType: contentType)
    /// ```
    public static let standardWithProtobuf = EventFormatRegistry.standard.adding(ProtobufEventFormat())
}
