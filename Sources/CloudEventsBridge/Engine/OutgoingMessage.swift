import CloudEvents

/// Builds what a route sends: the buffered message in the route's output mode, with W3C
/// trace context in its metadata, and the dead-letter form of an event that failed.
struct OutgoingMessage: Sendable {
    let outputMode: OutputMode
    /// The sink's format, for structured output.
    let sinkFormat: any EventFormat
    let formats: EventFormatRegistry

    /// `message` in the output mode. A message already in that mode (and, for structured,
    /// that format) is sent as it is, bytes untouched; otherwise it is decoded and written
    /// again. A batch is always sent as it is (binary mode cannot carry one).
    ///
    /// - Throws: ``MessageError`` when the message has to be decoded and is not a valid event.
    func convert(_ message: Message) throws(MessageError) -> Message {
        var converted: Message
        switch (outputMode, message.content) {
        case (.same, _), (_, .batch), (.binary, .binary):
            converted = message
        case (.structured, .structured(let content)) where MediaType(content.mediaType)?.isSame(as: sinkFormat.mediaType) == true:
            converted = message
        case (.binary, _):
            converted = try Message(try message.event(formats: formats), mode: .binary)
        case (.structured, _):
            converted = try Message(try message.event(formats: formats), mode: .structured, format: sinkFormat)
        }
        converted.metadata = message.metadata
        Self.carryTraceContext(from: message, into: &converted)
        return converted
    }

    /// Trace context travels as metadata (`traceparent`, `tracestate`: an MQTT 5 User
    /// Property or an HTTP header), which sink bindings write as W3C headers. When the source
    /// carried none, the event's own `traceparent`/`tracestate` extensions (the CloudEvents
    /// Distributed Tracing extension) are used.
    static func carryTraceContext(from message: Message, into outgoing: inout Message) {
        guard case .binary(let attributes, _) = message.content else { return }
        for name in ["traceparent", "tracestate"] where outgoing.metadata[name] == nil {
            if let value = attributes.first(where: { $0.name == name })?.value.stringValue { outgoing.metadata[name] = value }
        }
    }

    /// The dead-letter form of `event`: the event itself (decoded, in binary mode) with
    /// extension attributes saying why, or, when it is not a readable event, a wrapping event
    /// of type `io.cloudevents.bridge.undecodable` whose data is the payload as it arrived.
    ///
    /// Extensions: `deadletterreason` (String), `deadletterattempts` (Integer),
    /// `deadletterstatus` (Integer, the sink's last answer, when it answered),
    /// `deadlettererror` (String, the last failure), `deadletterroute` (String).
    func deadLetter(_ event: BufferedEvent, route: String, reason: String) -> Message? {
        var cloudEvent: CloudEvent
        if event.deadLetterReason == nil, let decoded = try? event.message.event(formats: formats) {
            cloudEvent = decoded
        } else {
            let address = Intake.address(of: event.message)
            guard
                let wrapped = try? Intake.wrap(
                    event.message, address: address, type: "io.cloudevents.bridge.undecodable", source: "/ce-bridge/\(route)"),
                let decoded = try? wrapped.event(formats: formats)
            else { return nil }
            cloudEvent = decoded
        }
        cloudEvent.extensions["deadletterreason"] = .string(reason)
        cloudEvent.extensions["deadletterattempts"] = .integer(Int32(clamping: event.attempts))
        if let status = event.lastStatus { cloudEvent.extensions["deadletterstatus"] = .integer(Int32(clamping: status)) }
        if let error = event.lastError { cloudEvent.extensions["deadlettererror"] = .string(error) }
        cloudEvent.extensions["deadletterroute"] = .string(route)
        guard var message = try? Message(cloudEvent, mode: .binary) else { return nil }
        message.metadata = event.message.metadata
        Self.carryTraceContext(from: event.message, into: &message)
        return message
    }
}

extension MediaType {
    /// Whether `other` (a format's media type) names the same type and subtype.
    fileprivate func isSame(as other: String) -> Bool {
        guard let other = MediaType(other) else { return false }
        return type.lowercased() == other.type.lowercased() && subtype.lowercased() == other.subtype.lowercased()
    }
}
