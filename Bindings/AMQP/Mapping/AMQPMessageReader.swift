public import CloudEvents

/// Reads a CloudEvents message from an ``AMQPMessage``, as the AMQP protocol binding says.
///
/// **Mode detection.** `properties.content-type` starting with `application/cloudevents`
/// (case-insensitively) is structured; anything else, including no content-type, is binary.
/// `application/cloudevents-batch...` is refused: AMQP has no batched mode.
///
/// **Binary mode.** Each `application-properties` key starting with `cloudEvents_` or
/// `cloudEvents:` is an attribute named by the rest of the key. Both prefixes are read; one
/// message mixing them is refused, naming a key of each. A value may be the attribute's AMQP
/// type or its canonical string (see ``AMQPValue`` and REFERENCE 3.3): any AMQP integer type
/// is read as an Integer when it is in the 32-bit range, a symbol as a String; an integer
/// `time` is refused (a long is not a timestamp: send an AMQP timestamp or an RFC 3339
/// string). `properties.content-type` is `datacontenttype`; a `cloudEvents_datacontenttype`
/// property (unexpected, REFERENCE 5 case 5) is accepted when it agrees, used when
/// content-type is absent, and refused when it contradicts. Data: no body section is no data;
/// one `data` section is the data, an empty one only when there is a content type (without
/// one it is no data: AMQP 1.0 requires a body, and brokers such as RabbitMQ add an empty
/// `data` section to a message sent without one, as REFERENCE 5 case 21 lets a binding
/// decide); `amqp-value`, `amqp-sequence` and several `data` sections are refused (the spec
/// does not cover them).
///
/// **Metadata.** The address the message came from under ``MetadataKey/address``; the other
/// application properties (`traceparent`, an application's own keys) under their own names,
/// their values as canonical strings.
public struct AMQPMessageReader: MessageReader, Sendable {
    /// The message as it arrived.
    public let amqpMessage: AMQPMessage
    /// The address (queue, topic) it was received from, if known.
    public let address: String?
    /// The mode found by the binding's detection rule.
    public let contentMode: ContentMode

    /// The ``Message/metadata`` keys for the message's own fields. They start with `:` so
    /// that no application property name can be mistaken for them.
    public enum MetadataKey {
        /// The address (queue, topic) the message was received from.
        public static let address = ":address"
    }

    /// Reads `message`, received from `address`.
    ///
    /// - Parameters:
    ///   - message: the message as received.
    ///   - address: the source address, put in the metadata (the bridge's default ordering key).
    public init(_ message: AMQPMessage, address: String? = nil) {
        self.amqpMessage = message
        self.address = address
        self.contentMode = Self.detectMode(contentType: message.contentType)
    }

    /// The mode `contentType` selects: structured for `application/cloudevents...` (a batch
    /// media type included: ``checkBody()`` refuses it), binary otherwise.
    ///
    /// - Parameter contentType: `properties.content-type`, or `nil` when absent.
    public static func detectMode(contentType: String?) -> ContentMode {
        MediaType.contentMode(of: contentType, whenAbsent: .binary, batch: false)
    }

    /// The `data` section and content-type in structured mode; `nil` in binary mode.
    public var structuredContent: StructuredContent? {
        guard contentMode == .structured, let contentType = amqpMessage.contentType else { return nil }
        if case .data(let bytes) = amqpMessage.body { return StructuredContent(mediaType: contentType, body: bytes) }
        return StructuredContent(mediaType: contentType, body: [])
    }

    /// Refuses what the binding does not cover: a batch media type, and any body other than
    /// none or one `data` section (structured mode: exactly one `data` section).
    ///
    /// - Throws: ``MessageError`` `.invalidMessage` naming the content-type or body section.
    public func checkBody() throws(MessageError) {
        if contentMode == .structured, let contentType = amqpMessage.contentType,
            MediaType.contentMode(of: contentType, batch: true) == .batch
        {
            throw MessageError(
                .invalidMessage("content-type '\(contentType)' is a CloudEvents batch; AMQP has no batched mode"))
        }
        switch amqpMessage.body {
        case .data: return
        case .none:
            guard contentMode == .binary else {
                throw MessageError(
                    .invalidMessage("a structured AMQP message carries its event in a data section; this one has no body"))
            }
        case .multipleData(let sections):
            throw MessageError(
                .invalidMessage(
                    "the body has \(sections.count) data sections; the CloudEvents AMQP binding covers one"))
        case .value(let value):
            throw MessageError(
                .invalidMessage(
                    "the body is an amqp-value section (\(value.typeName)); the CloudEvents AMQP binding covers one data section")
            )
        case .sequence:
            throw MessageError(
                .invalidMessage(
                    "the body is an amqp-sequence section; the CloudEvents AMQP binding covers one data section"))
        }
    }

    /// Visits the prefixed application properties as attributes, content-type as
    /// `datacontenttype`, then the `data` section.
    ///
    /// - Throws: ``MessageError`` for a body the binding does not cover, mixed prefixes, a
    ///   value no attribute can have, a contradicting `datacontenttype` property, or what the
    ///   writer throws (a builder reports a repeated attribute as `.duplicateAttribute`).
    public func readBinary<Writer: BinaryMessageWriter>(into writer: inout Writer) throws(MessageError) {
        guard contentMode == .binary else {
            throw MessageError(.invalidMessage("a \(contentMode) AMQP message has no binary attributes"))
        }
        try checkBody()
        var contentType = amqpMessage.contentType
        var firstKey: (prefix: AMQPPropertyPrefix, key: String)?
        for property in amqpMessage.applicationProperties {
            guard let prefix = AMQPPropertyPrefix.match(property.name) else { continue }
            if let firstKey, firstKey.prefix != prefix {
                throw MessageError(
                    .invalidMessage(
                        "application properties '\(firstKey.key)' and '\(property.name)' mix the prefixes '\(firstKey.prefix)' and '\(prefix)'; one message must use one"
                    ))
            }
            if firstKey == nil { firstKey = (prefix, property.name) }
            let name = AMQPPropertyPrefix.attributeName(property.name)
            let value = try property.value.attributeValue(name: name, key: property.name)
            if name == "datacontenttype" {
                let text = value.canonicalString
                if let contentType, contentType != text {
                    throw MessageError(
                        .invalidMessage(
                            "application property '\(property.name)' ('\(text)') contradicts properties.content-type ('\(contentType)')"
                        ))
                }
                contentType = text
                continue
            }
            try writer.writeAttribute(name, value)
        }
        if let contentType {
            try writer.writeAttribute("datacontenttype", .string(contentType))
        }
        // An empty data section without a content type is no data: AMQP 1.0 requires a body,
        // so brokers add one to a message sent without (RabbitMQ 3.10 appends an empty data
        // section), and an event without data must not come back with empty data. With a
        // content type, an empty section is empty data.
        if case .data(let bytes) = amqpMessage.body, !bytes.isEmpty || contentType != nil {
            try writer.writeData(bytes)
        }
    }

    /// The address and the application properties that are not attributes (in structured
    /// mode the prefixed ones are left out too: the body holds the event).
    public var metadata: [String: String] {
        var metadata: [String: String] = [:]
        if let address { metadata[MetadataKey.address] = address }
        for property in amqpMessage.applicationProperties {
            // `:` keys are the binding's own; CloudEvents keys are attributes, not metadata.
            guard !property.name.hasPrefix(":"), AMQPPropertyPrefix.match(property.name) == nil,
                let text = property.value.metadataText
            else { continue }
            metadata[property.name] = text
        }
        return metadata
    }

    /// The protocol-independent message: binary attributes as read (not validated as an
    /// event) or the structured body untouched, with ``metadata``.
    ///
    /// - Throws: ``MessageError`` when the AMQP message breaks the binding's rules (see
    ///   ``readBinary(into:)`` and ``checkBody()``).
    public func message() throws(MessageError) -> Message {
        let (message, error) = messageAndError()
        if let error { throw error }
        return message
    }

    /// ``message()``, never throwing: when the AMQP message breaks the binding's rules, a
    /// best-effort message (the prefixed properties as strings, the `data` section if any)
    /// and the error, which the receiver hands to the delivery so that the consumer sees
    /// what was wrong (decoding the best-effort message alone could miss it).
    package func messageAndError() -> (message: Message, error: MessageError?) {
        var message = Message()
        var failure: MessageError?
        do {
            try checkBody()
        } catch {
            failure = error
        }
        switch contentMode {
        case .binary:
            var collector = AttributeCollector()
            collector.attributes.reserveCapacity(amqpMessage.applicationProperties.count + 1)
            if failure == nil {
                do { try readBinary(into: &collector) } catch { failure = error }
            }
            if failure != nil { collector = bestEffortAttributes() }
            message.content = .binary(attributes: collector.attributes, data: collector.data)
        case .structured, .batch:
            message.content = .structured(structuredContent ?? StructuredContent(mediaType: "", body: []))
        }
        message.metadata = metadata
        return (message, failure)
    }

    private func bestEffortAttributes() -> AttributeCollector {
        var collector = AttributeCollector()
        for property in amqpMessage.applicationProperties {
            guard let (_, name) = AMQPPropertyPrefix.split(property.name) else { continue }
            collector.attributes.append(
                BinaryAttribute(name: String(name), value: .string(property.value.metadataText ?? property.value.typeName)))
        }
        if let contentType = amqpMessage.contentType {
            collector.attributes.append(BinaryAttribute(name: "datacontenttype", value: .string(contentType)))
        }
        switch amqpMessage.body {
        case .data(let bytes): collector.data = bytes
        case .multipleData(let sections): collector.data = sections.flatMap { $0 }
        case .none, .value, .sequence: break
        }
        return collector
    }

    /// Decodes the event, after ``checkBody()``.
    ///
    /// - Parameters:
    ///   - formats: formats for a structured body.
    ///   - extensionTypes: types for extensions that arrive as strings.
    /// - Throws: ``MessageError`` naming what is wrong.
    public func event(
        formats: EventFormatRegistry = .standard, extensionTypes: ExtensionTypes = .none
    ) throws(MessageError) -> CloudEvent {
        try checkBody()
        var builder = CloudEventBuilder(extensionTypes: extensionTypes)
        switch contentMode {
        case .binary:
            try readBinary(into: &builder)
            return try builder.build()
        case .structured, .batch:
            return try Message(content: .structured(structuredContent ?? StructuredContent(mediaType: "", body: [])))
                .event(formats: formats, extensionTypes: extensionTypes)
        }
    }
}

/// Collects binary attributes without judging them (duplicates included).
private struct AttributeCollector: BinaryMessageWriter {
    var attributes: [BinaryAttribute] = []
    var data: [UInt8]?

    mutating func writeAttribute(_ name: String, _ value: AttributeValue) throws(MessageError) {
        attributes.append(BinaryAttribute(name: name, value: value))
    }

    mutating func writeData(_ bytes: [UInt8]) throws(MessageError) {
        data = bytes
    }
}

extension AMQPMessage {
    /// The protocol-independent message this AMQP message carries (see ``AMQPMessageReader``).
    ///
    /// - Parameter address: the address it was received from, put in the metadata.
    /// - Throws: ``MessageError`` when it breaks the binding's rules (mixed prefixes, an
    ///   uncovered body, a value no attribute can have, a batch).
    public func message(address: String? = nil) throws(MessageError) -> Message {
        try AMQPMessageReader(self, address: address).message()
    }

    /// The event this AMQP message carries.
    ///
    /// - Parameters:
    ///   - formats: formats for a structured body.
    ///   - extensionTypes: types for extensions that arrive as strings.
    /// - Throws: ``MessageError`` naming what is wrong.
    public func event(
        formats: EventFormatRegistry = .standard, extensionTypes: ExtensionTypes = .none
    ) throws(MessageError) -> CloudEvent {
        try AMQPMessageReader(self).event(formats: formats, extensionTypes: extensionTypes)
    }
}

extension CloudEvent {
    /// Decodes the event an AMQP message carries.
    ///
    /// - Parameters:
    ///   - amqpMessage: the message as received.
    ///   - formats: formats for a structured body.
    ///   - extensionTypes: types for extensions that arrive as strings.
    /// - Throws: ``MessageError`` naming what is wrong.
    public init(
        amqpMessage: AMQPMessage, formats: EventFormatRegistry = .standard, extensionTypes: ExtensionTypes = .none
    ) throws(MessageError) {
        self = try amqpMessage.event(formats: formats, extensionTypes: extensionTypes)
    }
}
