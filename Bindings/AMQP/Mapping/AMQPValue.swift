/// An AMQP 1.0 value as the binding reads and writes it: every AMQP scalar the CloudEvents
/// mapping can meet, and ``unsupported(_:)`` naming anything else (a list, map, array,
/// described value, decimal or char) so that a refusal can say what arrived.
public enum AMQPValue: Sendable, Hashable {
    /// The AMQP `null`.
    case null
    /// `boolean`.
    case boolean(Bool)
    /// `ubyte`.
    case ubyte(UInt8)
    /// `ushort`.
    case ushort(UInt16)
    /// `uint`.
    case uint(UInt32)
    /// `ulong`.
    case ulong(UInt64)
    /// `byte`.
    case byte(Int8)
    /// `short`.
    case short(Int16)
    /// `int`.
    case int(Int32)
    /// `long`.
    case long(Int64)
    /// `float`.
    case float(Float)
    /// `double`.
    case double(Double)
    /// `timestamp`: milliseconds since the Unix epoch (UTC).
    case timestamp(Int64)
    /// `uuid`: its 16 bytes, in network order.
    case uuid([UInt8])
    /// `binary`.
    case binary([UInt8])
    /// `string` (UTF-8).
    case string(String)
    /// `symbol` (ASCII).
    case symbol(String)
    /// A value of a type the binding does not carry: its AMQP type name (`list`, `map`,
    /// `array`, `described`, `decimal128`, `char`, ...), for error messages.
    case unsupported(String)

    /// The AMQP type name, as the AMQP 1.0 type system spells it (`long`, `timestamp`, ...).
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
        case .unsupported(let name): name
        }
    }
}
