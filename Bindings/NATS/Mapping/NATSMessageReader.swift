public import CloudEvents

/// Reads a CloudEvents message from a ``NATSMessage``, as the NATS protocol binding (main,
/// `REFERENCE.md` §3.4) says.
///
/// **Mode detection** (``detectMode(_:)``): a message without headers (`MSG`, and every
/// message from a server before 2.2) is structured JSON. With headers, a `Content-Type`
/// header (name in any case; the first, when repeated) whose value starts with `application/cloudevents` (any case) is
/// structured, decoded with the format that media type names (JSON or Protobuf; one the
/// registry lacks is ``MessageError/Reason/unsupportedFormat(_:)``); anything else, no
/// `Content-Type` included, is binary. NATS has no batch mode: an
/// `application/cloudevents-batch` type is refused with
/// ``MessageError/Reason/batchNotSupported``.
///
/// **Header name case.** The binding says NATS header names are case-insensitive, but NATS
/// ADR-4 makes headers case-preserving and client lookups case-sensitive by default. This
/// binding always **writes** lowercase `ce-` names (``NATSMessageWriter``), which every
/// client finds, and **reads** names in any case: `CE-ID` is `id`, and `ce-ID` next to
/// `ce-id` is the same attribute twice, refused as
/// ``MessageError/Reason/duplicateAttribute(_:)``.
///
/// **Binary mode** follows the core's ``HeaderAttributeCodec/nats`` rule: every `ce-` header
/// is an attribute named by the rest of its name, lowercased, `datacontenttype` included;
/// its value is decoded with exactly one strict percent-decoding pass, and refused, naming
/// the header, when it is not UTF-8 or holds a malformed escape. `Content-Type` is not an
/// attribute in NATS (it only selects the mode): a binary message's `Content-Type` is kept
/// as metadata. The payload is the data; an **empty payload without `ce-datacontenttype`
/// is no data** (NATS cannot tell empty data from none, spec edge case 21), while an empty
/// payload with one is empty data. A message with more than ``maximumAttributeCount`` `ce-`
/// headers is refused. In structured mode the payload wins: `ce-` headers are ignored.
///
/// **Metadata.** The subject under ``MetadataKey/subject``, the reply subject (when there
/// is one) under ``MetadataKey/replyTo``, and every header that is neither an attribute nor
/// the structured `Content-Type` under its name **lowercased** (names compare
/// case-insensitively, so `Traceparent` is found as `traceparent`); repeated names are
/// joined with `, `, and a value that is not UTF-8 is left out. The header status line
/// (`NATS/1.0 503`) is the protocol's, not metadata.
public struct NATSMessageReader: MessageReader, Sendable {
    /// The message as it arrived.
    public let natsMessage: NATSMessage
    /// The mode found by ``detectMode(_:)``.
    public let contentMode: ContentMode
    /// The `Content-Type` header's value, if any (the first, when repeated).
    private let contentType: String?

    /// The most `ce-` headers a binary-mode message may carry: more is refused with
    /// ``MessageError/Reason/invalidMessage(_:)``.
    ///
    /// No event has that many attributes, and a header block of up to `max_payload` (1 MiB by
    /// default, 64 MiB at most) could hold a hundred thousand tiny ones. The core handles
    /// that many in linear time, but an event built from them would still cost the client's
    /// event loop time and memory out of all proportion to any event a producer sends.
    public static let maximumAttributeCount = 1024

    static let tooManyAttributesError = MessageError(
        .invalidMessage(
            "the NATS message carries more than \(maximumAttributeCount) attribute headers ('ce-*'): refused, as no event has that many"
        ))

    /// The ``Message/metadata`` keys for the message's own fields. They start with `:` so that
    /// no header name can be mistaken for them.
    public enum MetadataKey {
        /// The subject the message was published to.
        public static let subject = ":subject"
        /// The reply subject, present only when the message has one.
        public static let replyTo = ":reply"
    }

    /// Reads `message`.
    ///
    /// - Parameter message: the message as received.
    public init(_ message: NATSMessage) {
        self.natsMessage = message
        self.contentType = Self.contentType(of: message)
        self.contentMode = Self.detectMode(headers: message.headers, contentType: contentType)
    }

    /// The mode `message` is in: no headers → structured; a `Content-Type` header starting
    /// with `application/cloudevents` (any case, after leading spaces) → structured; anything
    /// else → binary. A batch media type is structured too (there is no batch mode), and
    /// decoding it is refused.
    ///
    /// - Parameter message: the message as received.
    public static func detectMode(_ message: NATSMessage) -> ContentMode {
        detectMode(headers: message.headers, contentType: contentType(of: message))
    }

    private static func detectMode(headers: NATSHeaders?, contentType: String?) -> ContentMode {
        guard headers != nil else { return .structured }
        return MediaType.contentMode(of: contentType, whenAbsent: .binary, batch: false)
    }

    /// The first `Content-Type` header's value (name in any case). Bytes that are not UTF-8
    /// are read as U+FFFD: such a value selects a mode by its prefix like any other, and then
    /// names no format a registry has.
    private static func contentType(of message: NATSMessage) -> String? {
        guard let headers = message.headers else { return nil }
        // Lengths first: this runs for every message, and most names are not 12 bytes long.
        for field in headers.fields where field.name.utf8.count == 12 && NATSHeaders.namesEqual(field.name, "content-type") {
            return String(decoding: field.value, as: UTF8.self)
        }
        return nil
    }

    /// Whether the structured media type is a batch one, which NATS cannot carry.
    private var isBatchMediaType: Bool {
        guard contentMode == .structured, let contentType else { return false }
        return MediaType.contentMode(of: contentType, whenAbsent: .binary, batch: true) == .batch
    }

    /// The payload and its media type (the JSON format's when there are no headers) in
    /// structured mode; `nil` in binary mode.
    public var structuredContent: StructuredContent? {
        guard contentMode == .structured else { return nil }
        return StructuredContent(mediaType: contentType ?? JSONEventFormat().mediaType, body: natsMessage.payload)
    }

    /// Visits the `ce-` headers as attributes, in order, then the payload as data (an empty
    /// payload without `ce-datacontenttype` is no data).
    ///
    /// - Throws: ``MessageError``: `.duplicateAttribute` for a `ce-` header that appears
    ///   twice in any case; `.invalidMessage` naming the header for a value that is not
    ///   UTF-8 or does not percent-decode; `.invalidMessage` in structured mode; or what the
    ///   writer throws.
    public func readBinary<Writer: BinaryMessageWriter>(into writer: inout Writer) throws(MessageError) {
        try refuseMalformedHeaders()
        guard contentMode == .binary, let headers = natsMessage.headers else {
            throw MessageError(.invalidMessage("a \(contentMode) NATS message has no binary attributes"))
        }
        var reader = HeaderAttributeCodec.Reader(codec: .nats)
        var hasContentType = false
        var count = 0
        for field in headers.fields {
            guard let attribute = try reader.read(name: field.name, bytes: field.value) else { continue }
            count += 1
            guard count <= Self.maximumAttributeCount else { throw Self.tooManyAttributesError }
            if attribute.name == "datacontenttype" { hasContentType = true }
            try writer.writeAttribute(attribute.name, attribute.value)
        }
        if hasContentType || !natsMessage.payload.isEmpty {
            try writer.writeData(natsMessage.payload)
        }
    }

    /// The subject, the reply subject, and the headers that carry no attribute, names
    /// lowercased (see the type's documentation).
    public var metadata: [String: String] {
        var metadata = [MetadataKey.subject: natsMessage.subject]
        if let replyTo = natsMessage.replyTo { metadata[MetadataKey.replyTo] = replyTo }
        guard let headers = natsMessage.headers else { return metadata }
        for field in headers.fields {
            let header = HeaderAttributeCodec.Header(name: field.name)
            switch (contentMode, header) {
            case (.structured, .contentType): continue
            case (.binary, _) where HeaderAttributeCodec.nats.role(of: header) != .other: continue
            case (.structured, _) where header.attributeName != nil: continue
            default: break
            }
            guard let value = field.text else { continue }
            Self.addMetadata(Self.lowercased(field.name), value, to: &metadata)
        }
        return metadata
    }

    /// The protocol-independent message: binary attributes decoded (not validated as an
    /// event), or the structured payload untouched, with ``metadata``.
    ///
    /// - Throws: ``MessageError`` as ``readBinary(into:)`` does, and
    ///   `.batchNotSupported` for a batch media type.
    public func message() throws(MessageError) -> Message {
        try refuseMalformedHeaders()
        if let message = binaryMessageInOnePass() { return message }
        var message = Message()
        switch contentMode {
        case .binary:
            // Collected into one array sized up front, then set once: appending through
            // Message's own writer copies its attributes at every step.
            var collector = AttributeCollector()
            collector.attributes.reserveCapacity(natsMessage.headers?.count ?? 0)
            try readBinary(into: &collector)
            message.content = .binary(attributes: collector.attributes, data: collector.data)
        case .structured, .batch:
            guard !isBatchMediaType else { throw MessageError(.batchNotSupported) }
            message.content = .structured(
                StructuredContent(mediaType: contentType ?? JSONEventFormat().mediaType, body: natsMessage.payload))
        }
        message.metadata = metadata
        return message
    }

    /// Decodes the event the message carries.
    ///
    /// - Parameters:
    ///   - formats: formats for a structured payload (JSON is assumed without headers).
    ///   - extensionTypes: types for binary-mode extensions, which arrive as strings.
    /// - Throws: ``MessageError`` naming what is wrong: `.batchNotSupported` for a batch
    ///   media type, `.unsupportedFormat` for a structured one no format handles, or why
    ///   the headers or the event are invalid.
    public func event(
        formats: EventFormatRegistry = .standard, extensionTypes: ExtensionTypes = .none
    ) throws(MessageError) -> CloudEvent {
        guard !isBatchMediaType else { throw MessageError(.batchNotSupported) }
        try refuseMalformedHeaders()
        if contentMode == .binary, let headers = natsMessage.headers {
            var event = CloudEvent.decodingPlaceholder
            if event.decodeNATSBinaryMode(headers: headers, payload: natsMessage.payload, extensionTypes: extensionTypes) {
                return event
            }
        }
        return try genericEvent(formats: formats, extensionTypes: extensionTypes)
    }

    /// Throws when the header block arrived malformed (``NATSHeaders/malformation``).
    private func refuseMalformedHeaders() throws(MessageError) {
        if let malformation = natsMessage.headers?.malformation {
            throw MessageError(.invalidMessage(malformation))
        }
    }

    /// The protocol's ``MessageReader/event(formats:extensionTypes:)``: the general path.
    private func genericEvent(formats: EventFormatRegistry, extensionTypes: ExtensionTypes) throws(MessageError) -> CloudEvent {
        try (self as any MessageReader).event(formats: formats, extensionTypes: extensionTypes)
    }

    /// Adds a header's value under `name`, joining a repeated name's values with `, `. The
    /// value is appended in place (linear in all, however often a name repeats).
    static func addMetadata(_ name: String, _ value: String, to metadata: inout [String: String]) {
        if metadata[name] == nil {
            metadata[name] = value
        } else {
            metadata[name]?.append(", ")
            metadata[name]?.append(value)
        }
    }

    /// ASCII lowercase, without a copy when there is nothing to lower.
    static func lowercased(_ name: String) -> String {
        guard name.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) else { return name }
        return String(decoding: name.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
    }
}

/// Collects binary attributes without judging them (the reader has refused duplicates).
private struct AttributeCollector: BinaryMessageWriter {
    var attributes: [BinaryAttribute] = []
    var data: [UInt8]?

    mutating func writeAttribute(_ name: String, _ value: AttributeValue) throws(MessageError) {
        attributes.append(BinaryAttribute(name: name, value: value))
    }

    mutating func writeData(_ bytes: [UInt8]) throws(MessageError) {
        data = bytes
    }
}

extension CloudEvent {
    /// Decodes the event a NATS message carries.
    ///
    /// - Parameters:
    ///   - natsMessage: the message as received.
    ///   - formats: formats for a structured payload.
    ///   - extensionTypes: types for binary-mode extensions, which arrive as strings.
    /// - Throws: ``MessageError`` naming what is wrong.
    public init(
        natsMessage: NATSMessage, formats: EventFormatRegistry = .standard, extensionTypes: ExtensionTypes = .none
    ) throws(MessageError) {
        self = try NATSMessageReader(natsMessage).event(formats: formats, extensionTypes: extensionTypes)
    }
}
