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

    public var name: String { "json" }
    public var mediaType: String { MediaType.CloudEvents.json }
    public var batchMediaType: String? { MediaType.CloudEvents.jsonBatch }

    public func encode(_ event: CloudEvent, into output: inout [UInt8]) throws(EventFormatError) {
        do { try event.validate() } catch { throw EventFormatError(.invalidEvent(error)) }
        JSONEventEncoder.append(event, to: &output)
    }

    public func decode(_ bytes: UnsafeRawBufferPointer) throws(EventFormatError) -> CloudEvent {
        var decoder = JSONEventDecoder(bytes, extensionTypes: extensionTypes)
        let event = try decoder.decodeEvent()
        try decoder.expectEnd()
        return event
    }

    public func encodeBatch(_ events: [CloudEvent], into output: inout [UInt8]) throws(EventFormatError) {
        try Self.checkSameSpecVersion(events)
        output.append(UInt8(ascii: "["))
        for (index, event) in events.enumerated() {
            do { try event.validate() } catch { throw EventFormatError(.invalidEvent(error), batchIndex: index) }
            if index > 0 { output.append(UInt8(ascii: ",")) }
            JSONEventEncoder.append(event, to: &output)
        }
        output.append(UInt8(ascii: "]"))
    }

    public func decodeBatch(_ bytes: UnsafeRawBufferPointer) throws(EventFormatError) -> [CloudEvent] {
        var decoder = JSONEventDecoder(bytes, extensionTypes: extensionTypes)
        let events = try decoder.decodeBatch()
        try decoder.expectEnd()
        try Self.checkSameSpecVersion(events)
        return events
    }
}

/// Writes one (already validated) event as JSON.
enum JSONEventEncoder {
    static func append(_ event: CloudEvent, to output: inout [UInt8]) {
        output.reserveCapacity(output.count + estimatedSize(of: event))
        JSONWriter.appendLiteral(event.specVersion == .v1_0 ? #"{"specversion":"1.0","id":"# : #"{"specversion":"0.3","id":"#, to: &output)
        JSONWriter.appendString(event.id, to: &output)
        JSONWriter.appendLiteral(#","source":"#, to: &output)
        JSONWriter.appendString(event.source, to: &output)
        JSONWriter.appendLiteral(#","type":"#, to: &output)
        JSONWriter.appendString(event.type, to: &output)
        if let dataContentType = event.dataContentType {
            JSONWriter.appendLiteral(#","datacontenttype":"#, to: &output)
            JSONWriter.appendString(dataContentType, to: &output)
        }
        if let dataSchema = event.dataSchema {
            JSONWriter.appendLiteral(event.specVersion == .v1_0 ? #","dataschema":"# : #","schemaurl":"#, to: &output)
            JSONWriter.appendString(dataSchema, to: &output)
        }
        if let subject = event.subject {
            JSONWriter.appendLiteral(#","subject":"#, to: &output)
            JSONWriter.appendString(subject, to: &output)
        }
        if let time = event.time {
            JSONWriter.appendLiteral(#","time":""#, to: &output)
            time.appendRFC3339(to: &output)
            output.append(UInt8(ascii: "\""))
        }
        for (name, value) in event.extensions {
            output.append(UInt8(ascii: ","))
            JSONWriter.appendString(name, to: &output)
            output.append(UInt8(ascii: ":"))
            JSONWriter.appendValue(value, to: &output)
        }
        switch event.data {
        case nil:
            break
        case .json(let json):
            JSONWriter.appendLiteral(#","data":"#, to: &output)
            output.append(contentsOf: json.bytes)
        case .text(let text):
            JSONWriter.appendLiteral(#","data":"#, to: &output)
            JSONWriter.appendString(text, to: &output)
        case .binary(let bytes):
            JSONWriter.appendLiteral(
                event.specVersion == .v1_0 ? #","data_base64":""# : #","datacontentencoding":"base64","data":""#,
                to: &output)
            Base64.encode(bytes, appendingTo: &output)
            output.append(UInt8(ascii: "\""))
        }
        output.append(UInt8(ascii: "}"))
    }

    private static func estimatedSize(of event: CloudEvent) -> Int {
        var size = 96 + event.id.utf8.count + event.source.utf8.count + event.type.utf8.count
        size += (event.dataContentType?.utf8.count ?? 0) + (event.subject?.utf8.count ?? 0)
        size += (event.dataSchema?.utf8.count ?? 0) + (event.time == nil ? 0 : 48)
        size += event.extensions.count * 48
        if let data = event.data { size += data.count * 4 / 3 + 24 }
        return size
    }
}
