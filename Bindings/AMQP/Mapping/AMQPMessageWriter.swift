public import CloudEvents

/// Writes a CloudEvents message as an ``AMQPMessage``, as the AMQP protocol binding says.
///
/// **Binary mode.** `datacontenttype` becomes `properties.content-type`; every other attribute
/// one `application-properties` entry named with the ``AMQPPropertyPrefix`` (`cloudEvents_id`
/// by default, `cloudEvents:id` with ``AMQPPropertyPrefix/colon``) whose value is the AMQP
/// type REFERENCE 3.3 maps the attribute's type to (see ``AMQPValue/init(attribute:)``; a
/// `time` that a header binding read as a string is written as a timestamp too). The
/// data is one `data` section; no data is no body section (a broker may add an empty `data`
/// section, which the reader takes for no data when there is no content type).
///
/// **Structured mode.** `content-type` is the format's media type and the encoded event is
/// one `data` section. AMQP has no batched mode.
public struct AMQPMessageWriter: MessageWriter, Sendable {
    /// The message written so far; its header and other properties are the caller's.
    public private(set) var amqpMessage: AMQPMessage
    /// The prefix of the attribute keys.
    public let prefix: AMQPPropertyPrefix

    /// A writer that fills in `message`.
    ///
    /// - Parameters:
    ///   - message: the message to start from (durable, no body, by default).
    ///   - prefix: the attribute key prefix (`cloudEvents_` by default, as the spec recommends).
    public init(_ message: AMQPMessage = AMQPMessage(), prefix: AMQPPropertyPrefix = .underscore) {
        self.amqpMessage = message
        self.prefix = prefix
    }

    /// Adds the application property for `name`, or sets content-type for `datacontenttype`.
    ///
    /// - Parameters:
    ///   - name: the attribute name.
    ///   - value: its value, written as its AMQP type.
    public mutating func writeAttribute(_ name: String, _ value: AttributeValue) throws(MessageError) {
        if name == "datacontenttype" {
            amqpMessage.contentType = value.canonicalString
            return
        }
        if amqpMessage.applicationProperties.isEmpty { amqpMessage.applicationProperties.reserveCapacity(8) }
        let amqpValue: AMQPValue
        // `time` read by a header binding (HTTP, MQTT: a bridge forwarding it) is its canonical
        // string; the spec asks senders for the native type where they can, so it is written
        // as a timestamp like a typed one (an unparsable string is forwarded as it is).
        if case .string(let text) = value, name == "time", let timestamp = try? Timestamp(rfc3339: text) {
            amqpValue = AMQPValue(attribute: .timestamp(timestamp))
        } else {
            amqpValue = AMQPValue(attribute: value)  // no copy of `value` per attribute
        }
        amqpMessage.applicationProperties.append(AMQPApplicationProperty(prefix.key(for: name), amqpValue))
    }

    /// Sets the body to one `data` section holding `bytes` (empty bytes: an empty section).
    ///
    /// - Parameter bytes: the data.
    public mutating func writeData(_ bytes: [UInt8]) throws(MessageError) {
        amqpMessage.body = .data(bytes)
    }

    /// Sets content-type to the format's media type and the body to the encoded event.
    ///
    /// - Parameter content: the media type and encoded event.
    public mutating func writeStructured(_ content: StructuredContent) throws(MessageError) {
        amqpMessage.contentType = content.mediaType
        amqpMessage.body = .data(content.body)
    }

    /// Adds the W3C trace context (`traceparent`, `tracestate`) from `metadata` as plain
    /// application properties, unless the message already has them: a trace crosses a bridge
    /// the way HTTP headers and MQTT User Properties carry it.
    ///
    /// - Parameter metadata: a ``Message``'s metadata.
    public mutating func writeTraceContext(from metadata: [String: String]) {
        for name in ["traceparent", "tracestate"] {
            guard let value = metadata[name], amqpMessage[property: name] == nil else { continue }
            amqpMessage.applicationProperties.append(AMQPApplicationProperty(name, .string(value)))
        }
    }
}

extension AMQPMessage {
    /// The AMQP message for `message`: a binary message's attributes as typed application
    /// properties, a structured body untouched, and the trace context in its metadata.
    ///
    /// - Parameters:
    ///   - message: the protocol-independent message.
    ///   - prefix: the attribute key prefix (`cloudEvents_` by default).
    /// - Throws: ``MessageError`` `.batchNotSupported` for a batch (AMQP has no batched mode).
    public init(_ message: Message, prefix: AMQPPropertyPrefix = .underscore) throws(MessageError) {
        var writer = AMQPMessageWriter(prefix: prefix)
        switch message.content {
        case .batch: throw MessageError(.batchNotSupported)
        case .structured(let content): try writer.writeStructured(content)
        case .binary: try message.readBinary(into: &writer)
        }
        writer.writeTraceContext(from: message.metadata)
        self = writer.amqpMessage
    }

    /// The AMQP message for `event` in `mode`.
    ///
    /// - Parameters:
    ///   - event: the event.
    ///   - mode: binary (the default) or structured; AMQP has no batched mode.
    ///   - format: the structured-mode format (JSON by default).
    ///   - prefix: the attribute key prefix in binary mode (`cloudEvents_` by default).
    /// - Throws: ``MessageError`` when the event is invalid, or `.batchNotSupported`.
    public init(
        _ event: CloudEvent, mode: ContentMode = .binary, format: any EventFormat = JSONEventFormat(),
        prefix: AMQPPropertyPrefix = .underscore
    ) throws(MessageError) {
        guard mode != .batch else { throw MessageError(.batchNotSupported) }
        var writer = AMQPMessageWriter(prefix: prefix)
        try event.write(to: &writer, mode: mode, format: format)
        self = writer.amqpMessage
    }
}
