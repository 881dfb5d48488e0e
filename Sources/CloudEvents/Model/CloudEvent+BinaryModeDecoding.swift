/// What a binding's one-pass binary-mode decoder has read so far (the HTTP, MQTT and NATS
/// fast paths share it): one slot per core attribute of CloudEvents 1.0 that a header or
/// property carries as its value, and the extensions in order.
///
/// Each binding classifies its own header names, decodes values its own way (taken as
/// they are, percent-decoded, or from bytes) and keeps its own rule for
/// `datacontenttype`; what is common is here: a repeat goes to the general path, the
/// extensions get their registered types, and the event is set only when it is 1.0 with
/// `id`, `source` and `type`.
package struct BinaryModeAttributes {
    /// A core attribute with a slot of its own (`datacontenttype` is each binding's).
    package enum Slot: Sendable {
        case specVersion, id, source, type, dataSchema, subject, time
    }

    @usableFromInline var specVersion: String?
    @usableFromInline var id: String?
    @usableFromInline var source: String?
    @usableFromInline var type: String?
    @usableFromInline var dataSchema: String?
    @usableFromInline var subject: String?
    @usableFromInline var time: String?
    /// The extensions read so far, in order.
    @usableFromInline var extensions = ExtensionAttributes()

    @inlinable
    package init() {}

    /// Takes `value` for `slot`, seen for the first time; `false` for a repeat, which the
    /// general path reports. The value moves in (`consuming`).
    @inlinable @inline(__always)
    package mutating func take(_ value: consuming String, for slot: Slot) -> Bool {
        @inline(__always)
        func take(into field: inout String?) -> Bool {
            guard field == nil else { return false }
            field = value
            return true
        }
        switch slot {
        case .specVersion: return take(into: &specVersion)
        case .id: return take(into: &id)
        case .source: return take(into: &source)
        case .type: return take(into: &type)
        case .dataSchema: return take(into: &dataSchema)
        case .subject: return take(into: &subject)
        case .time: return take(into: &time)
        }
    }

    /// Whether the extension `name` has been read already.
    @inlinable
    package func hasExtension(_ name: String) -> Bool {
        extensions[name] != nil
    }

    /// Takes the extension `name` (not read before: see ``hasExtension(_:)``) with its
    /// text, typed as `types` registers it; `false` when the text does not parse as that
    /// type (the general path says why).
    @inlinable @inline(__always)
    package mutating func takeExtension(_ name: String, _ text: String, types: ExtensionTypes) -> Bool {
        if types.types.isEmpty {
            extensions.appendUnchecked(name, .string(text))
        } else {
            guard let typed = try? types.typed(.string(text), for: name) else { return false }
            extensions.appendUnchecked(name, typed)
        }
        return true
    }

    /// Sets every attribute read on `event`, with `dataContentType` and parsing `time`;
    /// `false` (with `event` left unspecified) when the general path must decide: a
    /// `specversion` other than 1.0, a missing `id`, `source` or `type`, or a `time` that
    /// is no RFC 3339 timestamp.
    ///
    /// Data and validation stay with the caller: each binding classifies its body and
    /// knows which characters it has already checked. The values move into the event
    /// (taken out of their slots, the extensions swapped in), so that none is retained
    /// for the event and released here; the slots are left empty.
    @inlinable @inline(__always)
    package mutating func set(on event: inout CloudEvent, dataContentType: consuming String?) -> Bool {
        guard specVersion == SpecVersion.v1_0.rawValue, id != nil, source != nil, type != nil else { return false }
        if let time {
            guard let timestamp = try? Timestamp(rfc3339: time) else { return false }
            event.time = timestamp
        } else {
            event.time = nil
        }
        event.specVersion = .v1_0
        event.id = id.take()!
        event.source = source.take()!
        event.type = type.take()!
        event.dataContentType = dataContentType
        event.dataSchema = dataSchema.take()
        event.subject = subject.take()
        swap(&event.extensions, &extensions)
        return true
    }
}

extension BinaryModeAttributes.Slot {
    /// The slot of a header the core codec classified (HTTP's and NATS's); `nil` for
    /// `Content-Type`, `ce-datacontenttype`, an extension and other headers.
    @inlinable
    package init?(_ header: HeaderAttributeCodec.Header) {
        switch header {
        case .specVersion: self = .specVersion
        case .id: self = .id
        case .source: self = .source
        case .type: self = .type
        case .dataSchema: self = .dataSchema
        case .subject: self = .subject
        case .time: self = .time
        case .contentType, .dataContentType, .extension, .other: return nil
        }
    }
}

extension CloudEvent {
    /// The event a binding's one-pass decoder starts from and fills in with
    /// ``BinaryModeAttributes/set(on:dataContentType:)``: built once, so that starting
    /// costs a copy of empty values, not a call to the initialiser with its copies of
    /// every parameter.
    package static let decodingPlaceholder = CloudEvent(id: "", source: "", type: "")
}
