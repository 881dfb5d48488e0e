public import CloudEvents

extension AMQPValue {
    /// The AMQP value an attribute is written as (REFERENCE 3.3's table): Boolean → boolean,
    /// Integer → long, String → string, Binary → binary, URI and URI-reference → string,
    /// Timestamp → timestamp (milliseconds since the epoch, UTC).
    ///
    /// A Timestamp that milliseconds cannot hold exactly (a sub-millisecond fraction, or a leap
    /// second `:60`) is written as its canonical RFC 3339 string instead: the spec lets a
    /// sender forward canonical strings ("SHOULD use native types where efficient, MAY forward
    /// canonical strings"), and this way the instant arrives intact. A millisecond-exact
    /// timestamp keeps its instant but not its UTC offset (REFERENCE 5, edge case 19).
    ///
    /// - Parameter attribute: the attribute's value.
    public init(attribute: AttributeValue) {
        switch attribute {
        case .boolean(let value): self = .boolean(value)
        case .integer(let value): self = .long(Int64(value))
        case .string(let value), .uri(let value), .uriReference(let value): self = .string(value)
        case .binary(let bytes): self = .binary(bytes)
        case .timestamp(let timestamp):
            if let milliseconds = timestamp.exactMillisecondsSinceEpoch {
                self = .timestamp(milliseconds)
            } else {
                self = .string(timestamp.description)
            }
        }
    }

    /// The attribute value this AMQP value carries for attribute `name` (received under `key`).
    ///
    /// Accepted: the native type or the canonical string (strings are handed on as String,
    /// and the event builder parses them to the attribute's type); any AMQP integer type for
    /// Integer when the value is in the 32-bit range; a symbol as a String. An extension the
    /// receiver does not know gets the CloudEvents type its AMQP type maps to.
    ///
    /// - Throws: ``MessageError``: `.invalidEvent` for an integer outside the 32-bit range,
    ///   `.invalidMessage` for an integer `time` (a long is not a timestamp) and for AMQP types
    ///   that carry no CloudEvents type (null, float, double, uuid, char, decimal, compound).
    func attributeValue(name: String, key: String) throws(MessageError) -> AttributeValue {
        switch self {
        case .boolean(let value): return .boolean(value)
        case .string(let value), .symbol(let value): return .string(value)
        case .binary(let bytes): return .binary(bytes)
        case .timestamp(let milliseconds):
            guard let timestamp = Timestamp(millisecondsSinceEpoch: milliseconds) else {
                throw MessageError(
                    .invalidMessage("\(key): AMQP timestamp \(milliseconds) ms is outside the years 0001-9999"))
            }
            return .timestamp(timestamp)
        case .ubyte, .ushort, .uint, .ulong, .byte, .short, .int, .long:
            if name == "time" {
                throw MessageError(
                    .invalidMessage(
                        "\(key): an AMQP \(typeName) is not a timestamp; send an AMQP timestamp or an RFC 3339 string"))
            }
            guard let integer = int32Value else {
                throw MessageError(
                    .invalidEvent(
                        CloudEventValidationError(violations: [
                            Violation(attribute: name, rule: .integerOutOfRange(integerText))
                        ])))
            }
            return .integer(integer)
        case .null, .float, .double, .uuid, .unsupported:
            throw MessageError(
                .invalidMessage(
                    "\(key): an AMQP \(typeName) carries no CloudEvents type (send boolean, long, string, binary or timestamp, or the canonical string)"
                ))
        }
    }

    /// An integer value in the CloudEvents Integer range.
    private var int32Value: Int32? {
        switch self {
        case .ubyte(let value): Int32(value)
        case .ushort(let value): Int32(value)
        case .uint(let value): Int32(exactly: value)
        case .ulong(let value): Int32(exactly: value)
        case .byte(let value): Int32(value)
        case .short(let value): Int32(value)
        case .int(let value): value
        case .long(let value): Int32(exactly: value)
        default: nil
        }
    }

    private var integerText: String {
        switch self {
        case .ubyte(let value): String(value)
        case .ushort(let value): String(value)
        case .uint(let value): String(value)
        case .ulong(let value): String(value)
        case .byte(let value): String(value)
        case .short(let value): String(value)
        case .int(let value): String(value)
        case .long(let value): String(value)
        default: typeName
        }
    }

    /// The value as metadata text: strings and symbols as they are, other scalars in their
    /// canonical form (binary as Base64, timestamps as RFC 3339), `nil` for the rest.
    var metadataText: String? {
        switch self {
        case .string(let value), .symbol(let value): return value
        case .boolean(let value): return value ? "true" : "false"
        case .ubyte, .ushort, .uint, .ulong, .byte, .short, .int, .long: return integerText
        case .binary(let bytes): return AttributeValue.binary(bytes).canonicalString
        case .timestamp(let milliseconds): return Timestamp(millisecondsSinceEpoch: milliseconds)?.description
        case .null, .float, .double, .uuid, .unsupported: return nil
        }
    }
}

extension Timestamp {
    /// The instant in milliseconds since the epoch, when milliseconds hold it exactly (no
    /// sub-millisecond fraction, no leap second).
    var exactMillisecondsSinceEpoch: Int64? {
        guard nanosecond % 1_000_000 == 0, second < 60 else { return nil }
        let (product, overflow) = secondsSinceEpoch.multipliedReportingOverflow(by: 1000)
        guard !overflow else { return nil }
        return product + Int64(nanosecond / 1_000_000)
    }

    /// The UTC timestamp of an AMQP timestamp; `nil` outside the years 1-9999.
    init?(millisecondsSinceEpoch milliseconds: Int64) {
        // 10000-01-01T00:00:00Z; the year 1 is further away below: both ends are checked by
        // Timestamp, this bound only keeps the calendar arithmetic small.
        guard milliseconds.magnitude <= 253_402_300_800_000 else { return nil }
        // Floor division, so that instants before 1970 keep a non-negative fraction (and no
        // arithmetic that could overflow at Int64.min).
        var seconds = milliseconds / 1000
        var remainder = Int(milliseconds % 1000)
        if remainder < 0 {
            seconds -= 1
            remainder += 1000
        }
        guard let timestamp = try? Timestamp(secondsSinceEpoch: seconds, nanosecond: remainder * 1_000_000) else {
            return nil
        }
        self = timestamp
    }
}
