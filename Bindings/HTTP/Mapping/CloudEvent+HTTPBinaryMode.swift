import CloudEvents
import HTTPTypes

// Binary mode straight between a CloudEvent and HTTP fields (issue #4's speed targets).
//
// The general path goes through the message layer: every attribute as a name and an
// `AttributeValue`, looked up by name, checked for duplicates against the fields written
// so far (encode), collected in a builder and set by name again (decode). For an event that
// is what it is here, and for the fields of an ordinary binary request, none of that is
// needed. These paths produce exactly what the general path produces, and hand anything
// out of the ordinary (an invalid event, an error, a quoted or legacy value they do not
// take as it is) to the general path, so that errors stay exactly as they were.

extension CloudEvent {
    /// The binary-mode fields and body of this event, as ``write(to:mode:format:)`` with
    /// an ``HTTPMessageWriter`` makes them: the same fields in the same order.
    ///
    /// A valid event's attributes cannot collide (core attributes are properties, extension
    /// names are unique, `[a-z0-9]+` and not core names), so no duplicate is looked for; the
    /// String type's character rules are checked by the percent-encoding scan, which sees
    /// every such value anyway, and by the full validation only when a value is not
    /// printable ASCII.
    func binaryModeHTTPFields() throws(MessageError) -> (headerFields: HTTPFields, body: [UInt8]) {
        do {
            try validate(checkingCharacters: false)
        } catch {
            return try generalHTTPFields(mode: .binary, format: JSONEventFormat())
        }
        var charactersChecked = true
        func encodedString(_ text: String) -> String {
            let (encoded, isPrintableASCII) = PercentEncoding.encodeHeaderValueReportingASCII(text)
            if !isPrintableASCII { charactersChecked = false }
            return encoded
        }

        // Names and constant fields built once (one lazy-initialisation check here, not one
        // per name): a name or value given to swift-http-types is validated again each time.
        let known = BinaryModeFields.shared
        var fields = HTTPFields()
        // Content-Type, the seven other core attributes at most, the extensions.
        fields.reserveCapacity(8 + extensions.count)
        fields.append(specVersion == .v1_0 ? known.specVersion1_0 : known.specVersion0_3)
        fields.append(HTTPField(name: known.id, value: encodedString(id)))
        // URIs and URI references are validated as RFC 3986 characters (ASCII), but may hold `%`.
        fields.append(HTTPField(name: known.source, value: PercentEncoding.encodeHeaderValue(source)))
        fields.append(HTTPField(name: known.type, value: encodedString(type)))
        if let dataContentType {
            if dataContentType == BinaryModeFields.json {
                fields.append(known.contentTypeJSON)
            } else {
                if !TextScan.isPrintableASCII(dataContentType) { charactersChecked = false }
                fields.append(HTTPField(name: .contentType, value: dataContentType))
            }
        }
        if let dataSchema {
            fields.append(
                HTTPField(
                    name: specVersion == .v1_0 ? known.dataSchema : known.schemaURL,
                    value: PercentEncoding.encodeHeaderValue(dataSchema)))
        }
        if let subject { fields.append(HTTPField(name: known.subject, value: encodedString(subject))) }
        // RFC 3339 text is digits, `-`, `:`, `.`, `+`, `T`/`t` and `Z`/`z`: nothing to encode.
        if let time { fields.append(HTTPField(name: known.time, value: time.description)) }
        for (name, value) in extensions {
            guard let fieldName = known.extensionName(name) ?? HTTPField.Name("ce-" + name) else {
                // Unreachable for a valid event (names are `[a-z0-9]+`); the general path says why.
                return try generalHTTPFields(mode: .binary, format: JSONEventFormat())
            }
            let text =
                switch value {
                case .string(let text): encodedString(text)
                default: PercentEncoding.encodeHeaderValue(value.canonicalString)
                }
            fields.append(HTTPField(name: fieldName, value: text))
        }
        if !charactersChecked {
            do { try validate() } catch { throw MessageError(.invalidEvent(error)) }
        }

        guard let data else { return (fields, []) }
        if dataContentType == nil {
            // As readBinary(into:) does: JSON data leaving the JSON format says what it is.
            switch data {
            case .json, .text: fields.append(known.contentTypeJSON)
            case .binary: break
            }
        }
        return (fields, data.bodyBytes(contentType: dataContentType))
    }
}

extension CloudEvent {
    /// Decodes the event of a binary-mode message into `self` in one pass over the fields,
    /// returning `false` (with `self` left unspecified) when the general path
    /// (``HTTPMessageReader`` and ``CloudEventBuilder``) must decide: for a structured or
    /// batched message, a duplicate header, a `ce-datacontenttype` header, a value that does
    /// not decode, a `specversion` other than 1.0, or an event that is not valid. When it
    /// returns `true`, `self` is the event the general path returns.
    ///
    /// Values neither quoted nor holding a `%` are taken as they are; if they are also
    /// printable ASCII, the String type's character rules are not checked again. The event
    /// is filled in place (not returned) so that it is not copied on its way out.
    mutating func decodeBinaryMode(headerFields: HTTPFields, body: [UInt8], extensionTypes: ExtensionTypes) -> Bool {
        var attributes = BinaryModeAttributes()
        var contentType: String?
        var charactersChecked = true

        /// The value of the header at `index` with the core codec's value rule (the general
        /// path's); `nil` for a value that the codec refuses.
        func decodedValue(_ index: Int) -> String? {
            guard let (text, isPrintableASCII) = try? HeaderAttributeCodec.decodeValueReportingASCII(headerFields[index].value)
            else { return nil }
            if !isPrintableASCII { charactersChecked = false }
            return text
        }

        // By index: the fields are read in place rather than copied out one by one.
        for index in headerFields.indices {
            let header = BinaryModeHeader(headerFields[index].name)
            switch header {
            case .other: continue
            case .contentType, .dataContentType:
                // The codec's datacontenttype rule: Content-Type carries it, ce-datacontenttype
                // is refused (by the general path, which says why).
                guard HeaderAttributeCodec.http.role(of: header) == .dataContentType, contentType == nil else { return false }
                contentType = headerFields[index].value
            case .extension(let name):
                guard !attributes.hasExtension(name), let text = decodedValue(index),
                    attributes.takeExtension(name, text, types: extensionTypes)
                else { return false }
            case .specVersion, .id, .source, .type, .dataSchema, .subject, .time:
                guard let slot = BinaryModeAttributes.Slot(header), let text = decodedValue(index),
                    attributes.take(text, for: slot)
                else { return false }
            }
        }

        // The usual `application/json` is binary mode, printable ASCII and JSON: no need to
        // parse it three times over to find that out.
        let isJSON = contentType == BinaryModeFields.json
        if let contentType, !isJSON {
            guard HTTPMessageReader.detectMode(contentType: contentType) == .binary else { return false }
            if !TextScan.isPrintableASCII(contentType) {
                // The codec's UTF-8 rule for the value taken as it is.
                guard (try? HeaderAttributeCodec.contentTypeValue(contentType, header: "Content-Type")) != nil else {
                    return false
                }
                charactersChecked = false
            }
        }
        guard attributes.set(on: &self, dataContentType: contentType) else { return false }
        if isJSON {
            // As EventData(bytes:contentType:) decides for a JSON content type.
            self.data = (try? RawJSON(validating: body)).map(EventData.json) ?? .binary(body)
        } else {
            self.data = contentType != nil || !body.isEmpty ? EventData(bytes: body, contentType: contentType) : nil
        }
        do { try validate(checkingCharacters: !charactersChecked) } catch { return false }
        return true
    }
}

/// What a header is to binary mode: the core codec's classification, which the general
/// path (``HTTPMessageReader`` through ``HeaderAttributeCodec/Reader``) runs too.
typealias BinaryModeHeader = HeaderAttributeCodec.Header

extension HeaderAttributeCodec.Header {
    /// The classification of an HTTP field name, from its canonical (lowercase) name,
    /// without building a String for a core attribute's name or comparing Strings.
    init(_ name: HTTPField.Name) {
        let canonical = name.canonicalName
        if let kind = canonical.utf8.withContiguousStorageIfAvailable(Self.init(lowercasedUTF8:)) {
            self = kind
        } else {
            var copy = canonical  // not stored contiguously (bridged): make it native
            self = copy.withUTF8(Self.init(lowercasedUTF8:))
        }
    }
}
