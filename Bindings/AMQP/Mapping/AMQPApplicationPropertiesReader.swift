/// Reads an `application-properties` map straight from the encoded bytes, for the usual case:
/// string or symbol keys and scalar values.
///
/// Why: handing the map to proton (`pn_message_decode`, then walking its `pn_data_t`) was about
/// half of a delivery's decoding. Anything else (a compound or described value, a key that is
/// not a string, an odd entry count, a size that disagrees with the entries) returns `nil`,
/// and the codec decodes the message through proton as before: the result, errors included,
/// is the same either way.
enum AMQPApplicationPropertiesReader {
    /// The properties of the map encoded in `bytes` (its constructor first), or `nil` when
    /// proton must read it.
    static func read(_ bytes: UnsafeRawBufferPointer) -> [AMQPApplicationProperty]? {
        var reader = Cursor(bytes: bytes)
        guard let constructor = reader.byte() else { return nil }
        let size: Int
        let count: Int
        switch constructor {
        case 0xC1:
            guard let s = reader.unsigned(width: 1), let c = reader.unsigned(width: 1) else { return nil }
            (size, count) = (s, c)
        case 0xD1:
            guard let s = reader.unsigned(width: 4), let c = reader.unsigned(width: 4) else { return nil }
            (size, count) = (s, c)
        default:
            return nil
        }
        let countWidth = constructor == 0xC1 ? 1 : 4
        guard count % 2 == 0, size == bytes.count - 1 - countWidth, count / 2 <= bytes.count else { return nil }
        var properties: [AMQPApplicationProperty] = []
        properties.reserveCapacity(count / 2)
        for _ in 0..<(count / 2) {
            guard let key = reader.key(), let value = reader.value() else { return nil }
            properties.append(AMQPApplicationProperty(key, value))
        }
        guard reader.position == bytes.count else { return nil }
        return properties
    }

    /// A bounds-checked position in the map's bytes.
    private struct Cursor {
        let bytes: UnsafeRawBufferPointer
        var position = 0

        mutating func byte() -> UInt8? {
            guard position < bytes.count else { return nil }
            defer { position += 1 }
            return bytes[position]
        }

        mutating func unsigned(width: Int) -> Int? {
            guard width <= bytes.count - position else { return nil }
            var value = 0
            for _ in 0..<width {
                value = value << 8 | Int(bytes[position])
                position += 1
            }
            return value
        }

        mutating func bits(width: Int) -> UInt64? {
            unsigned(width: width).map { UInt64(truncatingIfNeeded: $0) }
        }

        mutating func slice(_ count: Int) -> UnsafeRawBufferPointer? {
            guard count <= bytes.count - position else { return nil }
            defer { position += count }
            return UnsafeRawBufferPointer(rebasing: bytes[position..<(position + count)])
        }

        /// A variable-width value's payload: one length byte for the 0xA_ constructors, four for 0xB_.
        mutating func variable(_ constructor: UInt8) -> UnsafeRawBufferPointer? {
            guard let length = unsigned(width: constructor & 0xF0 == 0xA0 ? 1 : 4) else { return nil }
            return slice(length)
        }

        mutating func key() -> String? {
            guard let constructor = byte() else { return nil }
            switch constructor {
            case 0xA1, 0xB1, 0xA3, 0xB3:
                guard let payload = variable(constructor) else { return nil }
                let utf8 = payload.bindMemory(to: UInt8.self)
                // As AMQPMessageCodec reads keys: a context attribute's key as a literal.
                if let known = AMQPPropertyPrefix.knownKey(utf8) { return known }
                return String(decoding: utf8, as: UTF8.self)
            default:
                return nil
            }
        }

        mutating func value() -> AMQPValue? {
            guard let constructor = byte() else { return nil }
            switch constructor {
            case 0x40: return .null
            case 0x41: return .boolean(true)
            case 0x42: return .boolean(false)
            case 0x56:
                // proton reads any non-zero byte as true; only 0 and 1 are read here.
                switch byte() {
                case 0: return .boolean(false)
                case 1: return .boolean(true)
                default: return nil
                }
            case 0x50: return byte().map { .ubyte($0) }
            case 0x60: return bits(width: 2).map { .ushort(UInt16($0)) }
            case 0x70: return bits(width: 4).map { .uint(UInt32($0)) }
            case 0x52: return byte().map { .uint(UInt32($0)) }
            case 0x43: return .uint(0)
            case 0x80: return bits(width: 8).map { .ulong($0) }
            case 0x53: return byte().map { .ulong(UInt64($0)) }
            case 0x44: return .ulong(0)
            case 0x51: return byte().map { .byte(Int8(bitPattern: $0)) }
            case 0x61: return bits(width: 2).map { .short(Int16(bitPattern: UInt16($0))) }
            case 0x71: return bits(width: 4).map { .int(Int32(bitPattern: UInt32($0))) }
            case 0x54: return byte().map { .int(Int32(Int8(bitPattern: $0))) }
            case 0x81: return bits(width: 8).map { .long(Int64(bitPattern: $0)) }
            case 0x55: return byte().map { .long(Int64(Int8(bitPattern: $0))) }
            case 0x72: return bits(width: 4).map { .float(Float(bitPattern: UInt32($0))) }
            case 0x82: return bits(width: 8).map { .double(Double(bitPattern: $0)) }
            case 0x83: return bits(width: 8).map { .timestamp(Int64(bitPattern: $0)) }
            case 0x98: return slice(16).map { .uuid(Array($0)) }
            case 0xA0, 0xB0: return variable(constructor).map { .binary(Array($0)) }
            case 0xA3, 0xB3:
                return variable(constructor).map { .symbol(String(decoding: $0.bindMemory(to: UInt8.self), as: UTF8.self)) }
            case 0xA1, 0xB1:
                guard let payload = variable(constructor) else { return nil }
                return AMQPMessageCodec.stringValue(payload.bindMemory(to: UInt8.self))
            default:
                return nil
            }
        }
    }
}
