/// The seven CloudEvents attribute types of specification 1.0.
public enum AttributeType: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case boolean = "Boolean"
    case integer = "Integer"
    case string = "String"
    case binary = "Binary"
    case uri = "URI"
    case uriReference = "URI-reference"
    case timestamp = "Timestamp"

    /// The type's name as the spec writes it, e.g. `URI-reference`.
    public var description: String { rawValue }

    /// Parses a type name case-insensitively: `Boolean`, `integer`, `uri-reference`, `uriref`...
    public init?(name: String) {
        switch name.lowercased() {
        case "boolean", "bool": self = .boolean
        case "integer", "int": self = .integer
        case "string": self = .string
        case "binary", "bytes": self = .binary
        case "uri": self = .uri
        case "uri-reference", "urireference", "uriref": self = .uriReference
        case "timestamp", "time": self = .timestamp
        default: return nil
        }
    }
}
