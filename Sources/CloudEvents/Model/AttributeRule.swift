/// A CloudEvents rule that an attribute name or value breaks.
///
/// Paired with the attribute's name in ``Violation``; its ``description`` is a short
/// sentence meant for an error message.
public enum AttributeRule: Error, Sendable, Hashable, CustomStringConvertible {
    /// A required attribute is absent (or JSON `null`).
    case missing
    /// A required or non-empty attribute is the empty string.
    case empty
    /// The name uses characters other than `a`-`z` and `0`-`9`, or is empty.
    case invalidName
    /// The name is reserved (`data`) or belongs to a core attribute.
    case reservedName
    /// The value has the wrong type for this attribute.
    case wrongType(expected: AttributeType, actual: AttributeType)
    /// A String contains a character the CloudEvents String type excludes.
    case invalidCharacter(scalar: UInt32, reason: String)
    /// Text that is not valid UTF-8.
    case invalidUTF8
    /// A Boolean other than exactly `true` or `false`.
    case invalidBoolean(String)
    /// An Integer that is not an optional `-` followed by decimal digits.
    case invalidInteger(String)
    /// An Integer outside -2,147,483,648...2,147,483,647.
    case integerOutOfRange(String)
    /// Binary text that is not RFC 4648 Base64 with padding.
    case invalidBase64
    /// A URI that is not absolute (it has no scheme) or has invalid characters.
    case invalidURI(String)
    /// A URI-reference with invalid characters or percent-escapes.
    case invalidURIReference(String)
    /// A Timestamp that is not RFC 3339 `date-time`.
    case invalidTimestamp(String, TimestampError)
    /// A JSON value of a type no attribute of this kind can have (e.g. an object, or a
    /// number where a String is required).
    case invalidJSONType(expected: String, found: String)
    /// A value the attribute's definition does not allow (e.g. `datacontentencoding` other than `base64`).
    case unsupportedValue(String)

    /// The rule as the end of a sentence about the attribute, e.g. `must not be empty`.
    public var description: String {
        switch self {
        case .missing: "is required but missing"
        case .empty: "must not be empty"
        case .invalidName: "is not a valid attribute name (only a-z and 0-9, at least one character)"
        case .reservedName: "is a reserved name"
        case .wrongType(let expected, let actual): "must be of type \(expected), got \(actual)"
        case .invalidCharacter(let scalar, let reason):
            "contains \(Self.hex(scalar)), which a CloudEvents String must not contain (\(reason))"
        case .invalidUTF8: "is not valid UTF-8"
        case .invalidBoolean(let text): "must be exactly true or false, got '\(text)'"
        case .invalidInteger(let text): "must be a whole decimal number with an optional '-', got '\(text)'"
        case .integerOutOfRange(let text): "must be within the signed 32-bit range, got \(text)"
        case .invalidBase64: "is not valid Base64 (RFC 4648, standard alphabet, padded)"
        case .invalidURI(let text): "must be an absolute URI (RFC 3986 §4.3), got '\(text)'"
        case .invalidURIReference(let text): "must be a URI reference (RFC 3986 §4.1), got '\(text)'"
        case .invalidTimestamp(let text, let error): "must be an RFC 3339 timestamp, got '\(text)': \(error)"
        case .invalidJSONType(let expected, let found): "must be \(expected), got a JSON \(found)"
        case .unsupportedValue(let text): "has an unsupported value '\(text)'"
        }
    }

    private static func hex(_ scalar: UInt32) -> String {
        let digits = String(scalar, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}

/// One broken rule: which attribute, and which rule.
public struct Violation: Error, Sendable, Hashable, CustomStringConvertible {
    /// The attribute's name, e.g. `time` or `comexampleextension`.
    public var attribute: String
    /// The rule the attribute breaks.
    public var rule: AttributeRule

    /// A violation of `rule` by the attribute named `attribute`.
    public init(attribute: String, rule: AttributeRule) {
        self.attribute = attribute
        self.rule = rule
    }

    /// The attribute and the rule, e.g. `attribute 'id' must not be empty`.
    public var description: String { "attribute '\(attribute)' \(rule)" }
}

/// The error ``CloudEvent/validate()`` throws: every violation it found, not just the first.
public struct CloudEventValidationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The violations, in attribute order (specversion, id, source, type, optional, extensions).
    public var violations: [Violation]

    /// An error reporting `violations`, in the order given.
    public init(violations: [Violation]) {
        self.violations = violations
    }

    /// Every violation's description, joined by `; `.
    public var description: String {
        violations.map(\.description).joined(separator: "; ")
    }
}
