/// A typed CloudEvents attribute value.
///
/// Every value has a canonical string form (``canonicalString``), which is what header-based
/// bindings (HTTP, MQTT, NATS) carry, and can be parsed back from it with
/// ``init(canonicalString:as:)``.
public enum AttributeValue: Sendable, Hashable {
    case boolean(Bool)
    /// A signed 32-bit integer: the only range CloudEvents allows.
    case integer(Int32)
    case string(String)
    case binary([UInt8])
    /// An absolute URI (RFC 3986 §4.3).
    case uri(String)
    /// A URI reference (RFC 3986 §4.1), which may be relative.
    case uriReference(String)
    case timestamp(Timestamp)

    /// The CloudEvents type of this value.
    public var type: AttributeType {
        switch self {
        case .boolean: .boolean
        case .integer: .integer
        case .string: .string
        case .binary: .binary
        case .uri: .uri
        case .uriReference: .uriReference
        case .timestamp: .timestamp
        }
    }

    /// The canonical string form: `true`/`false`, decimal integers, Base64 (RFC 4648,
    /// padded), RFC 3339 timestamps; strings, URIs and URI references as they are.
    public var canonicalString: String {
        switch self {
        case .boolean(let value): value ? "true" : "false"
        case .integer(let value): String(value)
        case .string(let value), .uri(let value), .uriReference(let value): value
        case .binary(let bytes): Base64.encodeToString(bytes)
        case .timestamp(let timestamp): timestamp.description
        }
    }

    /// The value when it is a string-like type (String, URI, URI-reference), else `nil`.
    public var stringValue: String? {
        switch self {
        case .string(let value), .uri(let value), .uriReference(let value): value
        default: nil
        }
    }

    /// Parses a canonical string into a value of `type`.
    ///
    /// - Throws: ``AttributeRule`` naming the rule the text breaks.
    public init(canonicalString text: String, as type: AttributeType) throws(AttributeRule) {
        switch type {
        case .boolean:
            // Case-sensitive: `True` and `TRUE` are not valid.
            switch text {
            case "true": self = .boolean(true)
            case "false": self = .boolean(false)
            default: throw .invalidBoolean(text)
            }
        case .integer:
            self = .integer(try Self.parseCanonicalInteger(text))
        case .string:
            try AttributeRules.checkString(text)
            self = .string(text)
        case .binary:
            guard let bytes = Base64.decode(text) else { throw .invalidBase64 }
            self = .binary(bytes)
        case .uri:
            try AttributeRules.checkURI(text)
            self = .uri(text)
        case .uriReference:
            try AttributeRules.checkURIReference(text)
            self = .uriReference(text)
        case .timestamp:
            do {
                self = .timestamp(try Timestamp(rfc3339: text))
            } catch {
                throw .invalidTimestamp(text, error)
            }
        }
    }

    /// The canonical integer form: an optional `-` and decimal digits, no `+`, no fraction,
    /// no exponent, within the signed 32-bit range.
    static func parseCanonicalInteger(_ text: String) throws(AttributeRule) -> Int32 {
        var utf8 = Substring(text).utf8[...]
        var negative = false
        if utf8.first == UInt8(ascii: "-") {
            negative = true
            utf8 = utf8.dropFirst()
        }
        // JSON's integer grammar: no leading zeros ("007"), no '+', at least one digit.
        guard !utf8.isEmpty, utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            utf8.count == 1 || utf8.first != UInt8(ascii: "0")
        else {
            throw .invalidInteger(text)
        }
        guard utf8.count <= 10 else { throw .integerOutOfRange(text) }
        var magnitude: Int64 = 0
        for digit in utf8 { magnitude = magnitude * 10 + Int64(digit - 0x30) }
        let value = negative ? -magnitude : magnitude
        guard let result = Int32(exactly: value) else { throw .integerOutOfRange(text) }
        return result
    }
}

extension AttributeValue: CustomStringConvertible {
    /// The type and the canonical string, e.g. `Integer(42)`.
    public var description: String { "\(type)(\(canonicalString))" }
}

extension AttributeValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral {
    /// A ``string(_:)`` value; write `.uri(...)` or `.uriReference(...)` for those types.
    public init(stringLiteral value: String) { self = .string(value) }
    /// A ``boolean(_:)`` value.
    public init(booleanLiteral value: Bool) { self = .boolean(value) }
    /// An ``integer(_:)`` value.
    public init(integerLiteral value: Int32) { self = .integer(value) }
}
