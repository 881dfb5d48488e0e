public import CloudEvents

/// Reads a CloudEvents message from an MQTT PUBLISH, as the MQTT protocol binding says.
///
/// **Mode detection.** MQTT 3.1.1 has no metadata, so every message is structured JSON
/// (`application/cloudevents+json` is implied). In MQTT 5 the Content Type property decides:
/// a value starting with `application/cloudevents` (case-insensitively, after leading
/// spaces) is structured, anything else, including no Content Type, is binary (spec edge
/// case 30: a binary message whose payload happens to look like a JSON event stays binary).
///
/// **Binary mode.** Each User Property whose name is a valid attribute name (`[a-z0-9]+`)
/// is an attribute of that name, its value the canonical string; the Content Type property
/// is `datacontenttype`; the payload is the data. User Properties with other names
/// (`Trace-Id`, `x_app`) are not CloudEvents metadata: they go to ``Message/metadata``.
/// A `datacontenttype` User Property (the spec's example shows one) is accepted when it
/// agrees with Content Type, used when Content Type is absent, and refused when it
/// disagrees. A repeated attribute is kept, so that decoding the event reports it as
/// ``MessageError/Reason/duplicateAttribute(_:)``. An empty payload without Content Type
/// is "no data": MQTT cannot tell it from empty data.
///
/// **Metadata.** The topic, QoS and retain flag are in ``Message/metadata`` under
/// ``MetadataKey/topic``, ``MetadataKey/qos`` and ``MetadataKey/retain``; foreign User
/// Properties under their own names (repeated names joined with `, `).
public struct MQTTMessageReader: MessageReader, Sendable {
    /// The PUBLISH as it arrived.
    public let mqttMessage: MQTTMessage
    /// The mode found by the binding's detection rule.
    public let contentMode: ContentMode

    /// The ``Message/metadata`` keys for the PUBLISH's own fields. They start with `:` so
    /// that no User Property name can be mistaken for them.
    public enum MetadataKey {
        /// The PUBLISH's topic name.
        public static let topic = ":topic"
        /// The PUBLISH's QoS, as `0`, `1` or `2`.
        public static let qos = ":qos"
        /// The PUBLISH's retain flag, as `true` or `false`.
        public static let retain = ":retain"
    }

    /// Reads `message`, received over `protocolVersion`.
    ///
    /// - Parameters:
    ///   - message: the PUBLISH as received.
    ///   - protocolVersion: the version it was received over; 3.1.1 has no Content Type,
    ///     which ``MediaType/contentMode(of:whenAbsent:batch:)`` is told means structured.
    public init(_ message: MQTTMessage, protocolVersion: MQTTProtocolVersion = .v5) {
        self.mqttMessage = message
        switch protocolVersion {
        case .v311: contentMode = MediaType.contentMode(of: nil, whenAbsent: .structured, batch: false)
        case .v5: contentMode = Self.detectMode(contentType: message.contentType)
        }
    }

    /// The mode an MQTT 5 Content Type selects: the core's
    /// ``MediaType/contentMode(of:whenAbsent:batch:)``, binary without a Content Type.
    /// There is no batch mode in MQTT: a batch media type is structured with a format no
    /// registry has, so decoding it reports ``MessageError/Reason/unsupportedFormat(_:)``.
    /// (MQTT 3.1.1 has no Content Type: ``init(_:protocolVersion:)`` makes every such
    /// message structured, as a missing content type means there.)
    ///
    /// - Parameter contentType: the Content Type property, or `nil` when absent.
    public static func detectMode(contentType: String?) -> ContentMode {
        MediaType.contentMode(of: contentType, whenAbsent: .binary, batch: false)
    }

    /// The payload and its media type (Content Type, or the JSON format's when MQTT 3.1.1
    /// has none) in structured mode; `nil` in binary mode.
    public var structuredContent: StructuredContent? {
        guard contentMode == .structured else { return nil }
        return structuredPayload
    }

    private var structuredPayload: StructuredContent {
        StructuredContent(mediaType: mqttMessage.contentType ?? JSONEventFormat().mediaType, body: mqttMessage.payload)
    }

    /// Visits the attribute User Properties, Content Type as `datacontenttype`, then the payload.
    ///
    /// - Throws: ``MessageError``: `.invalidMessage` when a `datacontenttype` User Property
    ///   contradicts Content Type, or what the writer throws (a builder reports a repeated
    ///   attribute as `.duplicateAttribute`).
    public func readBinary<Writer: BinaryMessageWriter>(into writer: inout Writer) throws(MessageError) {
        guard contentMode == .binary else {
            throw MessageError(.invalidMessage("a \(contentMode) MQTT message has no binary attributes"))
        }
        var contentType = mqttMessage.contentType
        for property in mqttMessage.userProperties where Self.isAttributeName(property.name) {
            if property.name == "datacontenttype" {
                if let contentType, contentType != property.value {
                    throw MessageError(
                        .invalidMessage(
                            "user property 'datacontenttype' ('\(property.value)') contradicts the Content Type property ('\(contentType)')"
                        ))
                }
                contentType = property.value
                continue
            }
            try writer.writeAttribute(property.name, .string(property.value))
        }
        if let contentType {
            try writer.writeAttribute("datacontenttype", .string(contentType))
        }
        if contentType != nil || !mqttMessage.payload.isEmpty {
            try writer.writeData(mqttMessage.payload)
        }
    }

    /// The topic, QoS, retain flag, and the User Properties that are not attributes (in
    /// structured mode: all of them, since the body holds the event).
    public var metadata: [String: String] {
        var metadata = [
            MetadataKey.topic: mqttMessage.topic,
            MetadataKey.qos: String(mqttMessage.qos.rawValue),
            MetadataKey.retain: mqttMessage.retain ? "true" : "false"
        ]
        for property in mqttMessage.userProperties {
            if contentMode == .binary, Self.isAttributeName(property.name) { continue }
            if let existing = metadata[property.name] {
                metadata[property.name] = existing + ", " + property.value
            } else {
                metadata[property.name] = property.value
            }
        }
        return metadata
    }

    /// The protocol-independent message: binary attributes as read (not validated as an
    /// event), or the structured body untouched, with ``metadata``. Never throws for a
    /// message that breaks the CloudEvents rules: that surfaces when the event is decoded.
    public func message() -> Message {
        messageAndConflict().message
    }

    /// ``message()``, and the error that makes it no event when reading it already showed one
    /// (a `datacontenttype` User Property contradicting the Content Type property): the
    /// receiver hands that error to the delivery, which names the contradiction, where
    /// decoding the message would only see the attribute twice.
    package func messageAndConflict() -> (message: Message, conflict: MessageError?) {
        var message = Message()
        var conflict: MessageError?
        switch contentMode {
        case .binary:
            var collector = AttributeCollector()
            // One allocation instead of the doublings of appending one attribute at a time
            // (this runs on the client's network thread for every message).
            collector.attributes.reserveCapacity(mqttMessage.userProperties.count + 1)
            do { try readBinary(into: &collector) } catch {
                // A contradicting datacontenttype: keep both values, so that decoding the
                // message alone still fails (the attribute twice).
                conflict = error
                collector.attributes = binaryAttributesKeepingConflicts()
                collector.data = mqttMessage.payload
            }
            message.content = .binary(attributes: collector.attributes, data: collector.data)
        case .structured, .batch:
            message.content = .structured(structuredPayload)
        }
        message.metadata = metadata
        return (message, conflict)
    }

    /// Decodes the event the message carries: an ordinary binary-mode message in one pass
    /// over its User Properties, anything else through the message layer (the protocol's
    /// ``MessageReader/event(formats:extensionTypes:)``), which both give the same event
    /// and, for a message that is no event, the same error.
    ///
    /// - Parameters:
    ///   - formats: formats for a structured payload.
    ///   - extensionTypes: types for binary-mode extensions, which arrive as strings.
    /// - Throws: ``MessageError`` naming what is wrong: `.unsupportedFormat` for a structured
    ///   payload no format handles, `.invalidMessage` for a `datacontenttype` User Property
    ///   that contradicts Content Type, or why the attributes or the event are invalid.
    public func event(
        formats: EventFormatRegistry = .standard, extensionTypes: ExtensionTypes = .none
    ) throws(MessageError) -> CloudEvent {
        if let event = binaryModeEvent(extensionTypes: extensionTypes) { return event }
        return try generalEvent(formats: formats, extensionTypes: extensionTypes)
    }

    /// The protocol's ``MessageReader/event(formats:extensionTypes:)``: the general path, and
    /// the reference that the binary-mode fast path must match.
    func generalEvent(formats: EventFormatRegistry, extensionTypes: ExtensionTypes) throws(MessageError) -> CloudEvent {
        try (self as any MessageReader).event(formats: formats, extensionTypes: extensionTypes)
    }

    private func binaryAttributesKeepingConflicts() -> [BinaryAttribute] {
        var attributes = mqttMessage.userProperties.filter { Self.isAttributeName($0.name) }.map {
            BinaryAttribute(name: $0.name, value: .string($0.value))
        }
        if let contentType = mqttMessage.contentType {
            attributes.append(BinaryAttribute(name: "datacontenttype", value: .string(contentType)))
        }
        return attributes
    }

    /// `[a-z0-9]+`: the names a CloudEvents attribute can have (spec edge case 3: MQTT
    /// names are case-sensitive, so `ID` is foreign metadata, not `id`).
    static func isAttributeName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) }
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

extension CloudEvent {
    /// Decodes the event an MQTT PUBLISH carries.
    ///
    /// - Parameters:
    ///   - mqttMessage: the PUBLISH as received.
    ///   - protocolVersion: the version it was received over (3.1.1: structured JSON).
    ///   - formats: formats for a structured payload.
    ///   - extensionTypes: types for binary-mode extensions, which arrive as strings.
    /// - Throws: ``MessageError`` naming what is wrong.
    public init(
        mqttMessage: MQTTMessage, protocolVersion: MQTTProtocolVersion = .v5,
        formats: EventFormatRegistry = .standard, extensionTypes: ExtensionTypes = .none
    ) throws(MessageError) {
        self = try MQTTMessageReader(mqttMessage, protocolVersion: protocolVersion)
            .event(formats: formats, extensionTypes: extensionTypes)
    }
}
