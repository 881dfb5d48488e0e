package import CloudEvents

/// The bytes a durable buffer stores for a ``CloudEvents/Message``: compact, versioned, and
/// exact (decoding gives back an equal message, attribute types and metadata included).
///
/// Layout, version 1 (lengths and counts are unsigned LEB128 varints; strings are UTF-8):
///
/// ```
/// version            u8 = 1
/// content            u8: 0 binary, 1 structured, 2 batch
///   binary           count, count × (name: string, type: u8, value), hasData: u8, [data: bytes]
///   structured/batch media type: string, body: bytes
/// metadata           count, count × (key: string, value: string), keys in ascending order
/// ```
///
/// Attribute values by type tag: 0 boolean (u8 0 or 1), 1 integer (4 bytes, little-endian),
/// 2 string, 3 binary (bytes), 4 URI, 5 URI-reference, 6 timestamp (its RFC 3339 text, read
/// back with ``CloudEvents/Timestamp/init(rfc3339:)``, which keeps the written form).
///
/// The version byte lets a later bridge read what an earlier one stored; a decoder refuses a
/// version it does not know rather than guess.
package enum StoredMessageCodec {
    /// The layout version written first in every encoding.
    package static let version: UInt8 = 1

    /// The encoding of `message`.
    ///
    /// - Parameter message: the message to store.
    /// - Returns: exactly ``encodedSize(of:)`` bytes.
    package static func encode(_ message: Message) -> [UInt8] {
        var writer = Writer(capacity: encodedSize(of: message))
        writer.byte(version)
        switch message.content {
        case .binary(let attributes, let data):
            writer.byte(ContentTag.binary.rawValue)
            writer.varint(attributes.count)
            for attribute in attributes {
                writer.string(attribute.name)
                writer.value(attribute.value)
            }
            if let data {
                writer.byte(1)
                writer.bytes(data)
            } else {
                writer.byte(0)
            }
        case .structured(let content):
            writer.byte(ContentTag.structured.rawValue)
            writer.string(content.mediaType)
            writer.bytes(content.body)
        case .batch(let content):
            writer.byte(ContentTag.batch.rawValue)
            writer.string(content.mediaType)
            writer.bytes(content.body)
        }
        writer.varint(message.metadata.count)
        // Sorted, so that equal messages encode to equal bytes.
        for (key, value) in message.metadata.sorted(by: { $0.key < $1.key }) {
            writer.string(key)
            writer.string(value)
        }
        return writer.output
    }

    /// The length of ``encode(_:)``'s result, computed without encoding: the in-memory buffer
    /// counts the same bytes against its bound as the durable one.
    ///
    /// - Parameter message: the message to measure.
    package static func encodedSize(of message: Message) -> Int {
        var size = 2  // version, content tag
        switch message.content {
        case .binary(let attributes, let data):
            size += varintSize(attributes.count) + 1
            for attribute in attributes {
                size += stringSize(attribute.name) + 1 + valueSize(attribute.value)
            }
            if let data { size += varintSize(data.count) + data.count }
        case .structured(let content), .batch(let content):
            size += stringSize(content.mediaType) + varintSize(content.body.count) + content.body.count
        }
        size += varintSize(message.metadata.count)
        for (key, value) in message.metadata { size += stringSize(key) + stringSize(value) }
        return size
    }

    /// The message `bytes` encode.
    ///
    /// - Parameter bytes: what ``encode(_:)`` returned.
    /// - Throws: ``BufferError`` saying where the bytes are not an encoding (truncated,
    ///   an unknown version or tag, invalid UTF-8, trailing bytes); never traps.
    package static func decode(_ bytes: [UInt8]) throws(BufferError) -> Message {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(BufferError) -> Message in try decode(buffer) }
        }
        return try result.get()
    }

    /// The message `bytes` encode.
    ///
    /// - Parameter bytes: what ``encode(_:)`` returned.
    /// - Throws: ``BufferError`` when they are not an encoding.
    package static func decode(_ bytes: UnsafeRawBufferPointer) throws(BufferError) -> Message {
        var reader = Reader(bytes: bytes)
        let version = try reader.byte("version")
        guard version == Self.version else {
            throw reader.corrupt("unknown version \(version) (this bridge reads version \(Self.version))")
        }
        let tag = try reader.byte("content tag")
        let content: Message.Content
        switch ContentTag(rawValue: tag) {
        case .binary:
            let count = try reader.count("attribute count", minimumElementSize: 3)
            var attributes: [BinaryAttribute] = []
            attributes.reserveCapacity(count)
            for _ in 0..<count {
                let name = try reader.string("attribute name")
                attributes.append(BinaryAttribute(name: name, value: try reader.value()))
            }
            let data: [UInt8]?
            switch try reader.byte("data flag") {
            case 0: data = nil
            case 1: data = try reader.bytes("data")
            case let flag: throw reader.corrupt("data flag \(flag)")
            }
            content = .binary(attributes: attributes, data: data)
        case .structured:
            content = .structured(try reader.structuredContent())
        case .batch:
            content = .batch(try reader.structuredContent())
        case nil:
            throw reader.corrupt("unknown content tag \(tag)")
        }
        let metadataCount = try reader.count("metadata count", minimumElementSize: 2)
        var metadata: [String: String] = [:]
        metadata.reserveCapacity(metadataCount)
        for _ in 0..<metadataCount {
            let key = try reader.string("metadata key")
            guard metadata.updateValue(try reader.string("metadata value"), forKey: key) == nil else {
                throw reader.corrupt("metadata key \"\(key)\" twice")
            }
        }
        guard reader.isAtEnd else { throw reader.corrupt("trailing bytes") }
        return Message(content: content, metadata: metadata)
    }

    enum ContentTag: UInt8 {
        case binary = 0
        case structured = 1
        case batch = 2
    }

    enum TypeTag: UInt8 {
        case boolean = 0
        case integer = 1
        case string = 2
        case binary = 3
        case uri = 4
        case uriReference = 5
        case timestamp = 6
    }

    static func varintSize(_ value: Int) -> Int {
        var size = 1
        var rest = UInt64(value) >> 7
        while rest != 0 {
            size += 1
            rest >>= 7
        }
        return size
    }

    static func stringSize(_ text: String) -> Int {
        let count = text.utf8.count
        return varintSize(count) + count
    }

    static func valueSize(_ value: AttributeValue) -> Int {
        switch value {
        case .boolean: 1
        case .integer: 4
        case .string(let text), .uri(let text), .uriReference(let text): stringSize(text)
        case .binary(let bytes): varintSize(bytes.count) + bytes.count
        case .timestamp(let timestamp): stringSize(timestamp.description)
        }
    }
}

extension StoredMessageCodec {
    struct Writer {
        var output: [UInt8] = []

        init(capacity: Int) { output.reserveCapacity(capacity) }

        mutating func byte(_ value: UInt8) { output.append(value) }

        mutating func varint(_ value: Int) {
            var rest = UInt64(value)
            while rest >= 0x80 {
                output.append(UInt8(truncatingIfNeeded: rest) | 0x80)
                rest >>= 7
            }
            output.append(UInt8(rest))
        }

        mutating func bytes(_ value: [UInt8]) {
            varint(value.count)
            output.append(contentsOf: value)
        }

        mutating func string(_ value: String) {
            varint(value.utf8.count)
            output.append(contentsOf: value.utf8)
        }

        mutating func value(_ value: AttributeValue) {
            switch value {
            case .boolean(let flag):
                byte(TypeTag.boolean.rawValue)
                byte(flag ? 1 : 0)
            case .integer(let number):
                byte(TypeTag.integer.rawValue)
                let bits = UInt32(bitPattern: number)
                for shift in stride(from: 0, to: 32, by: 8) { byte(UInt8(truncatingIfNeeded: bits >> UInt32(shift))) }
            case .string(let text):
                byte(TypeTag.string.rawValue)
                string(text)
            case .binary(let data):
                byte(TypeTag.binary.rawValue)
                bytes(data)
            case .uri(let text):
                byte(TypeTag.uri.rawValue)
                string(text)
            case .uriReference(let text):
                byte(TypeTag.uriReference.rawValue)
                string(text)
            case .timestamp(let timestamp):
                byte(TypeTag.timestamp.rawValue)
                string(timestamp.description)
            }
        }
    }

    /// Reads an encoding, checking every length against what is left, so that corrupt bytes
    /// end in an error, never in a trap or a huge allocation.
    struct Reader {
        let bytes: UnsafeRawBufferPointer
        var position = 0

        var isAtEnd: Bool { position == bytes.count }

        func corrupt(_ what: String) -> BufferError {
            BufferError("stored message is corrupt: \(what) at byte \(position)")
        }

        mutating func byte(_ what: String) throws(BufferError) -> UInt8 {
            guard position < bytes.count else { throw corrupt("ends before the \(what)") }
            defer { position += 1 }
            return bytes[position]
        }

        mutating func varint(_ what: String) throws(BufferError) -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                let next = try byte(what)
                // The tenth byte may only carry the top bit of a 64-bit value.
                guard shift < 63 || next <= 1 else { throw corrupt("\(what) overflows") }
                value |= UInt64(next & 0x7F) << shift
                if next & 0x80 == 0 { return value }
                shift += 7
            }
        }

        /// A length that fits in what is left.
        mutating func length(_ what: String) throws(BufferError) -> Int {
            let value = try varint(what)
            guard value <= UInt64(bytes.count - position) else { throw corrupt("\(what) \(value) beyond the end") }
            return Int(value)
        }

        /// A count of elements each at least `minimumElementSize` bytes long.
        mutating func count(_ what: String, minimumElementSize: Int) throws(BufferError) -> Int {
            let value = try varint(what)
            guard value <= UInt64((bytes.count - position) / minimumElementSize) else {
                throw corrupt("\(what) \(value) beyond the end")
            }
            return Int(value)
        }

        mutating func bytes(_ what: String) throws(BufferError) -> [UInt8] {
            let count = try length("\(what) length")
            defer { position += count }
            return Array(bytes[position..<position + count])
        }

        mutating func string(_ what: String) throws(BufferError) -> String {
            let count = try length("\(what) length")
            let slice = UnsafeRawBufferPointer(rebasing: bytes[position..<position + count])
            guard let text = String(validating: slice, as: UTF8.self) else { throw corrupt("\(what) not UTF-8") }
            position += count
            return text
        }

        mutating func value() throws(BufferError) -> AttributeValue {
            let tag = try byte("attribute type")
            switch TypeTag(rawValue: tag) {
            case .boolean:
                switch try byte("boolean") {
                case 0: return .boolean(false)
                case 1: return .boolean(true)
                case let other: throw corrupt("boolean \(other)")
                }
            case .integer:
                var bits: UInt32 = 0
                for shift in stride(from: 0, to: 32, by: 8) { bits |= UInt32(try byte("integer")) << UInt32(shift) }
                return .integer(Int32(bitPattern: bits))
            case .string: return .string(try string("string"))
            case .binary: return .binary(try bytes("binary"))
            case .uri: return .uri(try string("URI"))
            case .uriReference: return .uriReference(try string("URI-reference"))
            case .timestamp:
                let text = try string("timestamp")
                do {
                    return .timestamp(try Timestamp(rfc3339: text))
                } catch {
                    throw corrupt("timestamp \"\(text)\": \(error)")
                }
            case nil:
                throw corrupt("unknown attribute type \(tag)")
            }
        }

        mutating func structuredContent() throws(BufferError) -> StructuredContent {
            let mediaType = try string("media type")
            return StructuredContent(mediaType: mediaType, body: try bytes("body"))
        }
    }
}
