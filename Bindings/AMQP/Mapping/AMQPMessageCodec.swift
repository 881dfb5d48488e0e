import CQpidProton
public import CloudEvents

/// Encodes an ``AMQPMessage`` to AMQP 1.0 wire bytes and decodes them, through proton's
/// `pn_message_t`.
///
/// Thread safety: proton objects are single-threaded, so each call creates its own
/// `pn_message_t` and frees it before returning. Any thread may call, concurrently.
public enum AMQPMessageCodec {
    /// The AMQP encoding of `message` (header, properties, application-properties, body).
    ///
    /// - Throws: ``TransportError`` `.invalidMessage` when proton refuses the message.
    public static func encode(_ message: AMQPMessage) throws(TransportError) -> [UInt8] {
        throw TransportError(.invalidMessage, "AMQPMessageCodec.encode is not implemented yet")
    }

    /// The message in `bytes` (a delivery's payload).
    ///
    /// - Throws: ``TransportError`` when the bytes are not an AMQP message.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(TransportError) -> AMQPMessage {
        throw TransportError(.invalidMessage, "AMQPMessageCodec.decode is not implemented yet")
    }
}
