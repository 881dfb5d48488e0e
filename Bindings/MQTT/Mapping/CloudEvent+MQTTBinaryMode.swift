import CloudEvents

// Binary mode straight between a CloudEvent and a PUBLISH's properties: the hot path of
// every MQTT publish and delivery (issue 16's throughput target).
//
// The general path goes through the message layer. Encoding, it visits every attribute as
// a name and an `AttributeValue` through the generic writer. Decoding, the reader builds a
// `Message` (each attribute User Property as a name and an `AttributeValue`, the metadata
// dictionary), then a `CloudEventBuilder` collects the attributes again, checks each for a
// duplicate, and sets them on the event by name. For an event, and for the properties of
// an ordinary binary message, none of that is needed: MQTT values are the attributes'
// canonical strings as they are (no prefix, no percent-encoding). These paths produce
// exactly what the general path produces (the mapping tests compare them on the whole
// corpus and on generated input), and hand anything out of the ordinary (an invalid event,
// a repeated attribute, a `datacontenttype` User Property contradicting Content Type, a
// value that does not parse, specversion 0.3 or none) to the general path, so that errors
// stay exactly as it reports them.

extension CloudEvent {
    /// The binary-mode MQTT 5 PUBLISH of this event, as ``write(to:mode:format:)`` with an
    /// ``MQTTMessageWriter`` makes it: the same User Properties in the same order, the same
    /// Content Type and payload.
    ///
    /// A valid event's attributes cannot collide (core attributes are properties, extension
    /// names are unique), so the writer's work is only to list them; the String type's
    /// character rules are checked by a printable-ASCII scan of every value, and by the full
    /// validation (which the general path runs) only when one is not printable ASCII. An
    /// invalid event is left to the general path, which says why.
    func mqttBinaryModeMessage(topic: String, qos: MQTTQoS, retain: Bool) throws(MessageError) -> MQTTMessage {
        do {
            try validate(checkingCharacters: false)
        } catch {
            return try generalMQTTMessage(topic: topic, qos: qos, retain: retain)
        }
        var printableASCII = true
        var properties: [MQTTUserProperty] = []
        // specversion, id, source, type, dataschema, subject, time and the extensions at most.
        properties.reserveCapacity(7 + extensions.count)
        @inline(__always)
        func append(_ name: String, _ value: String) {
            if printableASCII, !TextScan.isPrintableASCII(value) { printableASCII = false }
            properties.append(MQTTUserProperty(name, value))
        }
        // In the order of forEachAttribute, datacontenttype aside (it is Content Type).
        properties.append(MQTTUserProperty("specversion", specVersion.rawValue))
        append("id", id)
        append("source", source)
        append("type", type)
        if let dataSchema { append(specVersion.dataSchemaAttributeName, dataSchema) }
        if let subject { append("subject", subject) }
        // RFC 3339 text is printable ASCII.
        if let time { properties.append(MQTTUserProperty("time", time.description)) }
        for (name, value) in extensions {
            switch value {
            case .string(let text): append(name, text)
            default: append(name, value.canonicalString)
            }
        }
        var contentType = dataContentType
        if let dataContentType, printableASCII, !TextScan.isPrintableASCII(dataContentType) { printableASCII = false }
        if !printableASCII {
            do { try validate() } catch { throw MessageError(.invalidEvent(error)) }
        }
        var message = MQTTMessage(topic: topic, qos: qos, retain: retain, contentType: nil, userProperties: properties)
        if let data {
            if contentType == nil {
                // As readBinary(into:) does: JSON data leaving the JSON format says what it is.
                switch data {
                case .json, .text: contentType = Self.mqttJSONContentType
                case .binary: break
                }
            }
            message.payload = data.bodyBytes(contentType: dataContentType)
        }
        message.contentType = contentType
        return message
    }

    private static let mqttJSONContentType = "application/json"

    /// The general path's binary-mode PUBLISH (it says why an event is invalid).
    func generalMQTTMessage(topic: String, qos: MQTTQoS, retain: Bool) throws(MessageError) -> MQTTMessage {
        var writer = MQTTMessageWriter(MQTTMessage(topic: topic, qos: qos, retain: retain), protocolVersion: .v5)
        try write(to: &writer, mode: .binary)
        return writer.mqttMessage
    }

    /// Decodes the event of a binary-mode MQTT 5 PUBLISH into `self` in one pass over its
    /// User Properties, returning `false` (with `self` left unspecified) when the general
    /// path (``MQTTMessageReader/readBinary(into:)`` and ``CloudEventBuilder``) must decide:
    /// a repeated attribute, a `datacontenttype` User Property that contradicts Content
    /// Type, a `time` or typed extension that does not parse, a `specversion` other than
    /// 1.0, more than ``MQTTBinaryModeName/maximumAttributeCount`` attributes, or an event
    /// that is not valid. When it returns `true`, `self` is the event the general path
    /// returns. The caller has found the message to be in binary mode (MQTT 5, and a
    /// Content Type that is not a CloudEvents format's).
    ///
    /// The String type's character rules are checked by validation only when a value is
    /// not printable ASCII. The event is filled in place (not returned) so that it is not
    /// copied on its way out.
    mutating func decodeMQTTBinaryMode(_ message: MQTTMessage, extensionTypes: ExtensionTypes) -> Bool {
        var attributes = BinaryModeAttributes()
        var contentType = message.contentType
        var printableASCII = true

        var count = 0
        for property in message.userProperties {
            let value = property.value
            switch MQTTBinaryModeName(property.name) {
            case .other: continue
            case .dataContentType:
                // The reader's rule: agreeing with Content Type (or standing in for it) is
                // fine, even repeated; contradicting it is the general path's error to report.
                if let contentType, contentType != value { return false }
                contentType = value
                continue
            case .attribute(let slot):
                guard attributes.take(value, for: slot) else { return false }
            case .extension:
                let name = property.name
                // The bound keeps this linear search for a repeated name short.
                guard count < MQTTBinaryModeName.maximumAttributeCount, !attributes.hasExtension(name),
                    attributes.takeExtension(name, value, types: extensionTypes)
                else { return false }
            }
            if printableASCII, !TextScan.isPrintableASCII(value) { printableASCII = false }
            count += 1
        }

        if let contentType, printableASCII, !TextScan.isPrintableASCII(contentType) { printableASCII = false }
        guard attributes.set(on: &self, dataContentType: contentType) else { return false }
        // An empty payload without a content type is no data: MQTT cannot tell it from empty data.
        let payload = message.payload
        self.data = contentType != nil || !payload.isEmpty ? EventData(bytes: payload, contentType: contentType) : nil
        do { try validate(checkingCharacters: !printableASCII) } catch { return false }
        return true
    }
}

/// What a User Property's name is to binary mode: a core attribute of CloudEvents 1.0, an
/// extension (any other `[a-z0-9]+` name, as ``MQTTMessageReader`` reads it), or not an
/// attribute at all (foreign metadata).
enum MQTTBinaryModeName: Equatable {
    /// A core attribute with a slot of its own.
    case attribute(BinaryModeAttributes.Slot)
    case dataContentType
    case `extension`
    case other

    /// More attributes than any event has: the fast path leaves such a message to the
    /// general path, which keeps its search for repeats bounded.
    static let maximumAttributeCount = 64

    /// The classification of `name`, by length first: at most two comparisons.
    init(_ name: String) {
        switch name.utf8.count {
        case 2 where name == "id": self = .attribute(.id)
        case 4 where name == "type": self = .attribute(.type)
        case 4 where name == "time": self = .attribute(.time)
        case 6 where name == "source": self = .attribute(.source)
        case 7 where name == "subject": self = .attribute(.subject)
        case 10 where name == "dataschema": self = .attribute(.dataSchema)
        case 11 where name == "specversion": self = .attribute(.specVersion)
        case 15 where name == "datacontenttype": self = .dataContentType
        default: self = MQTTMessageReader.isAttributeName(name) ? .extension : .other
        }
    }
}

extension MQTTMessageReader {
    /// The event of a binary-mode message decoded in one pass over the User Properties, or
    /// `nil` when the general path must decide (see
    /// ``CloudEvent/decodeMQTTBinaryMode(_:extensionTypes:)``) or the message is not in
    /// binary mode. When not `nil`, it is the event ``event(formats:extensionTypes:)``
    /// returns through the message layer.
    func binaryModeEvent(extensionTypes: ExtensionTypes) -> CloudEvent? {
        guard contentMode == .binary else { return nil }
        var event = CloudEvent.decodingPlaceholder
        guard event.decodeMQTTBinaryMode(mqttMessage, extensionTypes: extensionTypes) else { return nil }
        return event
    }
}
