internal import CCloudEventsProtobuf
import CloudEvents
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Builds the protobuf-c structs for (already validated) events with a ``BumpAllocator``
/// and packs them straight into the output array.
///
/// Memory: every struct, string and byte buffer comes from the bump allocator (on the stack
/// for a typical event) and is released when the call returns or throws; nothing outlives
/// the call. protobuf-c only reads the structs while packing.
struct ProtobufEncoder {
    var jsonDataField: ProtobufEventFormat.JSONDataField

    func append(_ event: borrowing CloudEvent, to output: inout [UInt8]) throws(EventFormatError) {
        // Through a pointer, so that the closures do not copy the event (a retain of every field).
        try withUnsafePointer(to: event) { event throws(EventFormatError) in
            try BumpAllocator.withBumpAllocator { arena throws(EventFormatError) in
                let message = try build(event, in: &arena)
                let size = io__cloudevents__v1__cloud_event__get_packed_size(message)
                Self.appendPacked(size: size, to: &output) { io__cloudevents__v1__cloud_event__pack(message, $0) }
            }
        }
    }

    func appendBatch(_ events: [CloudEvent], to output: inout [UInt8]) throws(EventFormatError) {
        try BumpAllocator.withBumpAllocator { arena throws(EventFormatError) in
            let batch = arena.allocate(CBatch.self)
            io__cloudevents__v1__cloud_event_batch__init(batch)
            if !events.isEmpty {
                let pointers = arena.allocate(UnsafeMutablePointer<CEvent>?.self, count: events.count)
                try events.withUnsafeBufferPointer { events throws(EventFormatError) in
                    for index in events.indices {
                        do throws(EventFormatError) {
                            pointers[index] = try build(events.baseAddress! + index, in: &arena)
                        } catch var error {
                            error.batchIndex = index
                            throw error
                        }
                    }
                }
                batch.pointee.n_events = events.count
                batch.pointee.events = pointers
            }
            let size = io__cloudevents__v1__cloud_event_batch__get_packed_size(batch)
            Self.appendPacked(size: size, to: &output) { io__cloudevents__v1__cloud_event_batch__pack(batch, $0) }
        }
    }

    // MARK: Building the structs

    private func build(_ event: UnsafePointer<CloudEvent>, in arena: inout BumpAllocator) throws(EventFormatError) -> UnsafeMutablePointer<CEvent> {
        let message = arena.allocate(CEvent.self)
        io__cloudevents__v1__cloud_event__init(message)
        message.pointee.spec_version = arena.cString(event.pointee.specVersion.rawValue)
        message.pointee.id = arena.cString(event.pointee.id)
        message.pointee.source = arena.cString(event.pointee.source)
        message.pointee.type = arena.cString(event.pointee.type)

        // At most the four optional core attributes, then the extensions.
        var map = MapWriter(entries: arena.allocate(
            UnsafeMutablePointer<CAttributeEntry>?.self, count: 4 + event.pointee.extensions.count))
        if let dataContentType = event.pointee.dataContentType {
            map.addString("datacontenttype", dataContentType, .ce_string, in: &arena)
        } else if impliesJSONContentType(event) {
            map.addString("datacontenttype", "application/json", .ce_string, in: &arena)
        }
        if let dataSchema = event.pointee.dataSchema {
            if event.pointee.specVersion == .v1_0 {
                map.addString("dataschema", dataSchema, .ce_uri, in: &arena)
            } else {
                map.addString("schemaurl", dataSchema, .ce_uri_ref, in: &arena)
            }
        }
        if let subject = event.pointee.subject { map.addString("subject", subject, .ce_string, in: &arena) }
        if let time = event.pointee.time { try map.addTimestamp("time", time, in: &arena) }
        for (name, value) in event.pointee.extensions { try map.add(name, value, in: &arena) }
        message.pointee.n_attributes = map.count
        message.pointee.attributes = map.entries

        switch event.pointee.data {
        case nil:
            message.pointee.data_case = IO__CLOUDEVENTS__V1__CLOUD_EVENT__DATA__NOT_SET
        case .binary(let bytes):
            message.pointee.data_case = IO__CLOUDEVENTS__V1__CLOUD_EVENT__DATA_BINARY_DATA
            message.pointee.binary_data = arena.binaryData(bytes)
        case .json(let json):
            switch jsonDataField {
            case .text:
                message.pointee.data_case = IO__CLOUDEVENTS__V1__CLOUD_EVENT__DATA_TEXT_DATA
                // Valid JSON never contains a raw U+0000, so this cannot fail.
                guard let text = arena.checkedCString(utf8: json.bytes) else {
                    throw EventFormatError(.invalidData("JSON data contains U+0000"))
                }
                message.pointee.text_data = text
            case .binary:
                message.pointee.data_case = IO__CLOUDEVENTS__V1__CLOUD_EVENT__DATA_BINARY_DATA
                message.pointee.binary_data = arena.binaryData(json.bytes)
            }
        case .text(let text):
            message.pointee.data_case = IO__CLOUDEVENTS__V1__CLOUD_EVENT__DATA_TEXT_DATA
            guard let text = arena.checkedCString(text) else {
                throw EventFormatError(.invalidData(
                    "text data contains U+0000, which text_data cannot carry (protobuf-c strings are NUL-terminated); use binary data"))
            }
            message.pointee.text_data = text
        }
        return message
    }

    /// Fills the `attributes` array, one entry and value struct per attribute.
    private struct MapWriter {
        let entries: UnsafeMutablePointer<UnsafeMutablePointer<CAttributeEntry>?>
        var count = 0

        /// Appends an entry named `name` and returns its (initialised, empty) value.
        private mutating func addEntry(_ name: String, in arena: inout BumpAllocator) -> UnsafeMutablePointer<CAttributeValue> {
            let entry = arena.allocate(CAttributeEntry.self)
            io__cloudevents__v1__cloud_event__attributes_entry__init(entry)
            let value = arena.allocate(CAttributeValue.self)
            io__cloudevents__v1__cloud_event__cloud_event_attribute_value__init(value)
            entry.pointee.key = arena.cString(name)
            entry.pointee.value = value
            entries[count] = entry
            count += 1
            return value
        }

        /// A String, URI or URI-reference (`ce_string`, `ce_uri`, `ce_uri_ref`).
        mutating func addString(_ name: String, _ text: String, _ stringCase: StringCase, in arena: inout BumpAllocator) {
            let value = addEntry(name, in: &arena)
            let pointer = arena.cString(text)
            switch stringCase {
            case .ce_string:
                value.pointee.attr_case = IO__CLOUDEVENTS__V1__CLOUD_EVENT__CLOUD_EVENT_ATTRIBUTE_VALUE__ATTR_CE_STRING
                value.pointee.ce_string = pointer
            case .ce_uri:
                value.pointee.attr_case = IO__CLOUDEVENTS__V1__CLOUD_EVENT__CLOUD_EVENT_ATTRIBUTE_VALUE__ATTR_CE_URI
                value.pointee.ce_uri = pointer
            case .ce_uri_ref:
                value.pointee.attr_case = IO__CLOUDEVENTS__V1__CLOUD_EVENT__CLOUD_EVENT_ATTRIBUTE_VALUE__ATTR_CE_URI_REF
                value.pointee.ce_uri_ref = pointer
            }
        }

        /// A Timestamp (`ce_timestamp`), in UTC seconds and nanoseconds.
        ///
        /// - Throws: when the instant is outside years 0001-9999, which
        ///   `google.protobuf.Timestamp` cannot carry.
        mutating func addTimestamp(_ name: String, _ time: Timestamp, in arena: inout BumpAllocator) throws(EventFormatError) {
            let seconds = time.secondsSinceEpoch
            guard ProtobufTimestampRange.contains(seconds: seconds) else {
                throw EventFormatError(.invalidEvent(CloudEventValidationError(violations: [Violation(
                    attribute: name,
                    rule: .invalidTimestamp(time.description, .fieldOutOfRange("year (Protobuf: 0001-9999 in UTC)")))])))
            }
            let value = addEntry(name, in: &arena)
            let timestamp = arena.allocate(CTimestamp.self)
            google__protobuf__timestamp__init(timestamp)
            timestamp.pointee.seconds = seconds
            timestamp.pointee.nanos = Int32(truncatingIfNeeded: time.nanosecond)
            value.pointee.attr_case = IO__CLOUDEVENTS__V1__CLOUD_EVENT__CLOUD_EVENT_ATTRIBUTE_VALUE__ATTR_CE_TIMESTAMP
            value.pointee.ce_timestamp = timestamp
        }

        /// Any attribute value, in the case of its type.
        mutating func add(_ name: String, _ attributeValue: AttributeValue, in arena: inout BumpAllocator) throws(EventFormatError) {
            switch attributeValue {
            case .string(let text): addString(name, text, .ce_string, in: &arena)
            case .uri(let text): addString(name, text, .ce_uri, in: &arena)
            case .uriReference(let text): addString(name, text, .ce_uri_ref, in: &arena)
            case .timestamp(let time): try addTimestamp(name, time, in: &arena)
            case .boolean(let flag):
                let value = addEntry(name, in: &arena)
                value.pointee.attr_case = IO__CLOUDEVENTS__V1__CLOUD_EVENT__CLOUD_EVENT_ATTRIBUTE_VALUE__ATTR_CE_BOOLEAN
                value.pointee.ce_boolean = flag ? 1 : 0
            case .integer(let integer):
                let value = addEntry(name, in: &arena)
                value.pointee.attr_case = IO__CLOUDEVENTS__V1__CLOUD_EVENT__CLOUD_EVENT_ATTRIBUTE_VALUE__ATTR_CE_INTEGER
                value.pointee.ce_integer = integer
            case .binary(let bytes):
                let value = addEntry(name, in: &arena)
                value.pointee.attr_case = IO__CLOUDEVENTS__V1__CLOUD_EVENT__CLOUD_EVENT_ATTRIBUTE_VALUE__ATTR_CE_BYTES
                value.pointee.ce_bytes = arena.binaryData(bytes)
            }
        }

        /// The string cases of `CloudEventAttributeValue`.
        enum StringCase {
            case ce_string, ce_uri, ce_uri_ref
        }
    }

    /// Whether JSON data goes into `binary_data` of an event without `datacontenttype`:
    /// then the type JSON data implies, `application/json`, is written out (as the JSON
    /// format asks when an event moves to another format), because bytes without a
    /// content type are never read back as JSON.
    private func impliesJSONContentType(_ event: UnsafePointer<CloudEvent>) -> Bool {
        guard jsonDataField == .binary, event.pointee.dataContentType == nil, case .json? = event.pointee.data else { return false }
        return true
    }

    // MARK: Output

    /// Appends `size` bytes that `pack` writes (and returns the count of) to `output`,
    /// without an intermediate buffer.
    private static func appendPacked(size: Int, to output: inout [UInt8], _ pack: (UnsafeMutablePointer<UInt8>) -> Int) {
        guard size > 0 else { return }
        if output.isEmpty && output.capacity < size {
            output = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
                let written = pack(buffer.baseAddress!)
                precondition(written == size, "protobuf-c packed \(written) bytes, expected \(size)")
                initialized = size
            }
            return
        }
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: size))
        output.withUnsafeMutableBufferPointer { buffer in
            let written = pack(buffer.baseAddress! + start)
            precondition(written == size, "protobuf-c packed \(written) bytes, expected \(size)")
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

    /// A NUL-terminated copy of `text`, an attribute value that `CloudEvent.validate()`
    /// accepted and so contains no U+0000 (the String type excludes control characters,
    /// URIs and names have no room for them).
    mutating func cString(_ text: String) -> UnsafeMutablePointer<CChar> {
        var text = text
        return text.withUTF8 { utf8 in
            assert(!Self.containsNUL(UnsafeRawBufferPointer(utf8)), "validated attributes contain no U+0000")
            return cString(copying: UnsafeRawBufferPointer(utf8))
        }
    }

    /// A NUL-terminated copy of `text`, or `nil` when it contains U+0000, which a C string
    /// cannot carry (for data, which nothing else checks).
    mutating func checkedCString(_ text: String) -> UnsafeMutablePointer<CChar>? {
        var text = text
        return text.withUTF8 { utf8 in
            guard !Self.containsNUL(UnsafeRawBufferPointer(utf8)) else { return nil }
            return cString(copying: UnsafeRawBufferPointer(utf8))
        }
    }

    /// A NUL-terminated copy of UTF-8 `bytes`, or `nil` when they contain a zero byte.
    mutating func checkedCString(utf8 bytes: [UInt8]) -> UnsafeMutablePointer<CChar>? {
        bytes.withUnsafeBytes { raw in
            guard !Self.containsNUL(raw) else { return nil }
            return cString(copying: raw)
        }
    }

    private static func containsNUL(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return false }
        return memchr(base, 0, bytes.count) != nil
    }

    private mutating func cString(copying bytes: UnsafeRawBufferPointer) -> UnsafeMutablePointer<CChar> {
        let pointer = allocate(CChar.self, count: bytes.count + 1)
        if let source = bytes.baseAddress {
            UnsafeMutableRawPointer(pointer).copyMemory(from: source, byteCount: bytes.count)
        }
        pointer[bytes.count] = 0
        return pointer
    }

    /// A copy of `bytes` as a protobuf-c `bytes` value.
    mutating func binaryData(_ bytes: [UInt8]) -> ProtobufCBinaryData {
        let pointer = allocate(UInt8.self, count: bytes.count)
        bytes.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { pointer.update(from: base, count: source.count) }
        }
        return ProtobufCBinaryData(len: bytes.count, data: pointer)
    }
}
