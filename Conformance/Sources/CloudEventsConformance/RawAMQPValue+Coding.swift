/// Reads AMQP 1.0 encoded values (part 1 §1.6, the format codes) from bytes, keeping each
/// value's exact type. Independent of proton: the wire-shape rows must not trust the library
/// that wrote the message to also read it.
struct RawAMQPReader {
    let bytes: [UInt8]
    var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { offset >= bytes.count }

    func failure(_ reason: String) -> RawAMQPDecodingError { RawAMQPDecodingError(offset: offset, reason: reason) }

    mutating func take(_ count: Int) throws(RawAMQPDecodingError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - offset else {
            throw failure("\(count) bytes needed, \(bytes.count - offset) left")
        }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    mutating func unsigned(_ width: Int) throws(RawAMQPDecodingError) -> UInt64 {
        try take(width).reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// One value: a constructor (format code, or `0x00` descriptor + constructor) and its data.
    mutating func value() throws(RawAMQPDecodingError) -> RawAMQPValue {
        let code = try unsigned(1)
        if code == 0x00 {
            let descriptor = try value()
            return .described(descriptor: descriptor, value: try value())
        }
        return try value(code: UInt8(code))
    }

    /// The data of a value whose constructor was `code`.
    mutating func value(code: UInt8) throws(RawAMQPDecodingError) -> RawAMQPValue {
        switch code {
        case 0x40: return .null
        case 0x41: return .boolean(true)
        case 0x42: return .boolean(false)
        case 0x56:
            switch try unsigned(1) {
            case 0: return .boolean(false)
            case 1: return .boolean(true)
            case let other: throw failure("boolean byte \(other) is neither 0 nor 1")
            }
        case 0x50: return .ubyte(UInt8(try unsigned(1)))
        case 0x60: return .ushort(UInt16(try unsigned(2)))
        case 0x70: return .uint(UInt32(try unsigned(4)))
        case 0x52: return .uint(UInt32(try unsigned(1)))
        case 0x43: return .uint(0)
        case 0x80: return .ulong(try unsigned(8))
        case 0x53: return .ulong(try unsigned(1))
        case 0x44: return .ulong(0)
        case 0x51: return .byte(Int8(bitPattern: UInt8(try unsigned(1))))
        case 0x61: return .short(Int16(bitPattern: UInt16(try unsigned(2))))
        case 0x71: return .int(Int32(bitPattern: UInt32(try unsigned(4))))
        case 0x54: return .int(Int32(Int8(bitPattern: UInt8(try unsigned(1)))))
        case 0x81: return .long(Int64(bitPattern: try unsigned(8)))
        case 0x55: return .long(Int64(Int8(bitPattern: UInt8(try unsigned(1)))))
        case 0x72: return .float(bitPattern: UInt32(try unsigned(4)))
        case 0x82: return .double(bitPattern: try unsigned(8))
        case 0x83: return .timestamp(Int64(bitPattern: try unsigned(8)))
        case 0x98: return .uuid(Array(try take(16)))
        case 0x74:
            _ = try take(4)
            return .other(typeName: "decimal32")
        case 0x84:
            _ = try take(8)
            return .other(typeName: "decimal64")
        case 0x94:
            _ = try take(16)
            return .other(typeName: "decimal128")
        case 0x73:
            _ = try take(4)
            return .other(typeName: "char")
        case 0xA0, 0xB0: return .binary(Array(try take(Int(try unsigned(code == 0xA0 ? 1 : 4)))))
        case 0xA1, 0xB1, 0xA3, 0xB3:
            let start = offset
            let text = try take(Int(try unsigned(code & 0x10 == 0 ? 1 : 4)))
            guard let string = String(validating: text, as: UTF8.self) else {
                offset = start
                throw failure("\(code & 0x02 == 0 ? "string" : "symbol") is not valid UTF-8")
            }
            return code & 0x02 == 0 ? .string(string) : .symbol(string)
        case 0x45: return .list([])
        case 0xC0, 0xD0, 0xC1, 0xD1: return try compound(code: code)
        case 0xE0, 0xF0: return try array(wide: code == 0xF0)
        default: throw failure("unknown AMQP format code 0x\(String(code, radix: 16, uppercase: true))")
        }
    }

    /// A list or map: size, count, then count values (a map's count is keys + values).
    private mutating func compound(code: UInt8) throws(RawAMQPDecodingError) -> RawAMQPValue {
        let width = code & 0x10 == 0 ? 1 : 4
        let size = Int(try unsigned(width))
        let end = offset + size
        guard size >= width, end <= bytes.count else { throw failure("compound size \(size) runs past the end") }
        let count = Int(try unsigned(width))
        var items: [RawAMQPValue] = []
        for _ in 0..<count {
            items.append(try value())
            guard offset <= end else { throw failure("a compound's items run past its size \(size)") }
        }
        guard offset == end else { throw failure("a compound's items end before its size \(size)") }
        if code & 0x01 == 0 { return .list(items) }
        guard items.count.isMultiple(of: 2) else { throw failure("a map has an odd count \(count)") }
        return .map(stride(from: 0, to: items.count, by: 2).map { RawAMQPMapEntry(items[$0], items[$0 + 1]) })
    }

    /// An array: size, count, one constructor, then count values' data.
    private mutating func array(wide: Bool) throws(RawAMQPDecodingError) -> RawAMQPValue {
        let width = wide ? 4 : 1
        let size = Int(try unsigned(width))
        let end = offset + size
        guard size >= width, end <= bytes.count else { throw failure("array size \(size) runs past the end") }
        let count = Int(try unsigned(width))
        var code = UInt8(try unsigned(1))
        var descriptor: RawAMQPValue?
        if code == 0x00 {
            descriptor = try value()
            code = UInt8(try unsigned(1))
        }
        var items: [RawAMQPValue] = []
        for _ in 0..<count {
            let item = try value(code: code)
            items.append(descriptor.map { .described(descriptor: $0, value: item) } ?? item)
        }
        guard offset == end else { throw failure("an array's elements do not fill its size \(size)") }
        return .array(items)
    }
}

/// Writes AMQP 1.0 values with the widest fixed encodings (any valid encoding will do for
/// the raw sender and the round-trip tests), except a `ulong` below 256 as `smallulong`, the
/// encoding proton and most senders give section descriptors.
struct RawAMQPWriter {
    var bytes: [UInt8] = []

    mutating func unsigned(_ value: UInt64, _ width: Int) {
        for shift in stride(from: (width - 1) * 8, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }

    mutating func write(_ value: RawAMQPValue) {
        switch value {
        case .null: bytes.append(0x40)
        case .boolean(let flag): bytes.append(flag ? 0x41 : 0x42)
        case .ubyte(let number):
            bytes.append(0x50)
            unsigned(UInt64(number), 1)
        case .ushort(let number):
            bytes.append(0x60)
            unsigned(UInt64(number), 2)
        case .uint(let number):
            bytes.append(0x70)
            unsigned(UInt64(number), 4)
        case .ulong(let number) where number < 256:
            bytes.append(0x53)
            unsigned(number, 1)
        case .ulong(let number):
            bytes.append(0x80)
            unsigned(number, 8)
        case .byte(let number):
            bytes.append(0x51)
            unsigned(UInt64(UInt8(bitPattern: number)), 1)
        case .short(let number):
            bytes.append(0x61)
            unsigned(UInt64(UInt16(bitPattern: number)), 2)
        case .int(let number):
            bytes.append(0x71)
            unsigned(UInt64(UInt32(bitPattern: number)), 4)
        case .long(let number):
            bytes.append(0x81)
            unsigned(UInt64(bitPattern: number), 8)
        case .float(let bits):
            bytes.append(0x72)
            unsigned(UInt64(bits), 4)
        case .double(let bits):
            bytes.append(0x82)
            unsigned(bits, 8)
        case .timestamp(let milliseconds):
            bytes.append(0x83)
            unsigned(UInt64(bitPattern: milliseconds), 8)
        case .uuid(let raw):
            bytes.append(0x98)
            bytes += (raw + [UInt8](repeating: 0, count: 16)).prefix(16)
        case .binary(let raw): variable(0xB0, raw)
        case .string(let text): variable(0xB1, Array(text.utf8))
        case .symbol(let text): variable(0xB3, Array(text.utf8))
        case .list(let items): compound(0xD0, items)
        case .map(let entries): compound(0xD1, entries.flatMap { [$0.key, $0.value] })
        case .array(let items):
            // Only used for tests: an array of symbols is the one shape a message section needs.
            var body = RawAMQPWriter()
            body.unsigned(UInt64(items.count), 4)
            body.bytes.append(0xB3)
            for case .symbol(let text) in items {
                body.unsigned(UInt64(text.utf8.count), 4)
                body.bytes += Array(text.utf8)
            }
            bytes.append(0xF0)
            unsigned(UInt64(body.bytes.count), 4)
            bytes += body.bytes
        case .described(let descriptor, let inner):
            bytes.append(0x00)
            write(descriptor)
            write(inner)
        case .other: bytes.append(0x40)
        }
    }

    private mutating func variable(_ code: UInt8, _ raw: [UInt8]) {
        bytes.append(code)
        unsigned(UInt64(raw.count), 4)
        bytes += raw
    }

    private mutating func compound(_ code: UInt8, _ items: [RawAMQPValue]) {
        var body = RawAMQPWriter()
        body.unsigned(UInt64(items.count), 4)
        for item in items { body.write(item) }
        bytes.append(code)
        unsigned(UInt64(body.bytes.count), 4)
        bytes += body.bytes
    }
}
