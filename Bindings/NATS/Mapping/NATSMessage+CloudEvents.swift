public import CloudEvents

extension NATSMessage {
    /// The NATS message for a protocol-independent `message`: a binary message's attributes
    /// as `ce-` headers, a structured body untouched under its `Content-Type`, and the W3C
    /// trace context (`traceparent`, `tracestate`) in its metadata as headers of those names.
    /// For a server without headers (before 2.2) a binary message is transcoded to
    /// structured JSON, the only shape such a server carries.
    ///
    /// - Parameters:
    ///   - subject: the subject to publish to.
    ///   - replyTo: the reply subject, if any.
    ///   - message: the message.
    ///   - serverSupportsHeaders: `false` for a server before 2.2.
    /// - Throws: ``MessageError``: `.batchNotSupported` for a batch (NATS has no batch mode),
    ///   what the writer refuses, or why a binary message is no event when it must be
    ///   transcoded.
    public init(
        subject: String, replyTo: String? = nil, message: Message, serverSupportsHeaders: Bool = true
    ) throws(MessageError) {
        var writer = NATSMessageWriter(subject: subject, replyTo: replyTo, serverSupportsHeaders: serverSupportsHeaders)
        switch message.content {
        case .batch:
            throw MessageError(.batchNotSupported)
        case .structured(let content):
            try writer.writeStructured(content)
        case .binary:
            if serverSupportsHeaders {
                try message.readBinary(into: &writer)
            } else {
                try message.event().write(to: &writer, mode: .structured, format: JSONEventFormat())
            }
        }
        writer.writeTraceContext(from: message.metadata)
        self = writer.natsMessage
    }

    /// The NATS message for `event` in `mode`.
    ///
    /// - Parameters:
    ///   - subject: the subject to publish to.
    ///   - replyTo: the reply subject, if any.
    ///   - event: the event.
    ///   - mode: binary (the default, headers) or structured; NATS has no batch mode.
    ///   - format: the structured-mode format (JSON by default; JSON only without headers).
    ///   - serverSupportsHeaders: `false` for a server before 2.2 (structured JSON only).
    /// - Throws: ``MessageError`` when the event is invalid, for `.batch`
    ///   (`.batchNotSupported`), or when the mode and format need headers the server lacks.
    public init(
        subject: String, replyTo: String? = nil, event: CloudEvent, mode: ContentMode = .binary,
        format: any EventFormat = JSONEventFormat(), serverSupportsHeaders: Bool = true
    ) throws(MessageError) {
        switch mode {
        case .batch:
            throw MessageError(.batchNotSupported)
        case .binary where serverSupportsHeaders:
            // The hot path: headers straight from the event's properties.
            let (headers, payload) = try event.natsBinaryMode()
            self.init(subject: subject, replyTo: replyTo, headers: headers, payload: payload)
        case .binary, .structured:
            var writer = NATSMessageWriter(subject: subject, replyTo: replyTo, serverSupportsHeaders: serverSupportsHeaders)
            try event.write(to: &writer, mode: mode, format: format)
            self = writer.natsMessage
        }
    }
}
