import CloudEvents

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The format's encoder: writes the `io.cloudevents.v1.CloudEvent` message of an event
/// itself, in two passes (size, then write through a raw pointer into space reserved once),
/// without building protobuf-c structs.
///
/// Its output is byte for byte what protobuf-c 1.x packs for the structs
/// ``ProtobufCEncoder`` builds (the tests compare the two on the conformance corpus and on
/// generated events), which means following protobuf-c where the Protobuf encoding leaves a
/// choice:
/// - fields in field-number order: `id`, `source`, `spec_version`, `type`, the
///   `attributes` entries, then the data field;
/// - a proto3 singular field (`id`, `source`, `type`, a map entry's `key`, a Timestamp's
///   `seconds` and `nanos`) is left out when it is empty or zero; a oneof case is written
///   even when empty (`ce_boolean: false`, `ce_integer: 0`, empty `ce_string`, `ce_bytes`,
///   `binary_data`, `text_data`);
/// - map entries in this order: `datacontenttype` (or the `application/json` JSON data
///   implies when it goes into `binary_data`), `dataschema` (`schemaurl` in 0.3), `subject`,
///   `time`, then the extensions in their order;
/// - a negative `ce_integer` as a ten-byte varint (sign-extended to 64 bits), lengths as
///   minimal varints.
///
/// Validation is the protobuf-c encoder's: every rule but the String type's characters
/// first; the sizing pass scans each String-typed value once for printable ASCII, and only
/// an event with another byte in one is validated again in full.
struct ProtobufEncoder {
    var jsonDataField: ProtobufEventFormat.JSONDataField

    func append(_ event: borrowing CloudEvent, to output: inout [UInt8]) throws(EventFormatError) {
        do {
            try event.validate(checkingCharacters: false)
        } catch {
            // Report every violation, the characters included, as validate() does.
            try Self.validate(event)
            throw EventFormatError(.invalidEvent(error))
        }
        let plan: Plan
        do throws(EventFormatError) {
            plan = try Self.plan(event, jsonDataField: jsonDataField)
        } catch {
            // A broken rule is reported before what only Protobuf cannot carry.
            try Self.validate(event)
            throw error
        }
        if plan.needsCharacterCheck { try Self.validate(event) }
        let jsonDataField = self.jsonDataField
        // `write` reads the event through a pointer: capturing the event in the closure, or
        // passing `pointee` on, copies the whole struct (a retain and a release of every
        // string in it), which profiles showed as a tenth of the encode.
        withUnsafePointer(to: event) { event in
            ProtobufWireWriter.append(to: &output, count: plan.size) { writer in
                Self.write(event, time: plan.time, jsonDataField: jsonDataField, to: &writer)
            }
        }
    }

    /// The batch is validated event by event in full first, so that the first invalid
    /// event is the one named (batches are not the hot path).
    func appendBatch(_ events: [CloudEvent], to output: inout [UInt8]) throws(EventFormatError) {
        for index in events.indices {
            do throws(EventFormatError) {
                try Self.validate(events[index])
            } catch var error {
                error.batchIndex = index
                throw error
            }
        }
        var sizes = [Int]()
        sizes.reserveCapacity(events.count)
        var total = 0
        for index in events.indices {
            do throws(EventFormatError) {
                let size = try Self.plan(events[index], jsonDataField: jsonDataField).size
                sizes.append(size)
                total += ProtobufWireWriter.lengthDelimitedSize(size)
            } catch var error {
                error.batchIndex = index
                throw error
            }
        }
        guard total > 0 else { return }  // an empty batch is an empty message: no bytes
        let jsonDataField = self.jsonDataField
        events.withUnsafeBufferPointer { events in
            ProtobufWireWriter.append(to: &output, count: total) { writer in
                for index in events.indices {
                    writer.writeTag(FieldTag.batchEvents, length: sizes[index])
                    Self.write(events.baseAddress! + index, time: nil, jsonDataField: jsonDataField, to: &writer)
                }
            }
        }
    }

    private static func validate(_ event: borrowing CloudEvent) throws(EventFormatError) {
        do { try event.validate() } catch { throw EventFormatError(.invalidEvent(error)) }
    }

    // MARK: Sizing

    /// What the first pass learned.
    private struct Plan {
        /// The message's exact size.
        var size = 0
        /// Whether a String-typed value has a byte outside printable ASCII (0x20-0x7E) and
        /// so needs the String type's character checks.
        var needsCharacterCheck = false
        /// `time` in seconds and nanoseconds, as written (computing the seconds from the
        /// calendar fields is not free).
        var time: (seconds: Int64, nanos: Int)?

        /// Sizes a String-typed value (`ce_string` and the `id` and `type` fields), noting
        /// whether its characters need checking.
        mutating func addStringType(_ text: String) -> Int {
            let count = withUTF8Bytes(text) { utf8 in
                if !PrintableASCII.contains(only: utf8) { needsCharacterCheck = true }
                return utf8.count
            }
            return count
        }
    }

    /// Sizes the message of an event validated but for the String type's characters.
    ///
    /// - Throws: `EventFormatError.Reason.invalidEvent(_:)` for a timestamp outside years
    ///   0001-9999, `EventFormatError.Reason.invalidData(_:)` for text data with U+0000
    ///   (as protobuf-c, which carries strings NUL-terminated, would need).
    private static func plan(
        _ event: borrowing CloudEvent, jsonDataField: ProtobufEventFormat.JSONDataField
    ) throws(EventFormatError) -> Plan {
        var plan = Plan()
        var size = Wire.singular(plan.addStringType(event.id))
        size += Wire.singular(event.source.utf8.count)
        size += 5  // spec_version: "1.0" or "0.3"
        size += Wire.singular(plan.addStringType(event.type))

        if let dataContentType = event.dataContentType {
            size += Wire.entry(keyCount: 15, valueSize: Wire.lengthDelimited(plan.addStringType(dataContentType)))
        } else if impliesJSONContentType(event, jsonDataField) {
            size += Wire.entry(keyCount: 15, valueSize: Wire.lengthDelimited(16))
        }
        if let dataSchema = event.dataSchema {
            let keyCount = event.specVersion == .v1_0 ? 10 : 9
            size += Wire.entry(keyCount: keyCount, valueSize: Wire.lengthDelimited(dataSchema.utf8.count))
        }
        if let subject = event.subject {
            size += Wire.entry(keyCount: 7, valueSize: Wire.lengthDelimited(plan.addStringType(subject)))
        }
        if let time = event.time {
            let seconds = try checkedSeconds(time, "time")
            plan.time = (seconds, time.nanosecond)
            size += Wire.entry(
                keyCount: 4, valueSize: Wire.lengthDelimited(Wire.timestampSize(seconds: seconds, nanos: time.nanosecond)))
        }
        for (name, value) in event.extensions {
            let valueSize: Int
            switch value {
            case .string(let text): valueSize = Wire.lengthDelimited(plan.addStringType(text))
            case .timestamp(let time):
                let seconds = try checkedSeconds(time, name)
                valueSize = Wire.lengthDelimited(Wire.timestampSize(seconds: seconds, nanos: time.nanosecond))
            default: valueSize = Wire.valueSize(value)
            }
            size += Wire.entry(keyCount: name.utf8.count, valueSize: valueSize)
        }

        switch event.data {
        case nil:
            break
        case .binary(let bytes):
            size += Wire.lengthDelimited(bytes.count)
        case .json(let json):
            if jsonDataField == .text {
                // Valid JSON never contains a raw U+0000, so this cannot fail.
                guard !json.bytes.withUnsafeBytes(containsNUL) else {
                    throw EventFormatError(.invalidData("JSON data contains U+0000"))
                }
            }
            size += Wire.lengthDelimited(json.bytes.count)
        case .text(let text):
            guard !withUTF8Bytes(text, containsNUL) else {
                throw EventFormatError(
                    .invalidData(
                        "text data contains U+0000, which text_data cannot carry (protobuf-c strings are NUL-terminated); use binary data"
                    ))
            }
            size += Wire.lengthDelimited(text.utf8.count)
        }
        plan.size = size
        return plan
    }

    /// The seconds since the epoch of `time`, as `google.protobuf.Timestamp` carries them.
    ///
    /// - Throws: when the instant is outside years 0001-9999, which
    ///   `google.protobuf.Timestamp` cannot carry.
    private static func checkedSeconds(_ time: Timestamp, _ name: String) throws(EventFormatError) -> Int64 {
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
        return seconds
    }

    /// Whether JSON data goes into `binary_data` of an event without `datacontenttype`:
    /// then the type JSON data implies, `application/json`, is written out (see
    /// ``ProtobufEventFormat``).
    private static func impliesJSONContentType(
        _ event: borrowing CloudEvent, _ jsonDataField: ProtobufEventFormat.JSONDataField
    ) -> Bool {
        guard jsonDataField == .binary, event.dataContentType == nil, case .json? = event.data else { return false }
        return true
    }

    private static func containsNUL(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return false }
        return memchr(base, 0, bytes.count) != nil
    }

    // MARK: Writing

    /// Writes the message that ``plan(_:jsonDataField:)`` sized; `time` is the plan's, when
    /// it has it.
    private static func write(
        _ event: UnsafePointer<CloudEvent>, time: (seconds: Int64, nanos: Int)?,
        jsonDataField: ProtobufEventFormat.JSONDataField, to writer: inout ProtobufWireWriter
    ) {
        writer.writeSingular(FieldTag.id, event.pointee.id)
        writer.writeSingular(FieldTag.source, event.pointee.source)
        writer.writeTag(FieldTag.specVersion, length: 3)
        writer.write(event.pointee.specVersion == .v1_0 ? "1.0" : "0.3")
        writer.writeSingular(FieldTag.type, event.pointee.type)

        if let dataContentType = event.pointee.dataContentType {
            writer.writeStringEntry("datacontenttype", ValueTag.string, dataContentType)
        } else if jsonDataField == .binary, case .json? = event.pointee.data {  // see impliesJSONContentType
            writer.writeStringEntry("datacontenttype", ValueTag.string, "application/json")
        }
        if let dataSchema = event.pointee.dataSchema {
            if event.pointee.specVersion == .v1_0 {
                writer.writeStringEntry("dataschema", ValueTag.uri, dataSchema)
            } else {
                writer.writeStringEntry("schemaurl", ValueTag.uriReference, dataSchema)
            }
        }
        if let subject = event.pointee.subject { writer.writeStringEntry("subject", ValueTag.string, subject) }
        if let time = time ?? event.pointee.time.map({ ($0.secondsSinceEpoch, $0.nanosecond) }) {
            writer.writeTimestampEntry("time", seconds: time.seconds, nanos: time.nanos)
        }
        for (name, value) in event.pointee.extensions { writer.writeEntry(name, value) }

        switch event.pointee.data {
        case nil:
            break
        case .binary(let bytes):
            writer.writeLengthDelimited(FieldTag.binaryData, bytes)
        case .json(let json):
            writer.writeLengthDelimited(jsonDataField == .text ? FieldTag.textData : FieldTag.binaryData, json.bytes)
        case .text(let text):
            writer.writeTag(FieldTag.textData, length: text.utf8.count)
            writer.write(text)
        }
    }
}

/// `text`'s UTF-8, without copying a native string.
@inline(__always)
func withUTF8Bytes<R>(_ text: String, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    if let result = text.utf8.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) { return result }
    var copy = text  // a bridged or lazily-stored string: make it native, then read it
    return copy.withUTF8 { body(UnsafeRawBufferPointer($0)) }
}

// MARK: The wire format

/// The tags (field number and wire type in one byte: every field number here is below 16)
/// of the `CloudEvent` and `CloudEventBatch` fields.
private enum FieldTag {
    static let id: UInt8 = 0x0A  // 1, length-delimited
    static let source: UInt8 = 0x12  // 2
    static let specVersion: UInt8 = 0x1A  // 3
    static let type: UInt8 = 0x22  // 4
    static let attributes: UInt8 = 0x2A  // 5
    static let binaryData: UInt8 = 0x32  // 6
    static let textData: UInt8 = 0x3A  // 7
    /// `CloudEventBatch.events` (1).
    static let batchEvents: UInt8 = 0x0A
    /// `AttributesEntry.key` (1) and `.value` (2).
    static let entryKey: UInt8 = 0x0A
    static let entryValue: UInt8 = 0x12
}

/// The tags of the `CloudEventAttributeValue` cases and the `Timestamp` fields.
private enum ValueTag {
    static let boolean: UInt8 = 0x08  // 1, varint
    static let integer: UInt8 = 0x10  // 2, varint
    static let string: UInt8 = 0x1A  // 3, length-delimited
    static let bytes: UInt8 = 0x22  // 4
    static let uri: UInt8 = 0x2A  // 5
    static let uriReference: UInt8 = 0x32  // 6
    static let timestamp: UInt8 = 0x3A  // 7
    static let seconds: UInt8 = 0x08  // Timestamp.seconds (1), varint
    static let nanos: UInt8 = 0x10  // Timestamp.nanos (2), varint
}

/// Sizes on the wire.
private enum Wire {
    /// The bytes of `value` as a varint.
    @inline(__always)
    static func varintSize(_ value: UInt64) -> Int {
        (63 &- (value | 1).leadingZeroBitCount) / 7 &+ 1
    }

    /// A length-delimited field with a `count`-byte payload: tag, length, payload.
    @inline(__always)
    static func lengthDelimited(_ count: Int) -> Int {
        1 &+ varintSize(UInt64(count)) &+ count
    }

    /// A proto3 singular string field: nothing when empty.
    @inline(__always)
    static func singular(_ count: Int) -> Int {
        count == 0 ? 0 : lengthDelimited(count)
    }

    /// An `attributes` entry (tag, length, key, value) with a `keyCount`-byte key and a
    /// `CloudEventAttributeValue` message of `valueSize` bytes.
    @inline(__always)
    static func entry(keyCount: Int, valueSize: Int) -> Int {
        lengthDelimited(entrySize(keyCount: keyCount, valueSize: valueSize))
    }

    /// The `AttributesEntry` message itself.
    @inline(__always)
    static func entrySize(keyCount: Int, valueSize: Int) -> Int {
        singular(keyCount) &+ lengthDelimited(valueSize)
    }

    /// The `Timestamp` message: zero fields are left out.
    @inline(__always)
    static func timestampSize(seconds: Int64, nanos: Int) -> Int {
        (seconds == 0 ? 0 : 1 &+ varintSize(UInt64(bitPattern: seconds)))
            &+ (nanos == 0 ? 0 : 1 &+ varintSize(UInt64(bitPattern: Int64(nanos))))
    }

    /// The `CloudEventAttributeValue` message of `value`.
    static func valueSize(_ value: AttributeValue) -> Int {
        switch value {
        case .boolean: 2
        // int32 is sign-extended to 64 bits: a negative value takes ten bytes.
        case .integer(let integer): 1 &+ varintSize(UInt64(bitPattern: Int64(integer)))
        case .string(let text), .uri(let text), .uriReference(let text): lengthDelimited(text.utf8.count)
        case .binary(let bytes): lengthDelimited(bytes.count)
        case .timestamp(let time):
            lengthDelimited(timestampSize(seconds: time.secondsSinceEpoch, nanos: time.nanosecond))
        }
    }
}

/// Writes bytes through a raw pointer into space sized exactly beforehand (no per-byte
/// capacity or uniqueness checks, which dominate `Array.append`).
struct ProtobufWireWriter {
    private(set) var pointer: UnsafeMutablePointer<UInt8>

    /// Runs `body` with a writer over `count` bytes appended to `array`; `body` writes
    /// exactly `count` bytes (checked).
    static func append(to array: inout [UInt8], count: Int, _ body: (inout ProtobufWireWriter) -> Void) {
        if array.isEmpty && array.capacity < count {
            // A new array: written into uninitialised capacity, no zero-filling.
            array = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                var writer = ProtobufWireWriter(pointer: buffer.baseAddress!)
                body(&writer)
                precondition(writer.pointer - buffer.baseAddress! == count, "Protobuf encoder: size mismatch")
                initialized = count
            }
            return
        }
        let start = array.count
        array.append(contentsOf: repeatElement(0, count: count))
        array.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress! + start
            var writer = ProtobufWireWriter(pointer: base)
            body(&writer)
            precondition(writer.pointer - base == count, "Protobuf encoder: size mismatch")
        }
    }

    /// A length-delimited field with a `count`-byte payload.
    static func lengthDelimitedSize(_ count: Int) -> Int { Wire.lengthDelimited(count) }

    @inline(__always)
    mutating func write(_ byte: UInt8) {
        pointer.initialize(to: byte)
        pointer += 1
    }

    @inline(__always)
    mutating func writeVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            write(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        write(UInt8(truncatingIfNeeded: value))
    }

    @inline(__always)
    mutating func write(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        UnsafeMutableRawPointer(pointer).copyMemory(from: base, byteCount: bytes.count)
        pointer += bytes.count
    }

    @inline(__always)
    mutating func write(_ literal: StaticString) {
        pointer.update(from: literal.utf8Start, count: literal.utf8CodeUnitCount)
        pointer += literal.utf8CodeUnitCount
    }

    @inline(__always)
    mutating func write(_ text: String) {
        // The closure must not capture `self` (inout): it returns what to advance by.
        let destination = pointer
        let count = withUTF8Bytes(text) { utf8 in
            if let base = utf8.baseAddress, !utf8.isEmpty {
                UnsafeMutableRawPointer(destination).copyMemory(from: base, byteCount: utf8.count)
            }
            return utf8.count
        }
        pointer += count
    }

    /// A tag and a length.
    @inline(__always)
    mutating func writeTag(_ tag: UInt8, length: Int) {
        write(tag)
        writeVarint(UInt64(length))
    }

    /// A proto3 singular string field: nothing when empty.
    @inline(__always)
    mutating func writeSingular(_ tag: UInt8, _ text: String) {
        let count = text.utf8.count
        guard count > 0 else { return }
        writeTag(tag, length: count)
        write(text)
    }

    mutating func writeLengthDelimited(_ tag: UInt8, _ bytes: [UInt8]) {
        writeTag(tag, length: bytes.count)
        bytes.withUnsafeBytes { write($0) }
    }

    // MARK: Map entries

    /// The `attributes` field's tag and the entry's length, then its key.
    @inline(__always)
    private mutating func writeEntryHeader(keyCount: Int, valueSize: Int) {
        writeTag(FieldTag.attributes, length: Wire.entrySize(keyCount: keyCount, valueSize: valueSize))
    }

    /// An entry with a literal key and a string case.
    mutating func writeStringEntry(_ key: StaticString, _ valueTag: UInt8, _ text: String) {
        let count = text.utf8.count
        let valueSize = Wire.lengthDelimited(count)
        writeEntryHeader(keyCount: key.utf8CodeUnitCount, valueSize: valueSize)
        writeTag(FieldTag.entryKey, length: key.utf8CodeUnitCount)
        write(key)
        writeTag(FieldTag.entryValue, length: valueSize)
        writeTag(valueTag, length: count)
        write(text)
    }

    /// An entry with a literal key and a `ce_timestamp` case.
    mutating func writeTimestampEntry(_ key: StaticString, seconds: Int64, nanos: Int) {
        let timestampSize = Wire.timestampSize(seconds: seconds, nanos: nanos)
        let valueSize = Wire.lengthDelimited(timestampSize)
        writeEntryHeader(keyCount: key.utf8CodeUnitCount, valueSize: valueSize)
        writeTag(FieldTag.entryKey, length: key.utf8CodeUnitCount)
        write(key)
        writeTag(FieldTag.entryValue, length: valueSize)
        writeTimestamp(seconds: seconds, nanos: nanos, size: timestampSize)
    }

    private mutating func writeTimestamp(seconds: Int64, nanos: Int, size: Int) {
        writeTag(ValueTag.timestamp, length: size)
        if seconds != 0 {
            write(ValueTag.seconds)
            writeVarint(UInt64(bitPattern: seconds))
        }
        if nanos != 0 {
            write(ValueTag.nanos)
            writeVarint(UInt64(bitPattern: Int64(nanos)))
        }
    }

    /// An extension's entry.
    mutating func writeEntry(_ name: String, _ value: AttributeValue) {
        let keyCount = name.utf8.count
        let valueSize = Wire.valueSize(value)
        writeEntryHeader(keyCount: keyCount, valueSize: valueSize)
        if keyCount > 0 {
            writeTag(FieldTag.entryKey, length: keyCount)
            write(name)
        }
        writeTag(FieldTag.entryValue, length: valueSize)
        switch value {
        case .boolean(let flag):
            write(ValueTag.boolean)
            write(flag ? 1 : 0)
        case .integer(let integer):
            write(ValueTag.integer)
            writeVarint(UInt64(bitPattern: Int64(integer)))
        case .string(let text):
            writeTag(ValueTag.string, length: text.utf8.count)
            write(text)
        case .uri(let text):
            writeTag(ValueTag.uri, length: text.utf8.count)
            write(text)
        case .uriReference(let text):
            writeTag(ValueTag.uriReference, length: text.utf8.count)
            write(text)
        case .binary(let bytes):
            writeLengthDelimited(ValueTag.bytes, bytes)
        case .timestamp(let time):
            let seconds = time.secondsSinceEpoch
            let nanos = time.nanosecond
            writeTimestamp(seconds: seconds, nanos: nanos, size: Wire.timestampSize(seconds: seconds, nanos: nanos))
        }
    }
}
