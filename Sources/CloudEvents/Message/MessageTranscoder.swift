/// Moves a message from one binding's shape to another's, doing no more work than the
/// change of shape needs:
///
/// | from → to | what happens |
/// |---|---|
/// | structured → structured, same format | the bytes pass through untouched |
/// | binary → binary | attributes and data are copied; no ``CloudEvent`` is built |
/// | batch → batch, same format | the bytes pass through untouched |
/// | anything else | the event is decoded and written in the target shape |
///
/// A binary → binary copy forwards attributes as the source binding gave them; it checks
/// no attribute value. Decode (``MessageReader/event(formats:)``) when you need that.
public struct MessageTranscoder: Sendable {
    /// Formats known for decoding structured bodies and for re-encoding.
    public var formats: EventFormatRegistry

    /// A transcoder that decodes and re-encodes with `formats`.
    ///
    /// - Parameter formats: the formats known for structured and batched bodies.
    public init(formats: EventFormatRegistry = .standard) {
        self.formats = formats
    }

    /// Writes `reader`'s event(s) to `writer`.
    ///
    /// - Parameters:
    ///   - mode: the target content mode; `nil` keeps the source's.
    ///   - format: the target format for structured and batch output; `nil` keeps the
    ///     source's format (JSON when the source is binary).
    /// - Throws: ``MessageError`` when the source cannot be read in the needed shape, the
    ///   format is unknown, or the target has no batch mode.
    public func transcode<Reader: MessageReader, Writer: MessageWriter>(
        _ reader: Reader, to writer: inout Writer, mode: ContentMode? = nil, format: (any EventFormat)? = nil
    ) throws(MessageError) {
        let sourceMode = reader.contentMode
        let targetMode = mode ?? sourceMode
        switch (sourceMode, targetMode) {
        case (.binary, .binary):
            try reader.readBinary(into: &writer)
        case (.structured, .structured):
            let content = try Self.structuredContent(of: reader)
            if let target = format, !target.matches(mediaType: content.mediaType) {
                try reader.event(formats: formats).write(to: &writer, mode: .structured, format: target)
            } else {
                try writer.writeStructured(content)
            }
        case (.batch, .batch):
            let content = try Self.structuredContent(of: reader)
            if let target = format, !target.matchesBatch(mediaType: content.mediaType) {
                let events = try reader.events(formats: formats)
                let body: [UInt8]
                do { body = try target.encodeBatch(events) } catch { throw MessageError(.format(error)) }
                guard let batchMediaType = target.batchMediaType else { throw MessageError(.batchNotSupported) }
                try writer.writeBatch(StructuredContent(mediaType: batchMediaType, body: body))
            } else {
                try writer.writeBatch(content)
            }
        case (.batch, _):
            throw MessageError(.batchNotSupported)
        default:
            let sourceFormat = reader.structuredContent.flatMap { formats.format(forMediaType: $0.mediaType) }
            let event = try reader.event(formats: formats)
            try event.write(to: &writer, mode: targetMode, format: format ?? sourceFormat ?? JSONEventFormat())
        }
    }

    /// The structured content a structured or batched `reader` must provide.
    ///
    /// - Throws: ``MessageError/Reason/inconsistentReader(_:)`` naming the reader when it has none.
    static func structuredContent<Reader: MessageReader>(of reader: Reader) throws(MessageError) -> StructuredContent {
        guard let content = reader.structuredContent else {
            throw MessageError(
                .inconsistentReader(
                    "\(Reader.self) reports content mode '\(reader.contentMode)' but provides no structured content"))
        }
        return content
    }
}
