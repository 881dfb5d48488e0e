internal import CCloudEventsProtobuf
import CloudEvents

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Unpacks with protobuf-c into an ``UnpackArena`` and maps the C structs to
/// `CloudEvent`s, checking what protobuf-c does not (UTF-8, the CloudEvents rules).
enum ProtobufDecoder {
    static func decodeEvent(_ bytes: UnsafeRawBufferPointer) throws(EventFormatError) -> CloudEvent {
        try UnpackArena.withUnpackArena { allocator, arena throws(EventFormatError) in
            let message = withBytes(bytes) { io__cloudevents__v1__cloud_event__unpack(allocator, bytes.count, $0) }
            guard let message else { throw malformed(bytes, as: ProtobufWireDiagnosis.event) }
            do throws(EventFormatError) {
                return try EventReader(arena: arena).event(message)
            } catch {
                throw locatingUTF8(error, in: bytes, as: ProtobufWireDiagnosis.event)
            }
        }
    }

    /// The error for bytes protobuf-c could not unpack as `schema`, naming the first
    /// malformed field and its byte offset when the wire format shows one.
    private static func malformed(
        _ bytes: UnsafeRawBufferPointer, as schema: ProtobufWireDiagnosis.Schema
    ) -> EventFormatError {
        let prefix = "not a valid \(schema.name) Protobuf message"
        guard let problem = ProtobufWireDiagnosis.diagnose(bytes, as: schema, checkingUTF8: false) else {
            return EventFormatError(.malformed(prefix + " (truncated, or a field with the wrong wire type)"))
        }
        return EventFormatError(.malformed("\(prefix): \(problem)"))
    }

    /// `error` with the field path and byte offset of the first string that is not UTF-8,
    /// when that is what it reports.
    private static func locatingUTF8(
        _ error: EventFormatError, in bytes: UnsafeRawBufferPointer, as schema: ProtobufWireDiagnosis.Schema
    ) -> EventFormatError {
        let isUTF8 =
            error.violations.contains { $0.rule == .invalidUTF8 }
            || { if case .invalidData(let text) = error.reason { text.contains("UTF-8") } else { false } }()
        guard isUTF8, let problem = ProtobufWireDiagnosis.diagnose(bytes, as: schema, checkingUTF8: true) else {
            return error
        }
        var located = error
        located.location = problem.description
        return located
    }

    static func decodeBatch(_ bytes: UnsafeRawBufferPointer) throws(EventFormatError) -> [CloudEvent] {
        try UnpackArena.withUnpackArena { allocator, arena throws(EventFormatError) in
            let batch = withBytes(bytes) { io__cloudevents__v1__cloud_event_batch__unpack(allocator, bytes.count, $0) }
            guard let batch else { throw malformed(bytes, as: ProtobufWireDiagnosis.batch) }
            let reader = EventReader(arena: arena)
            var events: [CloudEvent] = []
            events.reserveCapacity(batch.pointee.n_events)
            for index in 0..<batch.pointee.n_events {
                guard let message = batch.pointee.events[index] else { continue }
                do throws(EventFormatError) {
                    events.append(try reader.event(message))
                } catch var error {
                    error.batchIndex = index
                    throw locatingUTF8(error, in: bytes, as: ProtobufWireDiagnosis.batch)
                }
            }
            return events
        }
    }

    /// The input's address; protobuf-c reads nothing of an empty input, but wants a pointer.
    private static func withBytes<R>(_ bytes: UnsafeRawBufferPointer, _ body: (UnsafePointer<UInt8>) -> R) -> R {
        if let base = bytes.baseAddress { return body(base.assumingMemoryBound(to: UInt8.self)) }
        var empty: UInt8 = 0
        return body(&empty)
    }
}

/// Reads one unpacked `CloudEvent` struct.
private struct EventReader {
    let arena: UnpackArena

    func event(_ message: UnsafeMutablePointer<CEvent>) throws(EventFormatError) -> CloudEvent {
        let specVersion = try self.specVersion(message.pointee.spec_version)
        var violations: [Violation] = []
        // Whether every string read so far is printable ASCII (0x20-0x7E): then none can
        // break the String type's character rules, and validation need not look again.
        var printableASCII = true
        let id = requiredString(message.pointee.id, "id", &violations, &printableASCII)
        let source = requiredString(message.pointee.source, "source", &violations, &printableASCII)
        let type = requiredString(message.pointee.type, "type", &violations, &printableASCII)
        var dataContentType: String?
        var dataSchema: String?
        var subject: String?
        var time: Timestamp?
        var extensions = ExtensionAttributes()

        // 0.3 only: `datacontentencoding` says how text data is encoded; it is not kept.
        var base64 = false
        let count = message.pointee.n_attributes
        // Duplicate keys: a known key is seen once (a bit each); an extension key is compared
        // byte by byte with the extension keys before it in small maps, through a set in
        // large ones (a known key and an extension key never have the same bytes).
        var seenKnownKeys: UInt8 = 0
        var seenNames: Set<String>? = count > 16 ? Set(minimumCapacity: count) : nil
        var extensionKeys = InlineArray<16, UnsafeRawBufferPointer>(repeating: UnsafeRawBufferPointer(start: nil, count: 0))
        var extensionKeyCount = 0
        for index in 0..<count {
            guard let entry = message.pointee.attributes[index] else { continue }
            let key = bytes(ofString: entry.pointee.key)
            let kind = AttributeKey(key, specVersion)
            if kind == .required {
                // id, source, type and specversion have their own fields: a second value.
                throw EventFormatError(.duplicateAttribute(String(decoding: key, as: UTF8.self)))
            }
            if kind != .extension {
                guard seenKnownKeys & kind.bit == 0 else {
                    throw EventFormatError(.duplicateAttribute(String(decoding: key, as: UTF8.self)))
                }
                seenKnownKeys |= kind.bit
            } else if seenNames == nil {
                for previous in 0..<extensionKeyCount where Self.equal(key, extensionKeys[previous]) {
                    throw EventFormatError(.duplicateAttribute(String(decoding: key, as: UTF8.self)))
                }
                extensionKeys[extensionKeyCount] = key  // at most 16 entries in all
                extensionKeyCount += 1
            }
            // A known key's bytes are its name: no String to build or check.
            guard let name = kind.name(specVersion) ?? string(key, &printableASCII) else {
                violations.append(Violation(attribute: String(decoding: key, as: UTF8.self), rule: .invalidUTF8))
                continue
            }
            if kind == .extension, seenNames != nil, !seenNames!.insert(name).inserted {
                throw EventFormatError(.duplicateAttribute(name))
            }
            guard let value = try attributeValue(entry.pointee.value, name, &violations, &printableASCII) else { continue }

            // What `CloudEvent.setAttribute(_:to:)` does for the core attributes, without
            // looking the name up again.
            switch kind {
            case .required:
                break
            case .contentEncoding:
                guard let text = value.stringValue else {
                    violations.append(Violation(attribute: name, rule: .wrongType(expected: .string, actual: value.type)))
                    continue
                }
                guard text.lowercased() == "base64" else {
                    violations.append(Violation(attribute: name, rule: .unsupportedValue(text)))
                    continue
                }
                base64 = true
            case .dataContentType, .dataSchema, .subject:
                guard let text = value.stringValue else {
                    violations.append(Violation(attribute: name, rule: .wrongType(expected: .string, actual: value.type)))
                    continue
                }
                switch kind {
                case .dataContentType: dataContentType = text
                case .dataSchema: dataSchema = text
                default: subject = text
                }
            case .time:
                switch value {
                case .timestamp(let timestamp):
                    time = timestamp
                case .string(let text):
                    do { time = try Timestamp(rfc3339: text) } catch {
                        violations.append(Violation(attribute: name, rule: .invalidTimestamp(text, error)))
                    }
                default:
                    violations.append(Violation(attribute: name, rule: .wrongType(expected: .timestamp, actual: value.type)))
                }
            case .extension:
                // Not `appendUnchecked`: its borrowed parameters are copied into the array,
                // where the setter takes the value owned (callgrind: 320 instructions more).
                extensions[name] = value
            }
        }

        let data = try self.data(message, dataContentType: dataContentType, base64: base64)
        if message.pointee.data_case == IO__CLOUDEVENTS__V1__CLOUD_EVENT__DATA_PROTO_DATA && dataContentType == nil {
            dataContentType = "application/protobuf"
        }

        // The values move into the event (without `consume` each is retained for it and
        // released here).
        let event = CloudEvent(
            id: consume id, source: consume source, type: consume type, specVersion: specVersion,
            dataContentType: consume dataContentType, dataSchema: consume dataSchema, subject: consume subject,
            time: consume time, extensions: consume extensions, data: consume data)
        do {
            // Printable ASCII cannot break the String type's character rules.
            try event.validate(checkingCharacters: !printableASCII, addingTo: violations)
        } catch {
            throw EventFormatError(.invalidEvent(error))
        }
        return event
    }

    /// What a map key means, decided on its bytes.
    private enum AttributeKey {
        /// `id`, `source`, `type`, `specversion`: not allowed in the map.
        case required
        /// `datacontenttype`.
        case dataContentType
        /// `dataschema` (1.0) or `schemaurl` (0.3).
        case dataSchema
        /// `subject`.
        case subject
        /// `time`.
        case time
        /// `datacontentencoding` in 0.3.
        case contentEncoding
        /// Anything else, including the other version's names.
        case `extension`

        init(_ key: UnsafeRawBufferPointer, _ specVersion: SpecVersion) {
            func equals(_ literal: StaticString) -> Bool {
                guard key.count == literal.utf8CodeUnitCount else { return false }
                for index in 0..<key.count where key[index] != literal.utf8Start[index] { return false }
                return true
            }
            switch key.count {
            case 2: self = equals("id") ? .required : .extension
            case 4: self = equals("type") ? .required : equals("time") ? .time : .extension
            case 6: self = equals("source") ? .required : .extension
            case 7: self = equals("subject") ? .subject : .extension
            case 9: self = specVersion == .v0_3 && equals("schemaurl") ? .dataSchema : .extension
            case 10: self = specVersion == .v1_0 && equals("dataschema") ? .dataSchema : .extension
            case 11: self = equals("specversion") ? .required : .extension
            case 15: self = equals("datacontenttype") ? .dataContentType : .extension
            case 19: self = specVersion == .v0_3 && equals("datacontentencoding") ? .contentEncoding : .extension
            default: self = .extension
            }
        }

        /// A bit of its own for each kind but `.required` and `.extension`, which can appear
        /// more than once in a map (and are handled apart).
        var bit: UInt8 {
            switch self {
            case .required, .extension: 0
            case .dataContentType: 1
            case .dataSchema: 2
            case .subject: 4
            case .time: 8
            case .contentEncoding: 16
            }
        }

        /// The attribute's name when the key is a known one (its bytes, as a literal).
        func name(_ specVersion: SpecVersion) -> String? {
            switch self {
            case .required, .extension: nil
            case .dataContentType: "datacontenttype"
            case .dataSchema: specVersion.dataSchemaAttributeName
            case .subject: "subject"
            case .time: "time"
            case .contentEncoding: "datacontentencoding"
            }
        }
    }

    // MARK: Fields

    private func specVersion(_ field: UnsafeMutablePointer<CChar>?) throws(EventFormatError) -> SpecVersion {
        let raw = bytes(ofString: field)
        if raw.isEmpty { throw EventFormatError(.missingSpecVersion) }
        if raw.count == 3, raw[1] == UInt8(ascii: ".") {
            if raw[0] == UInt8(ascii: "1"), raw[2] == UInt8(ascii: "0") { return .v1_0 }
            if raw[0] == UInt8(ascii: "0"), raw[2] == UInt8(ascii: "3") { return .v0_3 }
        }
        guard let text = String(validating: raw, as: UTF8.self) else {
            throw EventFormatError(
                .invalidEvent(
                    CloudEventValidationError(violations: [
                        Violation(attribute: "specversion", rule: .invalidUTF8)
                    ])))
        }
        throw EventFormatError(.unsupportedSpecVersion(text))
    }

    /// The text of a required string field; `""` (reported) when it is not UTF-8. An empty
    /// value is left to `CloudEvent.validate()`, which reports it as empty.
    private func requiredString(
        _ field: UnsafeMutablePointer<CChar>?, _ name: String, _ violations: inout [Violation],
        _ printableASCII: inout Bool
    ) -> String {
        guard let text = string(bytes(ofString: field), &printableASCII) else {
            violations.append(Violation(attribute: name, rule: .invalidUTF8))
            return ""
        }
        return text
    }

    /// The text of a string field; `nil` (reported) when it is not UTF-8.
    private func string(
        _ field: UnsafeMutablePointer<CChar>?, _ name: String, _ violations: inout [Violation],
        _ printableASCII: inout Bool
    ) -> String? {
        guard let text = string(bytes(ofString: field), &printableASCII) else {
            violations.append(Violation(attribute: name, rule: .invalidUTF8))
            return nil
        }
        return text
    }

    /// The exact bytes of a string field as a String, or `nil` when they are not UTF-8
    /// (protobuf-c does not check); clears `printableASCII` unless every byte is 0x20-0x7E.
    ///
    /// Printable ASCII, the common case, is told by one vectorised scan and is valid
    /// UTF-8, so the String is made by the standard library's ASCII fast path; anything else
    /// (embedded U+0000 included) is validated in full.
    private func string(_ bytes: UnsafeRawBufferPointer, _ printableASCII: inout Bool) -> String? {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return "" }
        guard PrintableASCII.contains(only: bytes) else {
            printableASCII = false
            return String(validating: bytes, as: UTF8.self)
        }
        if let common = Self.commonString(bytes) { return common }
        return String(
            decoding: UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: bytes.count), as: UTF8.self)
    }

    /// Common values as string literals, which cost no allocation (`application/json` is
    /// one byte too long to be stored inline).
    private static func commonString(_ bytes: UnsafeRawBufferPointer) -> String? {
        let literal: StaticString = "application/json"
        guard bytes.count == 16 else { return nil }
        let expected = UnsafeRawPointer(literal.utf8Start)
        guard bytes.loadUnaligned(as: UInt64.self) == expected.loadUnaligned(as: UInt64.self),
            bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                == expected.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        else { return nil }
        return "application/json"
    }

    private static func equal(_ lhs: UnsafeRawBufferPointer, _ rhs: UnsafeRawBufferPointer) -> Bool {
        guard lhs.count == rhs.count else { return false }
        guard let left = lhs.baseAddress, let right = rhs.baseAddress else { return true }
        return memcmp(left, right, lhs.count) == 0
    }

    /// The bytes of an unpacked string field (exact length, see ``UnpackArena``).
    private func bytes(ofString field: UnsafeMutablePointer<CChar>?) -> UnsafeRawBufferPointer {
        guard let field else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: field, count: arena.byteCount(ofString: field))
    }

    private static func bytes(_ data: ProtobufCBinaryData) -> [UInt8] {
        guard data.len > 0, let base = data.data else { return [] }
        return Array(UnsafeBufferPointer(start: base, count: data.len))
    }

    // MARK: Attribute values

    /// The typed value of a map entry; `nil` (reported) when a string is not UTF-8 or a
    /// timestamp is out of range.
    ///
    /// - Throws: `EventFormatError.Reason.malformed(_:)` when the value has no type case
    ///   this toolkit knows (none set, or only unknown fields).
    private func attributeValue(
        _ value: UnsafeMutablePointer<CAttributeValue>?, _ name: String, _ violations: inout [Violation],
        _ printableASCII: inout Bool
    ) throws(EventFormatError) -> AttributeValue? {
        let attrCase = value?.pointee.attr_case ?? IO__CLOUDEVENTS__V1__CLOUD_EVENT__CLOUD_EVENT_ATTRIBUTE_VALUE__ATTR__NOT_SET
        guard let value else { throw Self.unknownType(name) }
        switch attrCase {
        case IO__CLOUDEVENTS__V1__CLOUD_EVENT__CLOUD_EVENT_ATTRIBUTE_VALUE__ATTR_CE_BOOLEAN:
            return .boolean(value.pointee.ce_boolean != 0)
        case IO__CLOUDEVENTS__V1__CLOUD_EVENT__CLOUD_EVENT_ATTRIBUTE_VALUE__ATTR_CE_INTEGER:
            return .integer(value.pointee.ce_integer)
        case IO__CLOUDEVENTS__V1__CLOUD_EVENT__CLOUD_EVENT_ATTRIBUTE_VALUE__ATTR_CE_STRING:
            return string(value.pointee.ce_string, name, &violations, &printableASCII).map(AttributeValue.string)
        case IO__CLOUDEVENTS__V1__CLOUD_EVENT__CLOUD_EVENT_ATTRIBUTE_VALUE__ATTR_CE_BYTES:
            return .binary(Self.bytes(value.pointee.ce_bytes))
        case IO__CLOUDEVENTS__V1__CLOUD_EVENT__CLOUD_EVENT_ATTRIBUTE_VALUE__ATTR_CE_URI:
            return string(value.pointee.ce_uri, name, &violations, &printableASCII).map(AttributeValue.uri)
        case IO__CLOUDEVENTS__V1__CLOUD_EVENT__CLOUD_EVENT_ATTRIBUTE_VALUE__ATTR_CE_URI_REF:
            return string(value.pointee.ce_uri_ref, name, &violations, &printableASCII).map(AttributeValue.uriReference)
        case IO__CLOUDEVENTS__V1__CLOUD_EVENT__CLOUD_EVENT_ATTRIBUTE_VALUE__ATTR_CE_TIMESTAMP:
            // An absent sub-message is the default Timestamp, the epoch.
            let seconds = value.pointee.ce_timestamp?.pointee.seconds ?? 0
            let nanos = value.pointee.ce_timestamp?.pointee.nanos ?? 0
            let field =
                ProtobufTimestampRange.contains(seconds: seconds)
                ? "nanos (0-999999999)" : "seconds (years 0001-9999)"
            do {
                guard ProtobufTimestampRange.contains(seconds: seconds) else { throw TimestampError.fieldOutOfRange(field) }
                return .timestamp(try Timestamp(secondsSinceEpoch: seconds, nanosecond: Int(nanos)))
            } catch {
                violations.append(
                    Violation(
                        attribute: name,
                        rule: .invalidTimestamp(
                            "google.protobuf.Timestamp(seconds: \(seconds), nanos: \(nanos))", .fieldOutOfRange(field))))
                return nil
            }
        default:
            throw Self.unknownType(name)
        }
    }

    private static func unknownType(_ name: String) -> EventFormatError {
        EventFormatError(
            .malformed(
                "attribute '\(name)' has no value of a known type (no CloudEventAttributeValue case is set)"))
    }

    // MARK: Data

    private func data(
        _ message: UnsafeMutablePointer<CEvent>, dataContentType: String?, base64: Bool
    ) throws(EventFormatError) -> EventData? {
        switch message.pointee.data_case {
        case IO__CLOUDEVENTS__V1__CLOUD_EVENT__DATA_BINARY_DATA:
            let bytes = Self.bytes(message.pointee.binary_data)
            // JSON sent as bytes (as the Go SDK does); bytes without a content type are
            // never assumed to be JSON.
            if let dataContentType, Self.isJSON(dataContentType), let json = try? RawJSON(validating: bytes) {
                return .json(json)
            }
            return .binary(bytes)

        case IO__CLOUDEVENTS__V1__CLOUD_EVENT__DATA_TEXT_DATA:
            // Read in place; copied into an array only for JSON data, which keeps it.
            let bytes = self.bytes(ofString: message.pointee.text_data)
            if base64 {
                // 0.3 with `datacontentencoding: base64`: the text is Base64 of the data.
                guard let text = String(validating: bytes, as: UTF8.self),
                    case .binary(let decoded)? = try? AttributeValue(canonicalString: text, as: .binary)
                else {
                    throw EventFormatError(
                        .invalidData(
                            "'text_data' is not valid Base64 (RFC 4648, padded), which datacontentencoding: base64 requires"))
                }
                return .binary(decoded)
            }
            if dataContentType.map(Self.isJSON) ?? true, let json = try? RawJSON(validating: Array(bytes)) {
                return .json(json)
            }
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw EventFormatError(.invalidData("'text_data' is not valid UTF-8, which a proto3 string must be"))
            }
            return .text(text)

        case IO__CLOUDEVENTS__V1__CLOUD_EVENT__DATA_PROTO_DATA:
            return .binary(try serializedAny(message.pointee.proto_data))

        default:
            return nil
        }
    }

    /// `MediaType.isJSON(_:)`, answered at once for the common value (which ``string(_:_:)``
    /// gives as a literal, so the comparison is of two identical strings).
    private static func isJSON(_ contentType: String) -> Bool {
        contentType == "application/json" || MediaType.isJSON(contentType)
    }

    /// The `proto_data` message serialized again as a `google.protobuf.Any` (type URL and
    /// value, unknown fields kept).
    private func serializedAny(_ any: UnsafeMutablePointer<CAny>?) throws(EventFormatError) -> [UInt8] {
        guard let any else { return [] }
        let typeURL = bytes(ofString: any.pointee.type_url)
        guard String(validating: typeURL, as: UTF8.self) != nil, !typeURL.contains(0) else {
            throw EventFormatError(.invalidData("the 'type_url' of 'proto_data' is not valid UTF-8 text"))
        }
        let size = google__protobuf__any__get_packed_size(any)
        guard size > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            initialized = google__protobuf__any__pack(any, buffer.baseAddress!)
        }
    }
}
