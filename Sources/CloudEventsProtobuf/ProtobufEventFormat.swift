public import CloudEvents

/// The Protobuf event format (`application/cloudevents+protobuf`) and its batch
/// (`application/cloudevents-batch+protobuf`, a `CloudEventBatch` message), as the
/// CloudEvents Protobuf format and its `cloudevents.proto` (package `io.cloudevents.v1`)
/// define them. The encoder is written in Swift and writes, byte for byte, what protobuf-c's
/// packer writes for the same event (field-number order, empty proto3 fields left out, map
/// entries in the order below); decoding goes through protobuf-c.
///
/// ## Attributes
///
/// `id`, `source`, `type` and `specversion` have their own fields (`spec_version`).
/// Every other attribute, optional or extension, is an entry of the `attributes` map whose
/// `CloudEventAttributeValue` case records its type: Boolean → `ce_boolean`, Integer →
/// `ce_integer`, String (`datacontenttype`, `subject`) → `ce_string`, Binary → `ce_bytes`,
/// URI (`dataschema` in 1.0) → `ce_uri`, URI-reference (`schemaurl` in 0.3) → `ce_uri_ref`,
/// Timestamp (`time`) → `ce_timestamp`.
///
/// Timestamps travel as `google.protobuf.Timestamp`: UTC seconds and nanoseconds, years
/// 0001 to 9999. The UTC offset is lost, so a decoded `Timestamp` is in UTC
/// (`2018-04-05T17:31:00+02:00` comes back as `2018-04-05T15:31:00Z`, the same instant);
/// a timestamp outside that range cannot be encoded.
///
/// ## Data
///
/// Output (one oneof case, or none when `CloudEvent.data` is `nil`):
/// - `EventData.binary(_:)` → `binary_data`.
/// - `EventData.text(_:)` → `text_data`.
/// - `EventData.json(_:)` → `text_data` by default (as the Java SDK writes it), or
///   `binary_data` holding the JSON text as UTF-8 with
///   ``init(jsonDataField:)`` `.binary` (as the Go SDK writes it). The spec leaves this
///   open (spec issues #940 and #1186). With `.binary`, JSON data of an event without
///   `datacontenttype` is written with `datacontenttype: application/json`, the type that
///   JSON data implies, as the JSON format asks when an event moves to another format:
///   bytes without a content type are never read back as JSON.
///
/// Input, which accepts JSON data in either field:
/// - `text_data` → `EventData.json(_:)` when `datacontenttype` is JSON (`*/json`,
///   `*/*+json`) or absent and the text is one valid JSON value; otherwise
///   `EventData.text(_:)`.
/// - `binary_data` → `EventData.json(_:)` when `datacontenttype` is present and JSON and
///   the bytes are one valid JSON value; otherwise `EventData.binary(_:)`. (So binary data
///   labelled `application/json` comes back as the same bytes in `EventData.json(_:)`.)
/// - `proto_data` (a `google.protobuf.Any`): the model has no type for a Protobuf message,
///   so it becomes `EventData.binary(_:)` holding **the serialized `google.protobuf.Any`**
///   (its `type_url` and `value`; unpack it with any Protobuf library), and
///   `datacontenttype` is set to `application/protobuf` when the event has none. Nothing is
///   lost, but such an event is re-encoded with those bytes in `binary_data`: this encoder
///   never writes `proto_data`.
/// - Data that is present but empty (an empty `binary_data` or `text_data`) stays present:
///   `.binary([])` or `.text("")`. No oneof case means no data.
///
/// ## Rules on input
///
/// Decoding rejects, with an `EventFormatError`: bytes that are not a well-formed message
/// (`EventFormatError.Reason.malformed(_:)`); an empty `spec_version`
/// (`EventFormatError.Reason.missingSpecVersion`) or one other than `1.0` and `0.3`
/// (`EventFormatError.Reason.unsupportedSpecVersion(_:)`); a map entry named `id`,
/// `source`, `type` or `specversion`, or a key that appears twice
/// (`EventFormatError.Reason.duplicateAttribute(_:)`); a map value with no known type
/// case (`EventFormatError.Reason.malformed(_:)`, naming the attribute); and, as
/// `EventFormatError.Reason.invalidEvent(_:)` naming every attribute, string fields that
/// are not UTF-8 (protobuf-c does not check), empty `id`, `source` or `type` (proto3
/// cannot tell empty from unset) and every rule `CloudEvent.validate()` checks.
/// Attributes are read leniently: any string case is accepted for a string-typed core
/// attribute, and `time` may also be an RFC 3339 `ce_string`.
///
/// In a 0.3 event, `datacontentencoding: base64` with `text_data` means the text is
/// Base64; the data becomes the decoded `EventData.binary(_:)`.
public struct ProtobufEventFormat: EventFormat {
    /// The `data` field that carries `EventData.json(_:)` on output.
    public enum JSONDataField: Sendable, Hashable {
        /// `text_data` (a proto3 `string`): the default, as the Java SDK writes JSON.
        case text
        /// `binary_data` (`bytes`), the JSON text as UTF-8: as the Go SDK writes JSON.
        /// An event without `datacontenttype` gets `application/json` on the wire.
        case binary
    }

    /// The `data` field that carries `EventData.json(_:)` on output. Decoding accepts
    /// JSON in either field whatever this says.
    public var jsonDataField: JSONDataField

    /// Creates the format.
    ///
    /// - Parameter jsonDataField: where to write JSON data; `text_data` unless you say
    ///   otherwise.
    public init(jsonDataField: JSONDataField = .text) {
        self.jsonDataField = jsonDataField
    }

    /// `protobuf`.
    public var name: String { "protobuf" }

    /// `application/cloudevents+protobuf`.
    public var mediaType: String { MediaType.CloudEvents.protobuf }

    /// `application/cloudevents-batch+protobuf`: a `CloudEventBatch` message.
    public var batchMediaType: String? { MediaType.CloudEvents.protobufBatch }

    /// Appends the `io.cloudevents.v1.CloudEvent` message for `event` to `output`.
    ///
    /// - Throws: `EventFormatError` with `EventFormatError.Reason.invalidEvent(_:)`
    ///   when the event breaks a CloudEvents rule or has a timestamp outside years
    ///   0001-9999, or `EventFormatError.Reason.invalidData(_:)` when text data contains
    ///   U+0000 (protobuf-c carries strings NUL-terminated).
    public func encode(_ event: CloudEvent, into output: inout [UInt8]) throws(EventFormatError) {
        // The encoder validates: it checks the String type's characters as it copies the strings.
        try ProtobufEncoder(jsonDataField: jsonDataField).append(event, to: &output)
    }

    /// Decodes one `io.cloudevents.v1.CloudEvent` message.
    ///
    /// - Throws: `EventFormatError` naming the field or attribute and the rule broken
    ///   (see the type's documentation for the rules).
    public func decode(_ bytes: UnsafeRawBufferPointer) throws(EventFormatError) -> CloudEvent {
        try ProtobufDecoder.decodeEvent(bytes)
    }

    /// Decodes one `io.cloudevents.v1.CloudEvent` message (the same as the buffer form,
    /// without going through the protocol and wrapping the result, as the JSON format does).
    ///
    /// - Throws: `EventFormatError` naming the field or attribute and the rule broken
    ///   (see the type's documentation for the rules).
    public func decode(_ bytes: [UInt8]) throws(EventFormatError) -> CloudEvent {
        do {
            return try bytes.withUnsafeBytes { buffer throws in try ProtobufDecoder.decodeEvent(buffer) }
        } catch let error as EventFormatError {
            throw error
        } catch {
            throw EventFormatError(.malformed("\(error)"))  // not reached: decodeEvent throws only EventFormatError
        }
    }

    /// Appends a `CloudEventBatch` message holding `events` (no bytes at all for an empty
    /// batch, which is how proto3 writes an empty message).
    ///
    /// - Throws: `EventFormatError` with the `EventFormatError.batchIndex` of the first
    ///   event that cannot be encoded, or
    ///   `EventFormatError.Reason.mixedSpecVersions(first:other:)`.
    public func encodeBatch(_ events: [CloudEvent], into output: inout [UInt8]) throws(EventFormatError) {
        try Self.checkSameSpecVersion(events)
        try ProtobufEncoder(jsonDataField: jsonDataField).appendBatch(events, to: &output)
    }

    /// Decodes a `CloudEventBatch` message. All events must share one `specversion`.
    ///
    /// - Throws: `EventFormatError` with the `EventFormatError.batchIndex` of the
    ///   event at fault, when there is one.
    public func decodeBatch(_ bytes: UnsafeRawBufferPointer) throws(EventFormatError) -> [CloudEvent] {
        let events = try ProtobufDecoder.decodeBatch(bytes)
        try Self.checkSameSpecVersion(events)
        return events
    }

    private static func checkSameSpecVersion(_ events: [CloudEvent]) throws(EventFormatError) {
        guard let first = events.first?.specVersion else { return }
        if let index = events.firstIndex(where: { $0.specVersion != first }) {
            throw EventFormatError(
                .mixedSpecVersions(first: first, other: events[index].specVersion), batchIndex: index)
        }
    }
}
