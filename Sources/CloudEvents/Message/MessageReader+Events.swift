extension MessageReader {
    /// Decodes the one event this message carries.
    ///
    /// - Parameter formats: the formats to try for a structured body, by media type.
    /// - Throws: ``MessageError``: ``MessageError/Reason/isBatch`` for a batch, an
    ///   unsupported format, or why the event is invalid.
    ///   - extensionTypes: types for binary-mode extensions, which arrive as strings.
    public func event(
        formats: EventFormatRegistry = .standard, extensionTypes: ExtensionTypes = .none
    ) throws(MessageError) -> CloudEvent {
        switch contentMode {
        case .binary:
            var builder = CloudEventBuilder(extensionTypes: extensionTypes)
            try readBinary(into: &builder)
            return try builder.build()
        case .structured:
            let content = try requireContent()
            guard let format = formats.format(forMediaType: content.mediaType) else {
                throw MessageError(.unsupportedFormat(content.mediaType))
            }
            let event: CloudEvent
            do { event = try format.decode(content.body) } catch { throw MessageError(.format(error)) }
            return try Self.applying(extensionTypes, to: event)
        case .batch:
            throw MessageError(.isBatch)
        }
    }

    /// Decodes every event: one for binary and structured messages, all of a batch.
    public func events(
        formats: EventFormatRegistry = .standard, extensionTypes: ExtensionTypes = .none
    ) throws(MessageError) -> [CloudEvent] {
        guard contentMode == .batch else { return [try event(formats: formats, extensionTypes: extensionTypes)] }
        let content = try requireContent()
        guard let format = formats.format(forBatchMediaType: content.mediaType) else {
            throw MessageError(.unsupportedFormat(content.mediaType))
        }
        let events: [CloudEvent]
        do { events = try format.decodeBatch(content.body) } catch { throw MessageError(.format(error)) }
        var typed: [CloudEvent] = []
        typed.reserveCapacity(events.count)
        for event in events { typed.append(try Self.applying(extensionTypes, to: event)) }
        return typed
    }

    /// Extensions a format decoded as Strings, converted to their registered types.
    private static func applying(_ extensionTypes: ExtensionTypes, to event: CloudEvent) throws(MessageError) -> CloudEvent {
        guard !extensionTypes.types.isEmpty else { return event }
        var typed = event
        var violations: [Violation] = []
        for (name, value) in event.extensions {
            do { typed.extensions[name] = try extensionTypes.typed(value, for: name) } catch {
                violations.append(Violation(attribute: name, rule: error))
            }
        }
        guard violations.isEmpty else {
            throw MessageError(.invalidEvent(CloudEventValidationError(violations: violations)))
        }
        return typed
    }

    private func requireContent() throws(MessageError) -> StructuredContent {
        try MessageTranscoder.structuredContent(of: self)
    }
}
