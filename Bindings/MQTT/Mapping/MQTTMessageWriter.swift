public import CloudEvents

/// Writes a CloudEvents message as the parts of an MQTT PUBLISH.
///
/// Binary mode (MQTT 5 only): `datacontenttype` becomes the Content Type property, every
/// other attribute one User Property named exactly as the attribute (no `ce-` prefix) whose
/// value is the canonical string; the data is the payload. Structured mode: Content Type is
/// the format's media type (MQTT 5) and the payload is the encoded event; MQTT 3.1.1 has no
/// Content Type, so only the JSON format can be written there.
public struct MQTTMessageWriter: MessageWriter, Sendable {
    /// The PUBLISH written so far; its topic, QoS and retain flag are the caller's.
    public private(set) var mqttMessage: MQTTMessage
    /// The protocol version the message is for.
    public let protocolVersion: MQTTProtocolVersion

    /// A writer that fills in `message` (whose topic, QoS and retain flag it keeps).
    public init(_ message: MQTTMessage, protocolVersion: MQTTProtocolVersion = .v5) {
        self.mqttMessage = message
        self.protocolVersion = protocolVersion
    }

    /// Adds the User Property for `name`, or sets Content Type for `datacontenttype`.
    ///
    /// - Throws: ``MessageError`` `.invalidMessage` in MQTT 3.1.1, which has no binary mode.
    public mutating func writeAttribute(_ name: String, _ value: AttributeValue) throws(MessageError) {
        try requireVersion5()
        if name == "datacontenttype" {
            mqttMessage.contentType = value.canonicalString
        } else {
            if mqttMessage.userProperties.isEmpty { mqttMessage.userProperties.reserveCapacity(8) }
            mqttMessage.userProperties.append(MQTTUserProperty(name, value.canonicalString))
        }
    }

    /// Sets the payload to the data bytes.
    public mutating func writeData(_ bytes: [UInt8]) throws(MessageError) {
        try requireVersion5()
        mqttMessage.payload = bytes
    }

    /// Sets Content Type to the format's media type (MQTT 5) and the payload to the event.
    ///
    /// - Throws: ``MessageError`` `.invalidMessage` for a non-JSON format in MQTT 3.1.1.
    public mutating func writeStructured(_ content: StructuredContent) throws(MessageError) {
        switch protocolVersion {
        case .v5:
            mqttMessage.contentType = content.mediaType
        case .v311:
            guard JSONEventFormat().matches(mediaType: content.mediaType) else {
                throw MessageError(
                    .invalidMessage(
                        "MQTT 3.1.1 carries the JSON event format only, not '\(content.mediaType)' (it has no content type to name another)"
                    ))
            }
        }
        mqttMessage.payload = content.body
    }

    private func requireVersion5() throws(MessageError) {
        guard protocolVersion == .v5 else {
            throw MessageError(.invalidMessage("MQTT 3.1.1 has no binary mode: use structured mode with the JSON format"))
        }
    }
}

extension CloudEvent {
    /// The MQTT PUBLISH for this event on `topic`.
    ///
    /// - Parameters:
    ///   - mode: binary (MQTT 5 only) or structured; batch is not an MQTT mode.
    ///   - format: the structured-mode format (JSON only in MQTT 3.1.1).
    /// - Throws: ``MessageError`` when the event is invalid or the mode, format and version
    ///   do not go together.
    public func mqttMessage(
        topic: String, qos: MQTTQoS = .atLeastOnce, retain: Bool = false, mode: ContentMode = .binary,
        format: any EventFormat = JSONEventFormat(), protocolVersion: MQTTProtocolVersion = .v5
    ) throws(MessageError) -> MQTTMessage {
        guard mode != .batch else { throw MessageError(.batchNotSupported) }
        if mode == .binary, protocolVersion == .v5 {
            // The hot path: the User Properties straight from the event's properties.
            return try mqttBinaryModeMessage(topic: topic, qos: qos, retain: retain)
        }
        var writer = MQTTMessageWriter(MQTTMessage(topic: topic, qos: qos, retain: retain), protocolVersion: protocolVersion)
        try write(to: &writer, mode: mode, format: format)
        return writer.mqttMessage
    }
}

extension Message {
    /// The MQTT PUBLISH for this message on `topic`. A structured body passes through
    /// untouched; a binary message over MQTT 3.1.1 is transcoded to structured JSON, the only
    /// shape that version can carry. There is no batch mode.
    ///
    /// - Throws: ``MessageError`` when the message cannot be carried (a batch, a binary
    ///   message that is not a valid event when it must be transcoded, a non-JSON structured
    ///   body over MQTT 3.1.1).
    public func mqttMessage(
        topic: String, qos: MQTTQoS = .atLeastOnce, retain: Bool = false, protocolVersion: MQTTProtocolVersion = .v5
    ) throws(MessageError) -> MQTTMessage {
        var writer = MQTTMessageWriter(MQTTMessage(topic: topic, qos: qos, retain: retain), protocolVersion: protocolVersion)
        switch content {
        case .batch:
            throw MessageError(.batchNotSupported)
        case .structured(let structured):
            try writer.writeStructured(structured)
        case .binary:
            if protocolVersion == .v311 {
                try event().write(to: &writer, mode: .structured, format: JSONEventFormat())
            } else {
                try readBinary(into: &writer)
            }
        }
        return writer.mqttMessage
    }
}
