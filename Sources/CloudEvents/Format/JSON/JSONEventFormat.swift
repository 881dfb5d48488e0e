/// The JSON event format (`application/cloudevents+json`) and its batch
/// (`application/cloudevents-batch+json`), exactly as the CloudEvents JSON format
/// specification says.
///
/// Hand-written and streaming: the decoder walks the bytes once, keeps `data` as the raw
/// JSON text of its value (validated, never parsed into objects), and creates Strings only
/// for the attributes it keeps.
///
/// How data is written and read:
/// - ``EventData/binary(_:)`` ↔ `data_base64` (in 0.3: `data` with `datacontentencoding: base64`).
/// - ``EventData/json(_:)`` ↔ `data` holding the JSON value itself. A JSON string stays a
///   string: `"data": "x"` is the JSON text `"x"`, quotes included.
/// - ``EventData/text(_:)`` ↔ `data` holding a JSON string, for a non-JSON
///   `datacontenttype` such as `text/plain` or `application/xml`.
///
/// On decoding, `datacontenttype` decides: JSON media types (`*/json`, `*/*+json`, compared
/// case-insensitively, parameters ignored) and an absent `datacontenttype` give
/// ``EventData/json(_:)``; other types give ``EventData/text(_:)`` for a string and
/// ``EventData/json(_:)`` for any other JSON value. `null` for an attribute means absent;
/// `"data": null` is an explicit JSON `null`. Duplicate members are rejected.
public struct JSONEventFormat: EventFormat {
    /// Types for extensions that JSON can only carry as strings (see ``ExtensionTypes``).
    public var extensionTypes: ExtensionTypes

    /// - Parameter extensionTypes: extensions to decode to a type other than String.
    public init(extensionTypes: ExtensionTypes = .none) {
        self.extensionTypes = extensionTypes
    }

    /// `json`.
    public var name: String { "json" }
    /// `application/cloudevents+json`.
    public var mediaType: String { MediaType.CloudEvents.json }
    /// `application/cloudevents-batch+json`.
    public var batchMediaType: String? { MediaType.CloudEvents.jsonBatch }

    /// Appends the JSON of `event` to `output`.
    ///
    /// - Throws: ``EventFormatError`` listing every violation when the event is invalid; `output`
    ///   is then left as it was.
    public func encode(_ event: CloudEvent, into output: inout [UInt8]) throws(EventFormatError) {
        try JSONEventEncoder.append(event, to: &output)
    }

    /// Decodes one event from exactly one JSON object (surrounding whitespace allowed).
    ///
    /// - Throws: ``EventFormatError`` for invalid JSON, a broken attribute rule, or anything after the object.
    public func decode(_ bytes: UnsafeRawBufferPointer) throws(EventFormatError) -> CloudEvent {
        var decoder = JSONEventDecoder(bytes, extensionTypes: extensionTypes)
        let event = try decoder.decodeEvent()
        try decoder.expectEnd()
        return event
    }

    /// Decodes one event from `bytes` (the same as the buffer form, without wrapping the
    /// result: this is the hot path of every binding).
    public func decode(_ bytes: [UInt8]) throws(EventFormatError) -> CloudEvent {
        do {
            return try bytes.withUnsafeBytes { buffer throws in try decode(buffer) }
        } catch let error as EventFormatError {
            throw error
        } catch {
            throw EventFormatError(.malformed("\(error)"))  // not reached: decode throws only EventFormatError
        }
    }

    /// Appends `events` as one JSON array.
    ///
    /// - Throws: ``EventFormatError`` when the events' `specversion`s differ or an event is
    ///   invalid (with its index in the batch).
    public func encodeBatch(_ events: [CloudEvent], into output: inout [UInt8]) throws(EventFormatError) {
        try Self.checkSameSpecVersion(events)
        output.append(UInt8(ascii: "["))
        for (index, event) in events.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            do { try JSONEventEncoder.append(event, to: &output) } catch {
                throw EventFormatError(error.reason, batchIndex: index)
            }
        }
        output.append(UInt8(ascii: "]"))
    }

    /// Decodes a JSON array of events that share one `specversion`.
    ///
    /// - Throws: ``EventFormatError`` for invalid JSON, an invalid event, or mixed `specversion`s.
    public func decodeBatch(_ bytes: UnsafeRawBufferPointer) throws(EventFormatError) -> [CloudEvent] {
        var decoder = JSONEventDecoder(bytes, extensionTypes: extensionTypes)
        let events = try decoder.decodeBatch()
        try decoder.expectEnd()
        try Self.checkSameSpecVersion(events)
        return events
    }
}

/// Writes one event as JSON in two passes. The first validates the event and sizes the
/// output, scanning each string once for what would need escaping or break the String
/// type's rules; the second writes through an ``UnsafeByteWriter`` into space reserved
/// once, copying the strings the first pass found plain without scanning them again.
enum JSONEventEncoder {
    /// What the first pass learned.
    struct Plan {
        var size = 64  // punctuation and fixed member names
        /// Bit `i` set: string `i` (in write order) needs no escaping.
        var plainStrings: UInt64 = 0
        var stringIndex = 0

        /// Sizes one string, checking the String type's characters unless it is printable
        /// ASCII without `"` or `\\` (which also means it needs no escaping).
        mutating func add(_ text: String, checkCharacters: Bool) throws(AttributeRule) {
            let plain = try UTF8Access.with(text) { utf8 in
                Result { () throws(AttributeRule) -> Bool in
                    let bytes = UnsafeRawBufferPointer(utf8)
                    if ByteScan.firstJSONStringSpecial(bytes, from: 0, to: bytes.count) == bytes.count {
                        size += bytes.count + 2
                        return true
                    }
                    if checkCharacters { try AttributeRules.checkString(utf8: bytes) }
                    size += bytes.count * 6 + 2
                    return false
                }
            }.get()
            if plain && stringIndex < 64 { plainStrings |= 1 << UInt64(stringIndex) }
            stringIndex += 1
        }

        /// Sizes a string that validation proved plain ASCII without `"` or `\\` (a URI,
        /// a URI-reference, an attribute name): no scan needed.
        mutating func addKnownPlain(_ text: String) {
            size += text.utf8.count + 2
            if stringIndex < 64 { plainStrings |= 1 << UInt64(stringIndex) }
            stringIndex += 1
        }
    }

    static func append(_ event: CloudEvent, to output: inout [UInt8]) throws(EventFormatError) {
        let plan: Plan
        do {
            try event.validate(checkingCharacters: false)
            plan = try self.plan(event)
        } catch {
            // Report every violation, as validate() does.
            do { try event.validate() } catch { throw EventFormatError(.invalidEvent(error)) }
            throw EventFormatError(.invalidEvent(CloudEventValidationError(violations: [])))
        }
        UnsafeByteWriter.append(to: &output, maximumCount: plan.size) { writer in
            var strings = StringWriter(plainStrings: plan.plainStrings)
            write(event, to: &writer, strings: &strings)
        }
    }

    /// Sizes the event; throws when a String has an excluded character.
    private static func plan(_ event: CloudEvent) throws(AttributeRule) -> Plan {
        var plan = Plan()
        try plan.add(event.id, checkCharacters: true)
        plan.addKnownPlain(event.source)
        try plan.add(event.type, checkCharacters: true)
        if let value = event.dataContentType {
            plan.size += 20
            try plan.add(value, checkCharacters: true)
        }
        if let value = event.dataSchema {
            plan.size += 16
            plan.addKnownPlain(value)
        }
        if let value = event.subject {
            plan.size += 12
            try plan.add(value, checkCharacters: true)
        }
        if let time = event.time { plan.size += 12 + time.maximumRFC3339Size }
        for (name, value) in event.extensions {
            plan.size += 2
            plan.addKnownPlain(name)
            switch value {
            case .string(let text): try plan.add(text, checkCharacters: true)
            case .uri(let text), .uriReference(let text): plan.addKnownPlain(text)
            default: plan.size += JSONWriter.maximumSize(value)
            }
        }
        switch event.data {
        case nil: break
        case .json(let json): plan.size += 9 + json.bytes.count
        case .text(let text): plan.size += 9 + JSONWriter.maximumSize(text)
        case .binary(let bytes): plan.size += 48 + Base64.encodedCount(bytes.count)
        }
        return plan
    }

    /// Writes the event's strings in the order the plan sized them.
    struct StringWriter {
        let plainStrings: UInt64
        var index = 0

        @inline(__always)
        mutating func write(_ text: String, to writer: inout UnsafeByteWriter) {
            let plain = index < 64 && plainStrings >> UInt64(index) & 1 == 1
            index += 1
            UTF8Access.with(text) { utf8 in
                if plain {
                    writer.write(UInt8(ascii: "\""))
                    writer.write(utf8)
                    writer.write(UInt8(ascii: "\""))
                } else {
                    JSONWriter.writeString(utf8: utf8, to: &writer)
                }
            }
        }
    }

    private static func write(_ event: CloudEvent, to writer: inout UnsafeByteWriter, strings: inout StringWriter) {
        writer.write(event.specVersion == .v1_0 ? #"{"specversion":"1.0","id":"# : #"{"specversion":"0.3","id":"#)
        strings.write(event.id, to: &writer)
        writer.write(#","source":"#)
        strings.write(event.source, to: &writer)
        writer.write(#","type":"#)
        strings.write(event.type, to: &writer)
        if let dataContentType = event.dataContentType {
            writer.write(#","datacontenttype":"#)
            strings.write(dataContentType, to: &writer)
        }
        if let dataSchema = event.dataSchema {
            writer.write(event.specVersion == .v1_0 ? #","dataschema":"# : #","schemaurl":"#)
            strings.write(dataSchema, to: &writer)
        }
        if let subject = event.subject {
            writer.write(#","subject":"#)
            strings.write(subject, to: &writer)
        }
        if let time = event.time {
            writer.write(#","time":""#)
            time.writeRFC3339(to: &writer)
            writer.write(UInt8(ascii: "\""))
        }
        for (name, value) in event.extensions {
            writer.write(UInt8(ascii: ","))
            strings.write(name, to: &writer)
            writer.write(UInt8(ascii: ":"))
            switch value {
            case .string(let text), .uri(let text), .uriReference(let text): strings.write(text, to: &writer)
            default: JSONWriter.writeValue(value, to: &writer)
            }
        }
        switch event.data {
        case nil:
            break
        case .json(let json):
            writer.write(#","data":"#)
            json.bytes.withUnsafeBufferPointer { writer.write($0) }
        case .text(let text):
            writer.write(#","data":"#)
            JSONWriter.writeString(text, to: &writer)
        case .binary(let bytes):
            writer.write(event.specVersion == .v1_0 ? #","data_base64":""# : #","datacontentencoding":"base64","data":""#)
            Base64.encode(bytes, to: &writer)
            writer.write(UInt8(ascii: "\""))
        }
        writer.write(UInt8(ascii: "}"))
    }
}
