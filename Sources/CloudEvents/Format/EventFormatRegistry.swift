/// The event formats an application understands, looked up by media type or name.
///
/// Bindings use it on receipt to find the format of a structured message. ``standard``
/// holds JSON; `CloudEventsProtobuf` offers a registry with Protobuf added.
public struct EventFormatRegistry: Sendable {
    /// The registered formats, in the order they were added.
    public private(set) var formats: [any EventFormat]

    /// A registry of `formats`; lookups take the first match, so list each name once.
    public init(_ formats: [any EventFormat]) {
        self.formats = formats
    }

    /// JSON only.
    public static let standard = EventFormatRegistry([JSONEventFormat()])

    /// Adds (or replaces, by name) a format.
    public func adding(_ format: any EventFormat) -> EventFormatRegistry {
        var copy = self
        copy.formats.removeAll { $0.name == format.name }
        copy.formats.append(format)
        return copy
    }

    /// The format named `name` (`json`, `protobuf`), case-insensitive.
    public func format(named name: String) -> (any EventFormat)? {
        let name = name.asciiLowercased()
        return formats.first { $0.name == name }
    }

    /// The format whose single-event media type is `mediaType`.
    public func format(forMediaType mediaType: String) -> (any EventFormat)? {
        guard let essence = MediaType(mediaType)?.essence else { return nil }
        return formats.first { $0.mediaType == essence }
    }

    /// The format whose batch media type is `mediaType`.
    public func format(forBatchMediaType mediaType: String) -> (any EventFormat)? {
        guard let essence = MediaType(mediaType)?.essence else { return nil }
        return formats.first { $0.batchMediaType == essence }
    }
}
