internal import CCloudEventsProtobuf
import CloudEvents

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Builds the protobuf-c structs of events in a ``BumpAllocator`` for ``ProtobufEncoder``,
/// and counts while doing so what packing needs to know:
/// - ``sizeBound``: at least the packed size of everything built, so that the output can
///   be reserved without `get_packed_size`;
/// - ``needsCharacterCheck``: whether a String-typed attribute has a byte outside
///   printable ASCII (0x20-0x7E), and so needs the String type's character checks.
///
/// Every string is copied into the arena NUL-terminated, as protobuf-c wants it, except
/// attribute names and spec versions that are literals: a `StaticString` literal is stored
/// NUL-terminated, and protobuf-c only reads the structs.
struct StructBuilder {
    /// An upper bound of what one field costs on the wire besides its payload: a tag (one
    /// byte: every field number here is below 16) and a varint length or value (at most 10
    /// bytes), rounded up.
    static let fieldOverhead = 16

    private let arena: UnsafeMutablePointer<BumpAllocator>
    let jsonDataField: ProtobufEventFormat.JSONDataField
    /// At least the packed size of every field built so far (see ``fieldOverhead``).
    var sizeBound = 0
    /// Set when a String-typed attribute has a byte outside 0x20-0x7E: printable ASCII
    /// cannot break the String type's character rules, anything else must be checked.
    var needsCharacterCheck = false

    /// Runs `body` with a builder whose structs live until `body` returns or throws.
    static func withBuilder<R, E: Error>(
        jsonDataField: ProtobufEventFormat.JSONDataField, _ body: (inout StructBuilder) throws(E) -> R
    ) throws(E) -> R {
        try BumpAllocator.withBumpAllocator { arena throws(E) in
            try withUnsafeMutablePointer(to: &arena) { arena throws(E) in
                var builder = StructBuilder(arena: arena, jsonDataField: jsonDataField)
                return try body(&builder)
            }
        }
    }

    /// Uninitialised memory for `count` values of `type` in the arena.
    func allocate<T>(_ type: T.Type, count: Int = 1) -> UnsafeMutablePointer<T> {
        arena.pointee.allocate(type, count: count)
    }

    // MARK: The event

    /// The `CloudEvent` struct of a validated event (all but the String type's characters,
    /// see ``needsCharacterCheck``).
    ///
    /// - Throws: `EventFormatError.Reason.invalidEvent(_:)` for a timestamp outside years
    ///   0001-9999, `EventFormatError.Reason.invalidData(_:)` for text data with U+0000.
    mutating func event(_ event: borrowing CloudEvent) throws(EventFormatError) -> UnsafeMutablePointer<CEvent> {
        let message = allocate(CEvent.self)
        io__cloudevents__v1__cloud_event__init(message)
        message.pointee.spec_version = event.specVersion == .v1_0 ? literal("1.0") : literal("0.3")
        message.pointee.id = string(event.id, isStringType: true)
        message.pointee.source = string(event.source, isStringType: false)
        message.pointee.type = string(event.type, isStringType: true)

        // At most the four optional core attributes, then the extensions.
        var map = MapWriter(
            entries: allocate(
                UnsafeMutablePointer<CAttributeEntry>?.self, count: 4 + event.extensions.count))
        if let dataContentType = event.dataContentType {
            map.addString(literal("datacontenttype"), string(dataContentType, isStringType: true), .ce_string, &self)
        } else if impliesJSONContentType(event) {
            map.addString(literal("datacontenttype"), literal("application/json"), .ce_string, &self)
        }
        if let dataSchema = event.dataSchema {
            if event.specVersion == .v1_0 {
                map.addString(literal("dataschema"), string(dataSchema, isStringType: false), .ce_uri, &self)
            } else {
                map.addString(literal("schemaurl"), string(dataSchema, isStringType: false), .ce_uri_ref, &self)
            }
        }
        if let subject = event.subject {
            map.addString(literal("subject"), string(subject, isStringType: true), .ce_string, &self)
        }
        if let time = event.time { try map.addTimestamp(literal("time"), "time", time, &self) }
        // Extension names are `[a-z0-9]+` (validated): no character check.
        for (name, value) in event.extensions {
            try map.add(string(name, isStringType: false), name, value, &self)
        }
        message.pointee.n_attributes = map.count
        message.pointee.attributes = map.entries

        switch event.data {
        case nil:
            message.pointee.data_case = IO__CLOUDEVENTS__V1__CLOUD_EVENT__DATA__NOT_SET
        case .binary(let bytes):
            message.pointee.data_case = IO__CLOUDEVENTS__V1__CLOUD_EVENT__DATA_BINARY_DATA
            message.pointee.binary_data = binaryData(bytes)
        case .json(let json):
            switch jsonDataField {
            case .text:
                message.pointee.data_case = IO__CLOUDEVENTS__V1__CLOUD_EVENT__DATA_TEXT_DATA
                // Valid JSON never contains a raw U+0000, so this cannot fail.
                guard let text = json.bytes.withUnsafeBytes({ checkedString($0) }) else {
                    throw EventFormatError(.invalidData("JSON data contains U+0000"))
                }
                message.pointee.text_data = text
            case .binary:
                message.pointee.data_case = IO__CLOUDEVENTS__V1__CLOUD_EVENT__DATA_BINARY_DATA
                message.pointee.binary_data = binaryData(json.bytes)
            }
        case .text(let text):
            message.pointee.data_case = IO__CLOUDEVENTS__V1__CLOUD_EVENT__DATA_TEXT_DATA
            guard let text = withUTF8(text, { checkedString($0) }) else {
                throw EventFormatError(
                    .invalidData(
                        "text data contains U+0000, which text_data cannot carry (protobuf-c strings are NUL-terminated); use binary data"
                    ))
            }
            message.pointee.text_data = text
        }
        return message
    }

    /// Whether JSON data goes into `binary_data` of an event without `datacontenttype`:
    /// then the type JSON data implies, `application/json`, is written out (as the JSON
    /// format asks when an event moves to another format), because bytes without a
    /// content type are never read back as JSON.
    private func impliesJSONContentType(_ event: borrowing CloudEvent) -> Bool {
        guard jsonDataField == .binary, event.dataContentType == nil, case .json? = event.data else { return false }
        return true
    }

    // MARK: Strings and bytes

    /// A literal as a protobuf-c string: a `StaticString` literal is stored with a NUL
    /// after it, and protobuf-c does not write through the (non-`const`) pointer.
    private mutating func literal(_ text: StaticString) -> UnsafeMutablePointer<CChar> {
        assert(text.hasPointerRepresentation && text.utf8Start[text.utf8CodeUnitCount] == 0)
        sizeBound += Self.fieldOverhead + text.utf8CodeUnitCount
        return UnsafeMutableRawPointer(mutating: text.utf8Start).assumingMemoryBound(to: CChar.self)
    }

    /// A NUL-terminated copy of an attribute's text. A validated attribute contains no
    /// U+0000: the String type excludes control characters, URIs and names have no room
    /// for them. The String type's characters are only checked when `isStringType` and
    /// the text is not printable ASCII (see ``needsCharacterCheck``), which the encoder
    /// then does before packing.
    private mutating func string(_ text: String, isStringType: Bool) -> UnsafeMutablePointer<CChar> {
        // The closure captures the arena, not `self` (inout), which keeps it small.
        let arena = self.arena
        let (pointer, count, printable) = withUTF8(text) { utf8 in
            (Self.cString(copying: utf8, in: arena), utf8.count, !isStringType || PrintableASCII.contains(only: utf8))
        }
        sizeBound += Self.fieldOverhead + count
        if !printable { needsCharacterCheck = true }
        return pointer
    }

    /// A NUL-terminated copy of `bytes`, or `nil` when they contain a zero byte, which a C
    /// string cannot carry (for data, which validation does not look at).
    private mutating func checkedString(_ bytes: UnsafeRawBufferPointer) -> UnsafeMutablePointer<CChar>? {
        if let base = bytes.baseAddress, !bytes.isEmpty, memchr(base, 0, bytes.count) != nil { return nil }
        return cString(copying: bytes)
    }

    private mutating func cString(copying bytes: UnsafeRawBufferPointer) -> UnsafeMutablePointer<CChar> {
        sizeBound += Self.fieldOverhead + bytes.count
        return Self.cString(copying: bytes, in: arena)
    }

    @inline(__always)
    private static func cString(
        copying bytes: UnsafeRawBufferPointer, in arena: UnsafeMutablePointer<BumpAllocator>
    ) -> UnsafeMutablePointer<CChar> {
        let pointer = arena.pointee.allocate(CChar.self, count: bytes.count + 1)
        if let source = bytes.baseAddress {
            UnsafeMutableRawPointer(pointer).copyMemory(from: source, byteCount: bytes.count)
        }
        pointer[bytes.count] = 0
        return pointer
    }

    /// A copy of `bytes` as a protobuf-c `bytes` value.
    private mutating func binaryData(_ bytes: [UInt8]) -> ProtobufCBinaryData {
        sizeBound += Self.fieldOverhead + bytes.count
        let pointer = allocate(UInt8.self, count: bytes.count)
        bytes.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { pointer.update(from: base, count: source.count) }
        }
        return ProtobufCBinaryData(len: bytes.count, data: pointer)
    }

    /// `text`'s UTF-8, without copying a native string.
    @inline(__always)
    private func withUTF8<R>(_ text: String, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        if let result = text.utf8.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) { return result }
        var copy = text  // a bridged or lazily-stored string: make it native, then read it
        return copy.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }

    // MARK: The attributes map

    /// Fills the `attributes` array, one entry and value struct per attribute.
    private struct MapWriter {
        let entries: UnsafeMutablePointer<UnsafeMutablePointer<CAttributeEntry>?>
        var count = 0

        /// Appends an entry with key `key` and returns its (initialised, empty) value.
        private mutating func addEntry(
            _ key: UnsafeMutablePointer<CChar>, _ builder: inout StructBuilder
        ) -> UnsafeMutablePointer<CAttributeValue> {
            let entry = builder.allocate(CAttributeEntry.self)
            io__cloudevents__v1__cloud_event__attributes_entry__init(entry)
            let value = builder.allocate(CAttributeValue.self)
            io__cloudevents__v1__cloud_event__cloud_event_attribute_value__init(value)
            entry.pointee.key = key
            entry.pointee.value = value
            entries[count] = entry
            count += 1
            // The entry (in the map field) and its value field; the key and the value's
            // case were counted as they were built.
            builder.sizeBound += 2 * StructBuilder.fieldOverhead
            return value
        }

        /// A String, URI or URI-reference (`ce_string`, `ce_uri`, `ce_uri_ref`).
        mutating func addString(
            _ key: UnsafeMutablePointer<CChar>, _ text: UnsafeMutablePointer<CChar>, _ stringCase: StringCase,
            _ builder: inout StructBuilder
        ) {
            let value = addEntry(key, &builder)
            switch stringCase {
            case .ce_string:
                value.pointee.attr_case = IO__CLOUDEVENTS__V1__CLOUD_EVENT__CLOUD_EVENT_ATTRIBUTE_VALUE__ATTR_CE_STRING
                value.pointee.ce_string = text
            case .ce_uri:
                value.pointee.attr_case = IO__CLOUDEVENTS__V1__CLOUD_EVENT__CLOUD_EVENT_ATTRIBUTE_VALUE__ATTR_CE_URI
                value.pointee.ce_uri = text
            case .ce_uri_ref:
                value.pointee.attr_case = IO__CLOUDEVENTS__V1__CLOUD_EVENT__CLOUD_EVENT_ATTRIBUTE_VALUE__ATTR_CE_URI_REF
                value.pointee.ce_uri_ref = text
            }
        }

        /// A Timestamp (`ce_timestamp`), in UTC seconds and nanoseconds.
        ///
        /// - Throws: when the instant is outside years 0001-9999, which
        ///   `google.protobuf.Timestamp` cannot carry.
        mutating func addTimestamp(
            _ key: UnsafeMutablePointer<CChar>, _ name: String, _ time: Timestamp, _ builder: inout StructBuilder
        ) throws(EventFormatError) {
            let seconds = time.secondsSinceEpoch
            guard ProtobufTimestampRange.contains(seconds: seconds) else {
                throw EventFormatError(
                    .invalidEvent(
                        CloudEventValidationError(violations: [
                            Violation(
                                attribute: name,
                                rule: .invalidTimestamp(time.description, .fieldOutOfRange("year (Protobuf: 0001-9999 in UTC)")))
                        ])))
            }
            let value = addEntry(key, &builder)
            let timestamp = builder.allocate(CTimestamp.self)
            google__protobuf__timestamp__init(timestamp)
            timestamp.pointee.seconds = seconds
            timestamp.pointee.nanos = Int32(truncatingIfNeeded: time.nanosecond)
            value.pointee.attr_case = IO__CLOUDEVENTS__V1__CLOUD_EVENT__CLOUD_EVENT_ATTRIBUTE_VALUE__ATTR_CE_TIMESTAMP
            value.pointee.ce_timestamp = timestamp
            builder.sizeBound += 3 * StructBuilder.fieldOverhead  // ce_timestamp, seconds, nanos
        }

        /// Any attribute value, in the case of its type.
        mutating func add(
            _ key: UnsafeMutablePointer<CChar>, _ name: String, _ attributeValue: AttributeValue,
            _ builder: inout StructBuilder
        ) throws(EventFormatError) {
            switch attributeValue {
            case .string(let text): addString(key, builder.string(text, isStringType: true), .ce_string, &builder)
            case .uri(let text): addString(key, builder.string(text, isStringType: false), .ce_uri, &builder)
            case .uriReference(let text): addString(key, builder.string(text, isStringType: false), .ce_uri_ref, &builder)
            case .timestamp(let time): try addTimestamp(key, name, time, &builder)
            case .boolean(let flag):
                let value = addEntry(key, &builder)
                value.pointee.attr_case = IO__CLOUDEVENTS__V1__CLOUD_EVENT__CLOUD_EVENT_ATTRIBUTE_VALUE__ATTR_CE_BOOLEAN
                value.pointee.ce_boolean = flag ? 1 : 0
                builder.sizeBound += StructBuilder.fieldOverhead
            case .integer(let integer):
                let value = addEntry(key, &builder)
                value.pointee.attr_case = IO__CLOUDEVENTS__V1__CLOUD_EVENT__CLOUD_EVENT_ATTRIBUTE_VALUE__ATTR_CE_INTEGER
                value.pointee.ce_integer = integer
                builder.sizeBound += StructBuilder.fieldOverhead
            case .binary(let bytes):
                let value = addEntry(key, &builder)
                value.pointee.attr_case = IO__CLOUDEVENTS__V1__CLOUD_EVENT__CLOUD_EVENT_ATTRIBUTE_VALUE__ATTR_CE_BYTES
                value.pointee.ce_bytes = builder.binaryData(bytes)
            }
        }

        /// The string cases of `CloudEventAttributeValue`.
        enum StringCase {
            case ce_string, ce_uri, ce_uri_ref
        }
    }
}

/// Allocation of the structs, strings and bytes that protobuf-c packs.
extension BumpAllocator {
    /// Uninitialised, correctly aligned memory for `count` values of `type`.
    mutating func allocate<T>(_ type: T.Type, count: Int = 1) -> UnsafeMutablePointer<T> {
        allocate(byteCount: MemoryLayout<T>.stride * count, alignment: MemoryLayout<T>.alignment)
            .bindMemory(to: T.self, capacity: count)
    }
}
