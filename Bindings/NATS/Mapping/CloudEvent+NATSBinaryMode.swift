import CloudEvents

// Binary mode straight between a CloudEvent and NATS headers: the hot path of every
// publish and every received message (issue 15's throughput targets).
//
// The general path goes through the message layer: each attribute as a name and an
// `AttributeValue`, its header name built and checked against the headers written so far
// (encode), collected in a builder and set by name again (decode). For an event, and for
// the headers of an ordinary binary message, none of that is needed. These paths produce
// exactly what the general path produces (the mapping tests compare them on the whole
// corpus and on fuzzed input), and hand anything out of the ordinary (an invalid event, a
// duplicate, a value that does not decode, specversion 0.3) to the general path, so that
// errors stay exactly as it reports them.

extension CloudEvent {
    /// The binary-mode headers and payload of this event, as ``write(to:mode:format:)`` with
    /// a ``NATSMessageWriter`` makes them: the same headers in the same order.
    ///
    /// A valid event's attributes cannot collide (core attributes are properties; extension
    /// names are unique, `[a-z0-9]+`, not core names), so no duplicate is looked for; the
    /// String type's character rules are checked by the percent-encoding scan, which sees
    /// every value anyway, and by the full validation only when a value is not printable ASCII.
    func natsBinaryMode() throws(MessageError) -> (headers: NATSHeaders, payload: [UInt8]) {
        do {
            try validate(checkingCharacters: false)
        } catch {
            return try generalNATSBinaryMode()
        }
        var charactersChecked = true
        @inline(__always)
        func field(_ name: String, _ text: String) -> NATSHeaders.Field {
            let (encoded, isPrintableASCII) = PercentEncoding.encodeHeaderValueReportingASCII(text)
            if !isPrintableASCII { charactersChecked = false }
            return NATSHeaders.Field(name: name, value: Array(encoded.utf8))
        }

        var fields: [NATSHeaders.Field] = []
        // The eight core attributes at most, the extensions, and the implied content type.
        fields.reserveCapacity(9 + extensions.count)
        fields.append(NATSHeaders.Field(name: "ce-specversion", value: Array(specVersion.rawValue.utf8)))
        fields.append(field("ce-id", id))
        fields.append(field("ce-source", source))
        fields.append(field("ce-type", type))
        if let dataContentType { fields.append(field("ce-datacontenttype", dataContentType)) }
        if let dataSchema {
            fields.append(field(specVersion == .v1_0 ? "ce-dataschema" : "ce-schemaurl", dataSchema))
        }
        if let subject { fields.append(field("ce-subject", subject)) }
        // RFC 3339 text is digits, `-`, `:`, `.`, `+`, `T`/`t` and `Z`/`z`: nothing to encode.
        if let time { fields.append(NATSHeaders.Field(name: "ce-time", value: Array(time.description.utf8))) }
        for (name, value) in extensions {
            let text =
                switch value {
                case .string(let text): text
                default: value.canonicalString
                }
            fields.append(field(HeaderAttributeCodec.prefix + name, text))
        }
        if !charactersChecked {
            do { try validate() } catch { throw MessageError(.invalidEvent(error)) }
        }
        guard let data else { return (NATSHeaders(fields), []) }
        if dataContentType == nil {
            // As readBinary(into:) does: JSON data leaving the JSON format says what it is.
            switch data {
            case .json, .text: fields.append(NATSHeaders.Field(name: "ce-datacontenttype", value: Self.jsonUTF8))
            case .binary: break
            }
        }
        return (NATSHeaders(fields), data.bodyBytes(contentType: dataContentType))
    }

    private static let jsonUTF8 = Array("application/json".utf8)

    /// The general path's binary-mode headers and payload (it says why an event is invalid).
    private func generalNATSBinaryMode() throws(MessageError) -> (headers: NATSHeaders, payload: [UInt8]) {
        var writer = NATSMessageWriter(subject: "")
        try write(to: &writer, mode: .binary)
        return (writer.natsMessage.headers ?? NATSHeaders(), writer.natsMessage.payload)
    }

    /// Decodes the event of a binary-mode message into `self` in one pass over the headers,
    /// returning `false` (with `self` left unspecified) when the general path
    /// (``NATSMessageReader`` and ``CloudEventBuilder``) must decide: a duplicate header, a
    /// value that is not UTF-8 or does not decode, a `specversion` other than 1.0, or an
    /// event that is not valid. When it returns `true`, `self` is the event the general path
    /// returns. The caller has found the message to be in binary mode.
    mutating func decodeNATSBinaryMode(headers: NATSHeaders, payload: [UInt8], extensionTypes: ExtensionTypes) -> Bool {
        var attributes = BinaryModeAttributes()
        var contentType: String?
        var charactersChecked = true

        /// `value` decoded with the core codec's value rule (the general path's); `nil` for
        /// a value that the codec refuses.
        ///
        /// `String(decoding:)` rather than `String(validating:)`: it is about twice as fast,
        /// and bytes that are not UTF-8 become U+FFFD, which the codec refuses unencoded (so
        /// the general path, which reports them by name, decides).
        func decodedValue(_ value: [UInt8]) -> String? {
            guard
                let (decoded, isPrintableASCII) = try? HeaderAttributeCodec.decodeValueReportingASCII(
                    String(decoding: value, as: UTF8.self))
            else { return nil }
            if !isPrintableASCII { charactersChecked = false }
            return decoded
        }

        var count = 0
        for field in headers.fields {
            let header = HeaderAttributeCodec.Header(name: field.name)
            switch header {
            // NATS: Content-Type only selects the mode, it is not an attribute.
            case .other, .contentType: continue
            case .dataContentType:
                guard contentType == nil, let text = decodedValue(field.value) else { return false }
                contentType = text
            case .extension(let name):
                guard !attributes.hasExtension(name), let text = decodedValue(field.value),
                    attributes.takeExtension(name, text, types: extensionTypes)
                else { return false }
            case .specVersion, .id, .source, .type, .dataSchema, .subject, .time:
                guard let slot = BinaryModeAttributes.Slot(header), let text = decodedValue(field.value),
                    attributes.take(text, for: slot)
                else { return false }
            }
            // At most NATSMessageReader.maximumAttributeCount attributes, as the general path.
            count += 1
            guard count <= NATSMessageReader.maximumAttributeCount else { return false }
        }

        guard attributes.set(on: &self, dataContentType: contentType) else { return false }
        // An empty payload without datacontenttype is no data (spec edge case 21).
        self.data = contentType != nil || !payload.isEmpty ? EventData(bytes: payload, contentType: contentType) : nil
        do { try validate(checkingCharacters: !charactersChecked) } catch { return false }
        return true
    }
}

extension NATSMessageReader {
    /// The protocol-independent message of a binary-mode message in one pass over the
    /// headers (attributes and metadata together), or `nil` when the general path
    /// (``readBinary(into:)`` and ``metadata``) must decide: a duplicate, or a value that is
    /// not UTF-8 or does not decode. When not `nil`, it is the message the general path
    /// builds (the mapping tests compare them).
    func binaryMessageInOnePass() -> Message? {
        guard contentMode == .binary, let headers = natsMessage.headers else { return nil }
        var attributes: [BinaryAttribute] = []
        attributes.reserveCapacity(headers.count)
        var seen: [HeaderAttributeCodec.Header] = []
        seen.reserveCapacity(headers.count)
        var metadata = [MetadataKey.subject: natsMessage.subject]
        if let replyTo = natsMessage.replyTo { metadata[MetadataKey.replyTo] = replyTo }
        var hasContentType = false
        for field in headers.fields {
            let header = HeaderAttributeCodec.Header(name: field.name)
            guard case .attribute(let name) = HeaderAttributeCodec.nats.role(of: header) else {
                // Not an attribute: metadata, as `metadata` says (lowercased, joined, UTF-8 only).
                guard let value = field.text else { continue }
                Self.addMetadata(Self.lowercased(field.name), value, to: &metadata)
                continue
            }
            // A bad value becomes U+FFFD, which the codec refuses (see decodeNATSBinaryMode).
            // The bound keeps the linear search for duplicates short.
            guard attributes.count < Self.maximumAttributeCount, !seen.contains(header),
                let (text, _) = try? HeaderAttributeCodec.decodeValueReportingASCII(
                    String(decoding: field.value, as: UTF8.self))
            else { return nil }
            seen.append(header)
            if header == .dataContentType { hasContentType = true }
            attributes.append(BinaryAttribute(name: name, value: .string(text)))
        }
        let data = hasContentType || !natsMessage.payload.isEmpty ? natsMessage.payload : nil
        return Message(content: .binary(attributes: attributes, data: data), metadata: metadata)
    }
}
