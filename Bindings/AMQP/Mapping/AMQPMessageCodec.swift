import CQpidProton
public import CloudEvents

/// Encodes an ``AMQPMessage`` to the AMQP 1.0 wire bytes of a transfer's payload and decodes
/// them, through proton's `pn_message_t`.
///
/// **Threads.** Proton objects are single-threaded, so each call uses its own thread's
/// `pn_message_t` (created once per thread, cleared before each use, freed when the thread
/// exits or after a message larger than 256 KB): any thread may call, and calls may run
/// concurrently.
///
/// **Body.** A ``AMQPBody/data(_:)`` body is written as exactly one `data` section
/// (`pn_message_set_inferred(msg, true)` with a binary body). ``AMQPBody/multipleData(_:)``
/// cannot be written: `pn_message_t` holds one body. On decode, the sections are first walked
/// by a strict, bounds-checked scanner (proton 0.37 keeps only the last of several `data`
/// sections and reads unknown sections as a body), so several `data` sections are reported
/// as ``AMQPBody/multipleData(_:)`` and malformed bytes are refused before proton sees them.
public enum AMQPMessageCodec {
    /// The AMQP encoding of `message`: header, properties, application-properties and body.
    ///
    /// - Parameter message: the message to encode.
    /// - Returns: the bytes of a transfer's payload.
    /// - Throws: ``TransportError`` `.invalidMessage` for a body proton cannot write (several
    ///   `data` sections) or an error from proton's encoder.
    public static func encode(_ message: AMQPMessage) throws(TransportError) -> [UInt8] {
        if let bytes = try encodeUsual(message) { return bytes }
        return try encodeWithProton(message, capacity: estimatedSize(of: message))
    }

    /// A message with a `data` body or none: proton encodes the header and properties, and
    /// ``AMQPSectionWriter`` appends the application-properties and data sections, the same
    /// bytes proton writes; `nil` when a value is not covered (proton then encodes it all).
    private static func encodeUsual(_ message: AMQPMessage) throws(TransportError) -> [UInt8]? {
        let data: [UInt8]?
        switch message.body {
        case .none: data = nil
        case .data(let bytes): data = bytes
        case .multipleData, .value, .sequence: return nil
        }
        guard let sectionsSize = AMQPSectionWriter.size(message.applicationProperties, data: data) else { return nil }
        var leading = message
        leading.applicationProperties = []
        leading.body = .none
        var capacity = 256 + (message.contentType?.utf8.count ?? 0) + (message.subject?.utf8.count ?? 0)
        capacity += (message.to?.utf8.count ?? 0) + (message.messageID?.utf8.count ?? 0)
        return try ProtonMessageCache.withMessage(size: capacity) { pnMessage throws(TransportError) in
            try fill(pnMessage, from: leading)
            while true {
                var size = capacity
                var status: Int32 = 0
                // Proton writes the leading sections at the start of the buffer, the sections follow.
                let bytes = [UInt8](unsafeUninitializedCapacity: capacity + sectionsSize) { buffer, count in
                    status = pn_message_encode(
                        pnMessage, UnsafeMutableRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self), &size)
                    guard status == 0 else {
                        count = 0
                        return
                    }
                    AMQPSectionWriter.write(
                        message.applicationProperties, data: data,
                        into: UnsafeMutableBufferPointer(rebasing: buffer[size..<(size + sectionsSize)]))
                    count = size + sectionsSize
                }
                if status == PN_OVERFLOW, capacity < Int(Int32.max) {
                    capacity *= 2
                    continue
                }
                guard status == 0 else {
                    throw TransportError(.invalidMessage, "proton could not encode the message (error \(status))")
                }
                return bytes
            }
        }
    }

    private static func encodeWithProton(_ message: AMQPMessage, capacity: Int) throws(TransportError) -> [UInt8] {
        var capacity = capacity
        return try ProtonMessageCache.withMessage(size: capacity) { pnMessage throws(TransportError) in
            try fill(pnMessage, from: message)
            while true {
                var size = capacity
                var status: Int32 = 0
                let bytes = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
                    status = pn_message_encode(
                        pnMessage, UnsafeMutableRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self), &size)
                    count = status == 0 ? size : 0
                }
                if status == PN_OVERFLOW, capacity < Int(Int32.max) {
                    capacity *= 2
                    continue
                }
                guard status == 0 else {
                    throw TransportError(.invalidMessage, "proton could not encode the message (error \(status))")
                }
                return bytes
            }
        }
    }

    /// The message in `bytes`, a delivery's payload.
    ///
    /// - Parameter bytes: the encoded sections.
    /// - Returns: the message. ``AMQPMessage/messageID`` is set only for a string message-id.
    /// - Throws: ``TransportError`` `.invalidMessage` naming what is malformed.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(TransportError) -> AMQPMessage {
        guard !bytes.isEmpty, let base = bytes.baseAddress else {
            throw TransportError(.invalidMessage, "an AMQP message has at least one section; the payload is empty")
        }
        let sections: AMQPSectionScanner.Result
        do { sections = try AMQPSectionScanner.scan(bytes) } catch {
            throw TransportError(.invalidMessage, "not an AMQP message: \(error.message)")
        }
        return try ProtonMessageCache.withMessage(size: bytes.count) { pnMessage throws(TransportError) in
            if let message = decodeUsual(bytes, base: base, sections: sections, into: pnMessage) { return message }
            pn_message_clear(pnMessage)
            return try decode(bytes, base: base, sections: sections, into: pnMessage)
        }
    }

    /// The usual message (leading header and properties sections, at most one
    /// `application-properties` map of scalars, `data` sections or no body), with proton
    /// decoding only the leading sections; `nil` for any other, which ``decode(_:base:sections:into:)``
    /// decodes whole, with the same result.
    ///
    /// Why: proton decoding the application-properties into a `pn_data_t`, and walking it, was
    /// about half of a delivery's decoding.
    private static func decodeUsual(
        _ bytes: UnsafeRawBufferPointer, base: UnsafeRawPointer, sections: AMQPSectionScanner.Result,
        into pnMessage: OpaquePointer
    ) -> AMQPMessage? {
        guard !sections.hasValueBody, sections.applicationProperties.count <= 1,
            let prefixEnd = sections.protonPrefixEnd
        else { return nil }
        var properties: [AMQPApplicationProperty] = []
        if let range = sections.applicationProperties.first {
            guard let read = AMQPApplicationPropertiesReader.read(UnsafeRawBufferPointer(rebasing: bytes[range])) else {
                return nil
            }
            properties = read
        }
        if prefixEnd > 0, pn_message_decode(pnMessage, base.assumingMemoryBound(to: CChar.self), prefixEnd) != 0 {
            return nil
        }
        var message = AMQPMessage(
            contentType: string(pn_message_get_content_type(pnMessage)),
            applicationProperties: properties,
            body: .none,
            durable: pn_message_is_durable(pnMessage),
            deliveryCount: pn_message_get_delivery_count(pnMessage),
            messageID: stringID(pn_message_get_id(pnMessage)),
            subject: string(pn_message_get_subject(pnMessage)),
            to: string(pn_message_get_address(pnMessage))
        )
        message.body = body(of: pnMessage, sections: sections, bytes: bytes)
        return message
    }

    private static func decode(
        _ bytes: UnsafeRawBufferPointer, base: UnsafeRawPointer, sections: AMQPSectionScanner.Result,
        into pnMessage: OpaquePointer
    ) throws(TransportError) -> AMQPMessage {
        let status = pn_message_decode(pnMessage, base.assumingMemoryBound(to: CChar.self), bytes.count)
        guard status == 0 else {
            let detail = pn_error_text(pn_message_error(pnMessage)).map { String(cString: $0) } ?? "error \(status)"
            throw TransportError(.invalidMessage, "proton could not decode the AMQP message: \(detail)")
        }
        var message = AMQPMessage(
            contentType: string(pn_message_get_content_type(pnMessage)),
            applicationProperties: try applicationProperties(of: pnMessage),
            body: .none,
            durable: pn_message_is_durable(pnMessage),
            deliveryCount: pn_message_get_delivery_count(pnMessage),
            messageID: stringID(pn_message_get_id(pnMessage)),
            subject: string(pn_message_get_subject(pnMessage)),
            to: string(pn_message_get_address(pnMessage))
        )
        message.body = body(of: pnMessage, sections: sections, bytes: bytes)
        return message
    }

    // MARK: Encoding

    private static func estimatedSize(of message: AMQPMessage) -> Int {
        var size = 256 + (message.contentType?.utf8.count ?? 0)
        for property in message.applicationProperties {
            size += property.name.utf8.count + 16
            switch property.value {
            case .binary(let bytes), .uuid(let bytes): size += bytes.count
            case .string(let text), .symbol(let text): size += text.utf8.count
            default: break
            }
        }
        switch message.body {
        case .data(let bytes): size += bytes.count
        default: size += 256
        }
        return size
    }

    private static func fill(_ pnMessage: OpaquePointer, from message: AMQPMessage) throws(TransportError) {
        pn_message_set_durable(pnMessage, message.durable)
        pn_message_set_delivery_count(pnMessage, message.deliveryCount)
        // The setters copy the text.
        if let contentType = message.contentType { contentType.withCString { _ = pn_message_set_content_type(pnMessage, $0) } }
        if let subject = message.subject { subject.withCString { _ = pn_message_set_subject(pnMessage, $0) } }
        if let to = message.to { to.withCString { _ = pn_message_set_address(pnMessage, $0) } }
        if let messageID = message.messageID {
            withUTF8(messageID) { bytes in
                var atom = pn_atom_t()
                atom.type = PN_STRING
                atom.u.as_bytes = bytes
                pn_message_set_id(pnMessage, atom)  // copies the bytes
            }
        }
        if !message.applicationProperties.isEmpty {
            let data = pn_message_properties(pnMessage)
            pn_data_put_map(data)
            pn_data_enter(data)
            for property in message.applicationProperties {
                withUTF8(property.name) { _ = pn_data_put_string(data, $0) }
                try put(property.value, into: data, what: "application property '\(property.name)'")
            }
            pn_data_exit(data)
        }
        let body = pn_message_body(pnMessage)
        switch message.body {
        case .none:
            break
        case .data(let bytes):
            pn_message_set_inferred(pnMessage, true)
            withBytes(bytes) { _ = pn_data_put_binary(body, $0) }
        case .multipleData:
            throw TransportError(
                .invalidMessage, "proton writes one body section: a message with several data sections cannot be encoded")
        case .value(let value):
            pn_message_set_inferred(pnMessage, false)
            try put(value, into: body, what: "the amqp-value body")
        case .sequence(let items):
            pn_message_set_inferred(pnMessage, true)
            pn_data_put_list(body)
            pn_data_enter(body)
            for item in items { try put(item, into: body, what: "an amqp-sequence item") }
            pn_data_exit(body)
        }
    }

    /// - Parameter what: names the value in an error (only built when there is one).
    private static func put(
        _ value: AMQPValue, into data: OpaquePointer?, what: @autoclosure () -> String
    ) throws(TransportError) {
        switch value {
        case .null: pn_data_put_null(data)
        case .boolean(let value): pn_data_put_bool(data, value)
        case .ubyte(let value): pn_data_put_ubyte(data, value)
        case .ushort(let value): pn_data_put_ushort(data, value)
        case .uint(let value): pn_data_put_uint(data, value)
        case .ulong(let value): pn_data_put_ulong(data, value)
        case .byte(let value): pn_data_put_byte(data, value)
        case .short(let value): pn_data_put_short(data, value)
        case .int(let value): pn_data_put_int(data, value)
        case .long(let value): pn_data_put_long(data, value)
        case .float(let value): pn_data_put_float(data, value)
        case .double(let value): pn_data_put_double(data, value)
        case .timestamp(let value): pn_data_put_timestamp(data, value)
        case .uuid(let bytes):
            guard bytes.count == 16 else {
                throw TransportError(.invalidMessage, "\(what()): a uuid has 16 bytes, not \(bytes.count)")
            }
            var uuid = pn_uuid_t()
            withUnsafeMutableBytes(of: &uuid.bytes) { $0.copyBytes(from: bytes) }
            pn_data_put_uuid(data, uuid)
        case .binary(let bytes): withBytes(bytes) { _ = pn_data_put_binary(data, $0) }
        case .string(let text): withUTF8(text) { _ = pn_data_put_string(data, $0) }
        case .symbol(let text): withUTF8(text) { _ = pn_data_put_symbol(data, $0) }
        case .unsupported(let typeName):
            throw TransportError(.invalidMessage, "\(what()): a value of type \(typeName) cannot be encoded")
        }
    }

    /// Runs `body` with a `pn_bytes_t` over `bytes` (never a null pointer, even when empty:
    /// proton may copy from `start` for size 0).
    private static func withBytes<R>(_ bytes: [UInt8], _ body: (pn_bytes_t) -> R) -> R {
        if bytes.isEmpty {
            var nul: CChar = 0
            return withUnsafePointer(to: &nul) { body(pn_bytes_t(size: 0, start: $0)) }
        }
        return bytes.withUnsafeBufferPointer { buffer in
            body(pn_bytes_t(size: buffer.count, start: UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)))
        }
    }

    /// Runs `body` with a `pn_bytes_t` over the UTF-8 of `text`, without copying a native string.
    private static func withUTF8<R>(_ text: String, _ body: (pn_bytes_t) -> R) -> R {
        var text = text
        return text.withUTF8 { utf8 in
            guard let base = utf8.baseAddress, utf8.count > 0 else {
                var nul: CChar = 0
                return withUnsafePointer(to: &nul) { body(pn_bytes_t(size: 0, start: $0)) }
            }
            return body(pn_bytes_t(size: utf8.count, start: UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self)))
        }
    }

    // MARK: Decoding

    private static func string(_ pointer: UnsafePointer<CChar>?) -> String? {
        pointer.map { String(cString: $0) }
    }

    private static func stringID(_ atom: pn_atom_t) -> String? {
        guard atom.type == PN_STRING else { return nil }
        return text(atom.u.as_bytes)
    }

    /// The bytes as UTF-8 text (invalid sequences become U+FFFD: such a value cannot be a
    /// valid attribute name, and ``readValue(_:)`` refuses invalid string values first).
    private static func text(_ bytes: pn_bytes_t) -> String {
        guard let start = bytes.start, bytes.size > 0 else { return "" }
        return String(
            decoding: UnsafeRawBufferPointer(start: start, count: bytes.size).bindMemory(to: UInt8.self), as: UTF8.self)
    }

    /// An application-properties key: a context attribute's key as a literal (no allocation),
    /// any other as ``text(_:)``.
    private static func keyText(_ bytes: pn_bytes_t) -> String {
        guard let start = bytes.start, bytes.size > 12 else { return text(bytes) }
        let utf8 = UnsafeRawBufferPointer(start: start, count: bytes.size).bindMemory(to: UInt8.self)
        return AMQPPropertyPrefix.knownKey(utf8) ?? text(bytes)
    }

    private static func byteArray(_ bytes: pn_bytes_t) -> [UInt8] {
        guard let start = bytes.start, bytes.size > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: start, count: bytes.size))
    }

    private static func applicationProperties(of pnMessage: OpaquePointer) throws(TransportError) -> [AMQPApplicationProperty] {
        guard let data = pn_message_properties(pnMessage), pn_data_size(data) > 0 else { return [] }
        pn_data_rewind(data)
        guard pn_data_next(data), pn_data_type(data) == PN_MAP else { return [] }
        pn_data_enter(data)
        defer { pn_data_exit(data) }
        var properties: [AMQPApplicationProperty] = []
        properties.reserveCapacity(Int(pn_data_get_map(data)) / 2)
        while pn_data_next(data) {
            let keyType = pn_data_type(data)
            let key: String
            switch keyType {
            case PN_STRING: key = keyText(pn_data_get_string(data))
            case PN_SYMBOL: key = keyText(pn_data_get_symbol(data))
            default:
                throw TransportError(
                    .invalidMessage, "application-properties keys are strings; one is of type \(readValue(data).typeName)")
            }
            guard pn_data_next(data) else {
                throw TransportError(.invalidMessage, "application property '\(key)' has no value")
            }
            properties.append(AMQPApplicationProperty(key, readValue(data)))
        }
        return properties
    }

    /// The value at the cursor; compound and rarely used types as ``AMQPValue/unsupported(_:)``.
    static func readValue(_ data: OpaquePointer?) -> AMQPValue {
        if pn_data_is_described(data) { return .unsupported("described") }
        switch pn_data_type(data) {
        case PN_NULL: return .null
        case PN_BOOL: return .boolean(pn_data_get_bool(data))
        case PN_UBYTE: return .ubyte(pn_data_get_ubyte(data))
        case PN_USHORT: return .ushort(pn_data_get_ushort(data))
        case PN_UINT: return .uint(pn_data_get_uint(data))
        case PN_ULONG: return .ulong(pn_data_get_ulong(data))
        case PN_BYTE: return .byte(pn_data_get_byte(data))
        case PN_SHORT: return .short(pn_data_get_short(data))
        case PN_INT: return .int(pn_data_get_int(data))
        case PN_LONG: return .long(pn_data_get_long(data))
        case PN_FLOAT: return .float(pn_data_get_float(data))
        case PN_DOUBLE: return .double(pn_data_get_double(data))
        case PN_TIMESTAMP: return .timestamp(pn_data_get_timestamp(data))
        case PN_UUID:
            let uuid = pn_data_get_uuid(data)
            return .uuid(withUnsafeBytes(of: uuid.bytes) { Array($0) })
        case PN_BINARY: return .binary(byteArray(pn_data_get_binary(data)))
        case PN_STRING:
            let bytes = pn_data_get_string(data)
            guard bytes.size > 0, let start = bytes.start else { return .string("") }
            return stringValue(UnsafeRawBufferPointer(start: start, count: bytes.size).bindMemory(to: UInt8.self))
        case PN_SYMBOL: return .symbol(text(pn_data_get_symbol(data)))
        case PN_CHAR: return .unsupported("char")
        case PN_DECIMAL32: return .unsupported("decimal32")
        case PN_DECIMAL64: return .unsupported("decimal64")
        case PN_DECIMAL128: return .unsupported("decimal128")
        case PN_LIST: return .unsupported("list")
        case PN_MAP: return .unsupported("map")
        case PN_ARRAY: return .unsupported("array")
        default: return .unsupported("unknown")
        }
    }

    /// A string value: the text, or ``AMQPValue/unsupported(_:)`` for invalid UTF-8.
    static func stringValue(_ utf8: UnsafeBufferPointer<UInt8>) -> AMQPValue {
        // ASCII (most attribute values) is valid UTF-8: skip the generic validator, which
        // cost a third of a decode.
        if utf8.allSatisfy({ $0 < 0x80 }) { return .string(String(decoding: utf8, as: UTF8.self)) }
        guard let string = String(validating: utf8, as: UTF8.self) else { return .unsupported("string (invalid UTF-8)") }
        return .string(string)
    }

    private static func body(
        of pnMessage: OpaquePointer, sections: AMQPSectionScanner.Result, bytes: UnsafeRawBufferPointer
    ) -> AMQPBody {
        switch sections.dataSections.count {
        case 0: break
        case 1: return .data(Array(bytes[sections.dataSections[0]]))
        default: return .multipleData(sections.dataSections.map { Array(bytes[$0]) })
        }
        guard sections.hasValueBody, let data = pn_message_body(pnMessage), pn_data_size(data) > 0 else { return .none }
        pn_data_rewind(data)
        guard pn_data_next(data) else { return .none }
        guard pn_message_is_inferred(pnMessage) else { return .value(readValue(data)) }
        // An amqp-sequence section: its list (proton keeps the last sequence section).
        guard pn_data_type(data) == PN_LIST else { return .sequence([readValue(data)]) }
        pn_data_enter(data)
        defer { pn_data_exit(data) }
        var items: [AMQPValue] = []
        while pn_data_next(data) { items.append(readValue(data)) }
        return .sequence(items)
    }
}
