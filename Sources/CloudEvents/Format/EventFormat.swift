/// An event format: how one event (and optionally a batch) becomes bytes and back.
///
/// The JSON format (``JSONEventFormat``) is built in; `CloudEventsProtobuf` adds Protobuf.
/// Bindings carry any format in structured mode by its ``mediaType``.
public protocol EventFormat: Sendable {
    /// A short name for configuration and URLs: `json`, `protobuf`.
    var name: String { get }
    /// The structured-mode media type, e.g. `application/cloudevents+json`.
    var mediaType: String { get }
    /// The batch media type, or `nil` when the format has no batch representation.
    var batchMediaType: String? { get }

    /// Appends the encoding of `event` to `output` (so callers can reuse a buffer).
    ///
    /// - Throws: ``EventFormatError`` when the event is invalid or cannot be represented.
    func encode(_ event: CloudEvent, into output: inout [UInt8]) throws(EventFormatError)

    /// Decodes one event.
    ///
    /// - Throws: ``EventFormatError`` naming the position or attribute and the rule broken.
    func decode(_ bytes: UnsafeRawBufferPointer) throws(EventFormatError) -> CloudEvent

    /// Appends the batch encoding of `events`.
    func encodeBatch(_ events: [CloudEvent], into output: inout [UInt8]) throws(EventFormatError)

    /// Decodes a batch. All events must share one `specversion`.
    func decodeBatch(_ bytes: UnsafeRawBufferPointer) throws(EventFormatError) -> [CloudEvent]
}

extension EventFormat {
    /// The encoding of `event`.
    public func encode(_ event: CloudEvent) throws(EventFormatError) -> [UInt8] {
        var output = [UInt8]()
        try encode(event, into: &output)
        return output
    }

    /// Decodes one event from `bytes`.
    public func decode(_ bytes: [UInt8]) throws(EventFormatError) -> CloudEvent {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(EventFormatError) in try decode(buffer) }
        }
        return try result.get()
    }

    /// The batch encoding of `events`.
    public func encodeBatch(_ events: [CloudEvent]) throws(EventFormatError) -> [UInt8] {
        var output = [UInt8]()
        try encodeBatch(events, into: &output)
        return output
    }

    /// Decodes a batch from `bytes`.
    public func decodeBatch(_ bytes: [UInt8]) throws(EventFormatError) -> [CloudEvent] {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(EventFormatError) in try decodeBatch(buffer) }
        }
        return try result.get()
    }

    /// Whether `mediaType` (any case, any parameters) is this format's single-event type.
    public func matches(mediaType text: String) -> Bool {
        guard let parsed = MediaType(text) else { return false }
        return parsed.essence == mediaType
    }

    /// Whether `mediaType` is this format's batch type.
    public func matchesBatch(mediaType text: String) -> Bool {
        guard let batchMediaType, let parsed = MediaType(text) else { return false }
        return parsed.essence == batchMediaType
    }
}

/// Batches of events must share one `specversion` (core spec, batch mode).
extension EventFormat {
    static func checkSameSpecVersion(_ events: [CloudEvent]) throws(EventFormatError) {
        guard let first = events.first?.specVersion else { return }
        if let index = events.firstIndex(where: { $0.specVersion != first }) {
            throw EventFormatError(.mixedSpecVersions(first: first, other: events[index].specVersion), batchIndex: index)
        }
    }
}
