/// An event is a binary-mode message: reading it visits its attributes and data, which is
/// how every binding writes an event in binary mode.
extension CloudEvent: MessageReader {
    /// Always ``ContentMode/binary``: an event is read as its attributes and data.
    public var contentMode: ContentMode { .binary }

    /// Always `nil`: an event has no encoded body until a format encodes it.
    public var structuredContent: StructuredContent? { nil }

    /// Visits the attributes, then the data as body bytes.
    ///
    /// An event with JSON data but no `datacontenttype` (the JSON format implies
    /// `application/json`) gets `datacontenttype: application/json` written explicitly, as
    /// the spec says to when leaving the JSON format; `data_base64`-only data gets none.
    public func readBinary<Writer: BinaryMessageWriter>(into writer: inout Writer) throws(MessageError) {
        try forEachAttribute { (name, value) throws(MessageError) in try writer.writeAttribute(name, value) }
        guard let data else { return }
        if dataContentType == nil {
            switch data {
            case .json, .text: try writer.writeAttribute("datacontenttype", .string("application/json"))
            case .binary: break
            }
        }
        try writer.writeData(data.bodyBytes(contentType: dataContentType))
    }

    /// Writes this event to `writer` in `mode`, encoding with `format` in structured and
    /// batch mode (a single event becomes a batch of one).
    ///
    /// - Throws: ``MessageError`` when the event is invalid or the writer refuses.
    public func write<Writer: MessageWriter>(
        to writer: inout Writer, mode: ContentMode, format: any EventFormat = JSONEventFormat()
    ) throws(MessageError) {
        switch mode {
        case .binary:
            do { try validate() } catch { throw MessageError(.invalidEvent(error)) }
            try readBinary(into: &writer)
        case .structured:
            do {
                try writer.writeStructured(StructuredContent(mediaType: format.mediaType, body: try format.encode(self)))
            } catch let error as EventFormatError {
                throw MessageError(.format(error))
            } catch let error as MessageError {
                throw error
            } catch {
                throw MessageError(.invalidMessage("\(error)"))
            }
        case .batch:
            guard let batchMediaType = format.batchMediaType else { throw MessageError(.batchNotSupported) }
            let body: [UInt8]
            do { body = try format.encodeBatch([self]) } catch { throw MessageError(.format(error)) }
            try writer.writeBatch(StructuredContent(mediaType: batchMediaType, body: body))
        }
    }
}
