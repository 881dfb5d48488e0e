/// An AMQP 1.0 value exactly as it was encoded (AMQP 1.0 part 1, "Types"), read by this
/// module's own decoder so that the wire-shape rows judge AMQP types without proton or the
/// AMQP binding: `long` and `int` stay apart, a `symbol` is not a `string`.
public indirect enum RawAMQPValue: Sendable, Hashable, CustomStringConvertible {
    case null
    case boolean(Bool)
    case ubyte(UInt8)
    case ushort(UInt16)
    case uint(UInt32)
    case ulong(UInt64)
    case byte(Int8)
    case short(Int16)
    case int(Int32)
    case long(Int64)
    /// The IEEE 754 bits, so that equality is bit equality (NaN included).
    case float(bitPattern: UInt32)
    /// The IEEE 754 bits, so that equality is bit equality (NaN included).
    case double(bitPattern: UInt64)
    /// `timestamp`: milliseconds since the Unix epoch.
    case timestamp(Int64)
    case uuid([UInt8])
    case binary([UInt8])
    case string(String)
    case symbol(String)
    case list([RawAMQPValue])
    /// A map's entries in wire order (keys need not be unique or strings on the wire).
    case map([RawAMQPMapEntry])
    /// An array's elements (one constructor for all on the wire).
    case array([RawAMQPValue])
    case described(descriptor: RawAMQPValue, value: RawAMQPValue)
    /// A type this decoder skips by its width (`decimal32`, `char`, ...): its AMQP name.
    case other(typeName: String)

    /// The AMQP type name (`long`, `timestamp`, `symbol`, `described`, ...).
    public var typeName: String {
        switch self {
        case .null: "null"
        case .boolean: "boolean"
        case .ubyte: "ubyte"
        case .ushort: "ushort"
        case .uint: "uint"
        case .ulong: "ulong"
        case .byte: "byte"
        case .short: "short"
        case .int: "int"
        case .long: "long"
        case .float: "float"
        case .double: "double"
        case .timestamp: "timestamp"
        case .uuid: "uuid"
        case .binary: "binary"
        case .string: "string"
        case .symbol: "symbol"
        case .list: "list"
        case .map: "map"
        case .array: "array"
        case .described: "described"
        case .other(let name): name
        }
    }

    /// `type(value)`, e.g. `long(42)`, `string("x")`, `binary(3 bytes)`.
    public var description: String {
        switch self {
        case .null: "null"
        case .boolean(let value): "boolean(\(value))"
        case .ubyte(let value): "ubyte(\(value))"
        case .ushort(let value): "ushort(\(value))"
        case .uint(let value): "uint(\(value))"
        case .ulong(let value): "ulong(\(value))"
        case .byte(let value): "byte(\(value))"
        case .short(let value): "short(\(value))"
        case .int(let value): "int(\(value))"
        case .long(let value): "long(\(value))"
        case .float(let bits): "float(\(Float(bitPattern: bits)))"
        case .double(let bits): "double(\(Double(bitPattern: bits)))"
        case .timestamp(let value): "timestamp(\(value) ms)"
        case .uuid(let bytes): "uuid(\(bytes.count) bytes)"
        case .binary(let bytes): "binary(\(bytes.count) bytes)"
        case .string(let value): "string(\"\(value)\")"
        case .symbol(let value): "symbol(\"\(value)\")"
        case .list(let items): "list(\(items.count) items)"
        case .map(let entries): "map(\(entries.count) entries)"
        case .array(let items): "array(\(items.count) items)"
        case .described(let descriptor, let value): "described(\(descriptor), \(value))"
        case .other(let name): name
        }
    }

    /// The descriptor as a section code when it is one (`ulong` or the section's symbol).
    var descriptorCode: UInt64? {
        switch self {
        case .ulong(let code): return code
        case .symbol(let name):
            return RawAMQPSection.Kind.allCases.first { $0.symbol == name }.map { $0.rawValue }
        default: return nil
        }
    }
}

/// One entry of an AMQP map, as it was on the wire.
public struct RawAMQPMapEntry: Sendable, Hashable {
    /// The key.
    public var key: RawAMQPValue
    /// The value.
    public var value: RawAMQPValue

    /// An entry.
    ///
    /// - Parameters:
    ///   - key: the key.
    ///   - value: the value.
    public init(_ key: RawAMQPValue, _ value: RawAMQPValue) {
        self.key = key
        self.value = value
    }
}

/// Why bytes are not an AMQP message: what was being read, at which byte offset.
public struct RawAMQPDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The byte offset where decoding stopped.
    public var offset: Int
    /// What was wrong.
    public var reason: String

    /// `AMQP decoding failed at byte N: reason`.
    public var description: String { "AMQP decoding failed at byte \(offset): \(reason)" }
}
