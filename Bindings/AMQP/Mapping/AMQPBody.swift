/// The application-data section of an AMQP message, as the binding distinguishes it.
///
/// The CloudEvents AMQP binding covers only ``none`` and ``data(_:)``: the spec does not
/// say how to carry an event in an `amqp-value` or `amqp-sequence` body or split across
/// several `data` sections, so the mapping refuses those with a message naming the section.
public enum AMQPBody: Sendable, Hashable {
    /// No application-data section: the event has no data.
    case none
    /// Exactly one `data` section: the bytes (empty bytes: an empty section, i.e. empty data).
    case data([UInt8])
    /// Several `data` sections, in order. ``AMQPMessageCodec/decode(_:)`` finds them with its
    /// own section walk (proton 0.37's decoder keeps only the last one); the mapping refuses
    /// such a body, and the codec cannot encode one (`pn_message_t` holds one body).
    case multipleData([[UInt8]])
    /// An `amqp-value` section.
    case value(AMQPValue)
    /// One or more `amqp-sequence` sections, their items flattened.
    case sequence([AMQPValue])
}
