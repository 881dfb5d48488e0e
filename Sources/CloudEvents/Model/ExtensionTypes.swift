/// The types of extension attributes whose type the wire cannot carry.
///
/// JSON carries Boolean and Integer natively, but a JSON string may be a String, URI,
/// URI-reference, Timestamp or Binary; header bindings (HTTP, MQTT, NATS) carry only
/// strings. Without help, such values decode as Strings (spec edge case 13). Register the
/// extensions you know, and decoders parse them back to their type, reporting a violation
/// when a value does not fit:
///
/// ```swift
/// let format = JSONEventFormat(extensionTypes: ["expirytime": .timestamp, "dataref": .uriReference])
/// ```
public struct ExtensionTypes: Sendable, Hashable, ExpressibleByDictionaryLiteral {
    /// The registered type of each extension, by name.
    public var types: [String: AttributeType]

    /// A registration of `types`; empty by default (the same as ``none``).
    public init(_ types: [String: AttributeType] = [:]) {
        self.types = types
    }

    /// A registration from a literal; a repeated name takes its last type.
    public init(dictionaryLiteral elements: (String, AttributeType)...) {
        types = Dictionary(elements, uniquingKeysWith: { _, last in last })
    }

    /// No registered types: what the spec alone allows (JSON type inference; Strings from headers).
    public static let none = ExtensionTypes()

    /// The extensions documented in the spec repository (`cloudevents/extensions/`) whose
    /// type is not String.
    public static let documented: ExtensionTypes = [
        "bamptxcompleted": .boolean,
        "dataref": .uriReference,
        "deprecated": .boolean,
        "deprecationfrom": .timestamp,
        "deprecationsunset": .timestamp,
        "deprecationmigration": .uri,
        "dssematerial": .binary,
        "expirytime": .timestamp,
        "opcuametadatamajorversion": .integer,
        "opcuametadataminorversion": .integer,
        "opcuastatus": .integer,
        "recordedtime": .timestamp,
        "sampledrate": .integer,
        "severitynumber": .integer
    ]

    /// The registered type of extension `name`, or `nil` when it has none.
    public subscript(name: String) -> AttributeType? {
        types[name]
    }

    /// Both registrations; `other` wins where they differ.
    public func merging(_ other: ExtensionTypes) -> ExtensionTypes {
        ExtensionTypes(types.merging(other.types, uniquingKeysWith: { _, new in new }))
    }

    /// `value` converted to the registered type of `name`: a String in canonical form is
    /// parsed; a value of the registered type is kept.
    ///
    /// - Throws: ``AttributeRule`` when the value does not fit the registered type.
    package func typed(_ value: AttributeValue, for name: String) throws(AttributeRule) -> AttributeValue {
        guard let type = types[name], type != value.type else { return value }
        switch (value, type) {
        case (.string(let text), _), (.uri(let text), _), (.uriReference(let text), _):
            return try AttributeValue(canonicalString: text, as: type)
        default:
            throw .wrongType(expected: type, actual: value.type)
        }
    }
}
