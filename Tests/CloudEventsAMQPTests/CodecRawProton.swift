import CQpidProton
import CloudEvents
import CloudEventsAMQP

/// What raw proton (`pn_data_decode`, section by section, with the cursor API) sees in an
/// encoded message: independent of `AMQPMessageCodec.decode`, so that a type the codec both
/// writes and reads wrongly cannot pass the wire-shape tests.
struct RawProtonView {
    /// Each section's numeric descriptor, in order.
    var sectionCodes: [UInt64] = []
    /// The application-properties entries: key, proton type, and the value as text.
    var applicationProperties: [(key: String, type: pn_type_t, text: String)] = []
    /// `properties.content-type`'s proton type and text.
    var contentType: (type: pn_type_t, text: String)?
    /// The payload of each data section.
    var dataSections: [[UInt8]] = []

    /// The type of the application property `key`, if present.
    func type(of key: String) -> pn_type_t? { applicationProperties.first { $0.key == key }?.type }
    /// The text of the application property `key`, if present.
    func text(of key: String) -> String? { applicationProperties.first { $0.key == key }?.text }

    init(_ bytes: [UInt8]) throws(RawProtonError) {
        var offset = 0
        while offset < bytes.count {
            guard let data = pn_data(16) else { throw RawProtonError("pn_data failed") }
            defer { pn_data_free(data) }
            let consumed = bytes.withUnsafeBytes { buffer in
                pn_data_decode(
                    data, buffer.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self), bytes.count - offset)
            }
            guard consumed > 0 else { throw RawProtonError("pn_data_decode returned \(consumed) at byte \(offset)") }
            offset += consumed
            pn_data_rewind(data)
            guard pn_data_next(data), pn_data_is_described(data), pn_data_enter(data), pn_data_next(data),
                pn_data_type(data) == PN_ULONG
            else { throw RawProtonError("a section that is not described by a ulong") }
            let code = pn_data_get_ulong(data)
            sectionCodes.append(code)
            guard pn_data_next(data) else { throw RawProtonError("a section without a value") }
            switch code {
            case 0x73: readProperties(data)
            case 0x74: try readApplicationProperties(data)
            case 0x75: dataSections.append(Self.bytes(pn_data_get_binary(data)))
            default: break
            }
        }
    }

    private mutating func readProperties(_ data: OpaquePointer) {
        guard pn_data_type(data) == PN_LIST, pn_data_enter(data) else { return }
        var index = 0
        while pn_data_next(data) {
            if index == 6, pn_data_type(data) != PN_NULL {
                contentType = (pn_data_type(data), Self.text(pn_data_get_bytes(data)))
            }
            index += 1
        }
        pn_data_exit(data)
    }

    private mutating func readApplicationProperties(_ data: OpaquePointer) throws(RawProtonError) {
        guard pn_data_type(data) == PN_MAP, pn_data_enter(data) else {
            throw RawProtonError("application-properties is not a map")
        }
        while pn_data_next(data) {
            guard pn_data_type(data) == PN_STRING else { throw RawProtonError("a key that is not a string") }
            let key = Self.text(pn_data_get_string(data))
            guard pn_data_next(data) else { throw RawProtonError("key \(key) has no value") }
            let type = pn_data_type(data)
            let text: String
            switch type {
            case PN_BOOL: text = pn_data_get_bool(data) ? "true" : "false"
            case PN_LONG: text = String(pn_data_get_long(data))
            case PN_TIMESTAMP: text = String(pn_data_get_timestamp(data))
            case PN_STRING, PN_SYMBOL: text = Self.text(pn_data_get_bytes(data))
            case PN_BINARY: text = Self.bytes(pn_data_get_binary(data)).map { String($0) }.joined(separator: ",")
            default: text = "?"
            }
            applicationProperties.append((key, type, text))
        }
        pn_data_exit(data)
    }

    private static func bytes(_ bytes: pn_bytes_t) -> [UInt8] {
        guard let start = bytes.start, bytes.size > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: start, count: bytes.size))
    }

    private static func text(_ value: pn_bytes_t) -> String {
        String(decoding: bytes(value), as: UTF8.self)
    }
}

struct RawProtonError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A raw proton message built with the cursor API (as another SDK's sender would write it),
/// encoded to bytes.
func rawProtonMessage(
    contentType: String? = nil, body: [UInt8]? = nil, _ fill: (OpaquePointer) -> Void = { _ in }
) -> [UInt8] {
    let message = pn_message()!
    defer { pn_message_free(message) }
    if let contentType { _ = pn_message_set_content_type(message, contentType) }
    let properties = pn_message_properties(message)!
    pn_data_put_map(properties)
    pn_data_enter(properties)
    fill(properties)
    pn_data_exit(properties)
    if let body {
        pn_message_set_inferred(message, true)
        withPNBytes(body) { _ = pn_data_put_binary(pn_message_body(message), $0) }
    }
    var buffer = [UInt8](repeating: 0, count: 65536)
    var size = buffer.count
    let status = buffer.withUnsafeMutableBytes {
        pn_message_encode(message, $0.baseAddress!.assumingMemoryBound(to: CChar.self), &size)
    }
    precondition(status == 0, "pn_message_encode: \(status)")
    return Array(buffer[..<size])
}

/// Puts a string key into a map being filled.
func putKey(_ data: OpaquePointer, _ key: String) {
    putString(data, key)
}

/// Puts a string value.
func putString(_ data: OpaquePointer, _ text: String) {
    withPNBytes(Array(text.utf8)) { _ = pn_data_put_string(data, $0) }
}

/// Runs `body` with a `pn_bytes_t` over `bytes` (a valid pointer even when empty).
func withPNBytes(_ bytes: [UInt8], _ body: (pn_bytes_t) -> Void) {
    let padded = bytes + [0]
    padded.withUnsafeBufferPointer { buffer in
        body(pn_bytes_t(size: bytes.count, start: UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)))
    }
}

/// `AMQPMessageCodec.decode` over an array, keeping the typed error.
func decodeBytes(_ bytes: [UInt8]) throws(TransportError) -> AMQPMessage {
    try bytes.withUnsafeBytes { buffer in Result { () throws(TransportError) in try AMQPMessageCodec.decode(buffer) } }.get()
}
