/// A CloudEvent: context attributes plus optional data.
///
/// A value type: copy it, send it across tasks, compare it. Attributes are plain properties;
/// nothing is checked when you set them. ``validate()`` checks every rule and reports
/// every violation, and encoders refuse an invalid event, so an invalid event never reaches
/// the wire.
///
/// ```swift
/// var event = CloudEvent(id: "A234-1234-1234", source: "/sensors/tn-1234567", type: "com.example.reading")
/// event.time = .now()
/// event.extensions["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
/// event.data = .json(try RawJSON(validating: #"{"celsius": 21.5}"#))
/// event.dataContentType = "application/json"
/// ```
public struct CloudEvent: Sendable, Hashable {
    /// `specversion`: which specification the event follows.
    public var specVersion: SpecVersion
    /// `id` (String, required, non-empty). `source` + `id` identify the event.
    public var id: String
    /// `source` (URI-reference, required, non-empty).
    public var source: String
    /// `type` (String, required, non-empty), e.g. `com.github.pull_request.opened`.
    public var type: String
    /// `datacontenttype`: the RFC 2046 media type of ``data``.
    public var dataContentType: String?
    /// `dataschema` (URI) in 1.0, `schemaurl` (URI-reference) in 0.3.
    public var dataSchema: String?
    /// `subject` (String, non-empty).
    public var subject: String?
    /// `time` (Timestamp).
    public var time: Timestamp?
    /// Extension attributes: every other attribute, by name.
    public var extensions: ExtensionAttributes
    /// The payload; `nil` when the event has no data.
    public var data: EventData?

    /// An event with the three required attributes `id`, `source` and `type`, and any of the
    /// optional ones. `specVersion` defaults to 1.0; everything else is absent by default.
    /// Nothing is checked here: call ``validate()``, or let an encoder refuse the event.
    @inlinable
    public init(
        id: String, source: String, type: String, specVersion: SpecVersion = .v1_0,
        dataContentType: String? = nil, dataSchema: String? = nil, subject: String? = nil,
        time: Timestamp? = nil, extensions: ExtensionAttributes = [:], data: EventData? = nil
    ) {
        self.specVersion = specVersion
        self.id = id
        self.source = source
        self.type = type
        self.dataContentType = dataContentType
        self.dataSchema = dataSchema
        self.subject = subject
        self.time = time
        self.extensions = extensions
        self.data = data
    }
}

extension CloudEvent {
    /// Every attribute that is set, `specversion` first, then the other core attributes,
    /// then extensions in their order. Each value has the type the spec defines for it.
    public var attributes: [(name: String, value: AttributeValue)] {
        var result: [(name: String, value: AttributeValue)] = []
        result.reserveCapacity(8 + extensions.count)
        forEachAttribute { result.append(($0, $1)) }
        return result
    }

    /// Calls `body` for every attribute that is set, in the order of ``attributes``,
    /// without building an array (bindings' writers use this).
    public func forEachAttribute<E: Error>(_ body: (String, AttributeValue) throws(E) -> Void) throws(E) {
        try body("specversion", .string(specVersion.rawValue))
        try body("id", .string(id))
        try body("source", .uriReference(source))
        try body("type", .string(type))
        if let dataContentType { try body("datacontenttype", .string(dataContentType)) }
        if let dataSchema {
            try body(
                specVersion.dataSchemaAttributeName,
                specVersion == .v1_0 ? .uri(dataSchema) : .uriReference(dataSchema))
        }
        if let subject { try body("subject", .string(subject)) }
        if let time { try body("time", .timestamp(time)) }
        for (name, value) in extensions { try body(name, value) }
    }

    /// The value of any attribute, core or extension, by name.
    public subscript(attribute name: String) -> AttributeValue? {
        switch name {
        case "specversion": .string(specVersion.rawValue)
        case "id": .string(id)
        case "source": .uriReference(source)
        case "type": .string(type)
        case "datacontenttype": dataContentType.map(AttributeValue.string)
        case "subject": subject.map(AttributeValue.string)
        case "time": time.map(AttributeValue.timestamp)
        case specVersion.dataSchemaAttributeName:
            dataSchema.map { specVersion == .v1_0 ? .uri($0) : .uriReference($0) }
        default: extensions[name]
        }
    }

    /// Sets any attribute by name. Core attributes take their own type, or a String in their
    /// canonical form (as header bindings deliver them); anything else becomes an extension.
    ///
    /// - Throws: ``Violation`` when a core attribute gets a value of the wrong type or an
    ///   invalid canonical string, or when `specversion` is unsupported.
    public mutating func setAttribute(_ name: String, to value: AttributeValue) throws(Violation) {
        func text() throws(Violation) -> String {
            guard let text = value.stringValue else {
                throw Violation(attribute: name, rule: .wrongType(expected: .string, actual: value.type))
            }
            return text
        }
        switch name {
        case "specversion":
            guard let version = SpecVersion(rawValue: try text()) else {
                throw Violation(attribute: name, rule: .unsupportedValue(value.canonicalString))
            }
            specVersion = version
        case "id": id = try text()
        case "source": source = try text()
        case "type": type = try text()
        case "datacontenttype": dataContentType = try text()
        case "subject": subject = try text()
        case "time":
            switch value {
            case .timestamp(let timestamp): time = timestamp
            case .string(let text):
                do { time = try Timestamp(rfc3339: text) } catch {
                    throw Violation(attribute: name, rule: .invalidTimestamp(text, error))
                }
            default: throw Violation(attribute: name, rule: .wrongType(expected: .timestamp, actual: value.type))
            }
        case specVersion.dataSchemaAttributeName: dataSchema = try text()
        default: extensions[name] = value
        }
    }
}
