/// Writes the `application-properties` and `data` sections after the sections proton encoded,
/// byte for byte as proton 0.37 writes them (a map32 whatever its size, each integer in its
/// smallest encoding, `str8`/`vbin8` below 256 bytes).
///
/// Why: putting every property into a `pn_data_t` and having proton encode it was most of an
/// encode. ``AMQPMessageCodec`` uses it only for values it covers (``size(_:data:)`` is `nil`
/// for the others: an unsupported value, a malformed uuid), which go through proton.
enum AMQPSectionWriter {
    /// The encoded size of both sections (no application-properties section when there are
    /// none, no data section for `nil`); `nil` when a value is not covered here.
    static func size(_ properties: [AMQPApplicationProperty], data: [UInt8]?) -> Int? {
        var size = data.map { 3 + lengthSize($0.count) + $0.count } ?? 0
        guard !properties.isEmpty else { return size }
        size += 12  // descriptor, map32 constructor, size, count
        for property in properties {
            let key = property.name.utf8.count
            guard let value = self.size(of: property.value) else { return nil }
            size += lengthSize(key) + key + value
        }
        return size
    }

    /// Writes both sections into `buffer`, exactly ``size(_:data:)`` bytes.
    static func write(_ properties: [AMQPApplicationProperty], data: [UInt8]?, into buffer: UnsafeMutableBufferPointer<UInt8>) {
        var cursor = Cursor(buffer: buffer)
        if !properties.isEmpty {
            cursor.put(0x0053_74D1, width: 4)  // described by 0x74 (smallulong), a map32
            let sizeAt = cursor.position
            cursor.position += 4
            cursor.put(UInt64(properties.count * 2), width: 4)
            for property in properties {
                cursor.putVariable(0xA1, utf8Of: property.name)
                cursor.put(property.value)
            }
            let end = cursor.position
            cursor.position = sizeAt
            cursor.put(UInt64(end - sizeAt - 4), width: 4)
            cursor.position = end
        }
        if let data {
            cursor.put(0x0053_75, width: 3)  // described by 0x75 (smallulong)
            cursor.putBytes(data, constructor: 0xA0)
        }
    }

    private static func lengthSize(_ count: Int) -> Int { count < 256 ? 2 : 5 }

    private static func size(of value: AMQPValue) -> Int? {
        switch value {
        case .null, .boolean: 1
        case .ubyte, .byte: 2
        case .ushort, .short: 3
        case .uint(let value): value == 0 ? 1 : value < 256 ? 2 : 5
        case .ulong(let value): value == 0 ? 1 : value < 256 ? 2 : 9
        case .int(let value): Int8(exactly: value) != nil ? 2 : 5
        case .long(let value): Int8(exactly: value) != nil ? 2 : 9
        case .float: 5
        case .double, .timestamp: 9
        case .uuid(let bytes): bytes.count == 16 ? 17 : nil
        case .binary(let bytes): lengthSize(bytes.count) + bytes.count
        case .string(let text), .symbol(let text): lengthSize(text.utf8.count) + text.utf8.count
        case .unsupported: nil
        }
    }

    /// A write position in a buffer that ``size(_:data:)`` sized.
    private struct Cursor {
        let buffer: UnsafeMutableBufferPointer<UInt8>
        var position = 0

        mutating func put(_ byte: UInt8) {
            buffer[position] = byte
            position += 1
        }

        mutating func put(_ first: UInt8, _ second: UInt8) {
            put(first)
            put(second)
        }

        mutating func put(_ value: UInt64, width: Int) {
            for shift in stride(from: (width - 1) * 8, through: 0, by: -8) {
                buffer[position] = UInt8(truncatingIfNeeded: value >> UInt64(shift))
                position += 1
            }
        }

        mutating func put(_ constructor: UInt8, _ value: UInt64, width: Int) {
            put(constructor)
            put(value, width: width)
        }

        /// The constructor (`constructor` for the 8-bit length form, +0x10 for the 32-bit) and length.
        mutating func putLength(_ count: Int, constructor: UInt8) {
            if count < 256 {
                put(constructor, UInt8(count))
            } else {
                put(constructor + 0x10, UInt64(count), width: 4)
            }
        }

        mutating func putRaw(_ bytes: UnsafeBufferPointer<UInt8>) {
            guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
            (buffer.baseAddress! + position).update(from: source, count: bytes.count)
            position += bytes.count
        }

        mutating func putBytes(_ bytes: [UInt8], constructor: UInt8) {
            putLength(bytes.count, constructor: constructor)
            bytes.withUnsafeBufferPointer { putRaw($0) }
        }

        mutating func putVariable(_ constructor: UInt8, utf8Of text: String) {
            var text = text
            text.withUTF8 { utf8 in
                putLength(utf8.count, constructor: constructor)
                putRaw(utf8)
            }
        }

        mutating func put(_ value: AMQPValue) {
            switch value {
            case .null: put(0x40)
            case .boolean(let value): put(value ? 0x41 : 0x42)
            case .ubyte(let value): put(0x50, value)
            case .ushort(let value): put(0x60, UInt64(value), width: 2)
            case .uint(let value):
                if value == 0 {
                    put(0x43)
                } else if value < 256 {
                    put(0x52, UInt8(value))
                } else {
                    put(0x70, UInt64(value), width: 4)
                }
            case .ulong(let value):
                if value == 0 {
                    put(0x44)
                } else if value < 256 {
                    put(0x53, UInt8(value))
                } else {
                    put(0x80, value, width: 8)
                }
            case .byte(let value): put(0x51, UInt8(bitPattern: value))
            case .short(let value): put(0x61, UInt64(UInt16(bitPattern: value)), width: 2)
            case .int(let value):
                if let small = Int8(exactly: value) {
                    put(0x54, UInt8(bitPattern: small))
                } else {
                    put(0x71, UInt64(UInt32(bitPattern: value)), width: 4)
                }
            case .long(let value):
                if let small = Int8(exactly: value) {
                    put(0x55, UInt8(bitPattern: small))
                } else {
                    put(0x81, UInt64(bitPattern: value), width: 8)
                }
            case .float(let value): put(0x72, UInt64(value.bitPattern), width: 4)
            case .double(let value): put(0x82, value.bitPattern, width: 8)
            case .timestamp(let value): put(0x83, UInt64(bitPattern: value), width: 8)
            case .uuid(let uuid):
                put(0x98)
                uuid.withUnsafeBufferPointer { putRaw($0) }
            case .binary(let data): putBytes(data, constructor: 0xA0)
            case .string(let text): putVariable(0xA1, utf8Of: text)
            case .symbol(let text): putVariable(0xA3, utf8Of: text)
            case .unsupported: break  // size(of:) refused it
            }
        }
    }
}
