/// A bounds-checked walk over the sections of an encoded AMQP message, before proton sees it.
///
/// Why: proton 0.37's `pn_message_decode` is lenient. It keeps only the **last** `data`
/// section of a message that has several (the spec does not cover such bodies, so the
/// binding must see them to refuse them), and it decodes an unknown or malformed section as
/// a body instead of failing. This walk accepts only a sequence of sections described by
/// their numeric AMQP descriptors, each holding the value type its section requires, with
/// every length inside the buffer; it returns the `data` sections' byte ranges.
struct AMQPSectionScanner {
    /// The numeric descriptors of the message sections (AMQP 1.0 part 3.2).
    enum Section: UInt8 {
        case header = 0x70
        case deliveryAnnotations = 0x71
        case messageAnnotations = 0x72
        case properties = 0x73
        case applicationProperties = 0x74
        case data = 0x75
        case amqpSequence = 0x76
        case amqpValue = 0x77
        case footer = 0x78

        var name: String {
            switch self {
            case .header: "header"
            case .deliveryAnnotations: "delivery-annotations"
            case .messageAnnotations: "message-annotations"
            case .properties: "properties"
            case .applicationProperties: "application-properties"
            case .data: "data"
            case .amqpSequence: "amqp-sequence"
            case .amqpValue: "amqp-value"
            case .footer: "footer"
            }
        }
    }

    /// What the walk found.
    struct Result {
        /// The `data` sections' payloads, in order.
        var dataSections: [Range<Int>] = []
        /// Whether there is an `amqp-value` or `amqp-sequence` section.
        var hasValueBody = false
        /// The `application-properties` sections' values (from their constructor on), in order.
        var applicationProperties: [Range<Int>] = []
        /// The end of the leading sections that are neither `application-properties` nor
        /// `data` (header, annotations, properties), when no other section follows those two
        /// kinds: then proton needs only `bytes[..<protonPrefixEnd]`. `nil` otherwise.
        var protonPrefixEnd: Int? = 0
    }

    private let bytes: UnsafeRawBufferPointer
    private var position = 0

    private init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// Walks every section of `bytes`.
    ///
    /// - Throws: a description of the first thing that is not a well-formed section.
    static func scan(_ bytes: UnsafeRawBufferPointer) throws(ScanError) -> Result {
        var scanner = AMQPSectionScanner(bytes)
        var result = Result()
        while scanner.position < bytes.count {
            let start = scanner.position
            guard try scanner.readByte() == 0x00 else {
                throw ScanError("byte \(start): a message section must be a described value (0x00)")
            }
            let descriptor = try scanner.readByte()
            let code: UInt64
            switch descriptor {
            case 0x53: code = UInt64(try scanner.readByte())  // smallulong: what most senders write
            case 0x80: code = try scanner.readUInt64()  // ulong, also legal
            default:
                // Symbolic descriptors (`amqp:data:binary`) are legal AMQP but proton 0.37's
                // message decoder does not recognise them: it would read such a section as a body.
                throw ScanError(
                    "byte \(start): a section descriptor must be a numeric ulong (0x53 or 0x80), not constructor 0x\(hex(descriptor))"
                )
            }
            guard code <= 0xFF, let section = Section(rawValue: UInt8(code)) else {
                throw ScanError("byte \(start): descriptor 0x\(String(code, radix: 16)) is not an AMQP message section")
            }
            let constructor = try scanner.peekByte()
            switch section {
            case .header, .properties, .amqpSequence:
                guard [0x45, 0xC0, 0xD0].contains(constructor) else {
                    throw ScanError("the \(section.name) section must hold a list, not constructor 0x\(hex(constructor))")
                }
            case .deliveryAnnotations, .messageAnnotations, .applicationProperties, .footer:
                guard constructor == 0xC1 || constructor == 0xD1 || constructor == 0x40 else {
                    throw ScanError("the \(section.name) section must hold a map, not constructor 0x\(hex(constructor))")
                }
            case .data:
                guard constructor == 0xA0 || constructor == 0xB0 else {
                    throw ScanError("a data section must hold binary, not constructor 0x\(hex(constructor))")
                }
            case .amqpValue:
                break
            }
            let valueStart = scanner.position
            let value = try scanner.skipValue(depth: 0)
            switch section {
            case .data: result.dataSections.append(value.payload)
            case .applicationProperties: result.applicationProperties.append(valueStart..<scanner.position)
            case .amqpValue, .amqpSequence: result.hasValueBody = true
            default: break
            }
            switch section {
            case .data, .applicationProperties: break
            default:
                let afterSkipped = !result.dataSections.isEmpty || !result.applicationProperties.isEmpty
                result.protonPrefixEnd = afterSkipped ? nil : scanner.position
            }
        }
        return result
    }

    private mutating func peekByte() throws(ScanError) -> UInt8 {
        guard position < bytes.count else { throw ScanError("the message ends inside a section") }
        return bytes[position]
    }

    private mutating func readByte() throws(ScanError) -> UInt8 {
        let byte = try peekByte()
        position += 1
        return byte
    }

    private mutating func readUInt64() throws(ScanError) -> UInt64 {
        var value: UInt64 = 0
        for _ in 0..<8 { value = value << 8 | UInt64(try readByte()) }
        return value
    }

    private mutating func readLength(width: Int) throws(ScanError) -> Int {
        var length = 0
        for _ in 0..<width { length = length << 8 | Int(try readByte()) }
        return length
    }

    private mutating func skip(_ count: Int) throws(ScanError) -> Range<Int> {
        guard count <= bytes.count - position else {
            throw ScanError("byte \(position): a length of \(count) runs past the end of the message")
        }
        defer { position += count }
        return position..<(position + count)
    }

    /// Skips one encoded value; returns the range of its payload (after constructor and length).
    private mutating func skipValue(depth: Int) throws(ScanError) -> (constructor: UInt8, payload: Range<Int>) {
        guard depth < 32 else { throw ScanError("described values nested more than 32 deep") }
        let constructor = try readByte()
        if constructor == 0x00 {
            _ = try skipValue(depth: depth + 1)  // the descriptor
            return try skipValue(depth: depth + 1)
        }
        let payload: Range<Int>
        switch constructor {
        case 0x40...0x45: payload = try skip(0)
        case 0x50...0x56: payload = try skip(1)
        case 0x60...0x61: payload = try skip(2)
        case 0x70...0x74: payload = try skip(4)
        case 0x80...0x84: payload = try skip(8)
        case 0x94, 0x98: payload = try skip(16)
        case 0xA0, 0xA1, 0xA3, 0xC0, 0xC1, 0xE0: payload = try skip(try readLength(width: 1))
        case 0xB0, 0xB1, 0xB3, 0xD0, 0xD1, 0xF0: payload = try skip(try readLength(width: 4))
        default: throw ScanError("byte \(position - 1): 0x\(hex(constructor)) is not an AMQP type constructor")
        }
        return (constructor, payload)
    }

    /// Why the bytes are not a well-formed AMQP message.
    struct ScanError: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }
}

private func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
}
