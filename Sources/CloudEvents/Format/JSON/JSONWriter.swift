/// JSON text primitives: the encoder's (through ``UnsafeByteWriter``) and the appending
/// forms other code uses.
enum JSONWriter {
    /// An upper bound of `text` as a JSON string: exact when nothing needs escaping, else
    /// six bytes per byte (`\u00XX`).
    @inline(__always)
    static func maximumSize(_ text: String) -> Int {
        UTF8Access.with(text) { utf8 in
            let bytes = UnsafeRawBufferPointer(utf8)
            let plain = ByteScan.firstJSONEscape(bytes, from: 0, to: bytes.count) == bytes.count
            return 2 + (plain ? bytes.count : bytes.count * 6)
        }
    }

    static func maximumSize(_ value: AttributeValue) -> Int {
        switch value {
        case .boolean: 5
        case .integer: 11
        case .string(let text), .uri(let text), .uriReference(let text): maximumSize(text)
        case .binary(let bytes): 2 + Base64.encodedCount(bytes.count)
        case .timestamp(let timestamp): 2 + timestamp.maximumRFC3339Size
        }
    }

    /// Writes `"text"` with JSON escapes for `"`, `\` and control characters.
    @inline(__always)
    static func writeString(_ text: String, to writer: inout UnsafeByteWriter) {
        UTF8Access.with(text) { writeString(utf8: $0, to: &writer) }
    }

    static func writeString(utf8: UnsafeBufferPointer<UInt8>, to writer: inout UnsafeByteWriter) {
        writer.write(UInt8(ascii: "\""))
        let bytes = UnsafeRawBufferPointer(utf8)
        var runStart = 0
        var index = ByteScan.firstJSONEscape(bytes, from: 0, to: utf8.count)
        while index < utf8.count {
            writer.write(UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
            let byte = utf8[index]
            writer.write(UInt8(ascii: "\\"))
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): writer.write(byte)
            case 0x0A: writer.write(UInt8(ascii: "n"))
            case 0x0D: writer.write(UInt8(ascii: "r"))
            case 0x09: writer.write(UInt8(ascii: "t"))
            default:
                writer.write("u00")
                writer.write(hexDigit(byte >> 4))
                writer.write(hexDigit(byte & 0xF))
            }
            runStart = index + 1
            index = ByteScan.firstJSONEscape(bytes, from: runStart, to: utf8.count)
        }
        writer.write(UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count]))
        writer.write(UInt8(ascii: "\""))
    }

    @inline(__always)
    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? 0x30 + value : 0x61 + value - 10
    }

    /// Writes an attribute value in its JSON form (Boolean and Integer native; everything
    /// else a string in canonical form).
    static func writeValue(_ value: AttributeValue, to writer: inout UnsafeByteWriter) {
        switch value {
        case .boolean(let flag): writer.write(flag ? "true" : "false")
        case .integer(let number): writer.writeInteger(number)
        case .string(let text), .uri(let text), .uriReference(let text): writeString(text, to: &writer)
        case .binary(let bytes):
            writer.write(UInt8(ascii: "\""))
            Base64.encode(bytes, to: &writer)
            writer.write(UInt8(ascii: "\""))
        case .timestamp(let timestamp):
            writer.write(UInt8(ascii: "\""))
            timestamp.writeRFC3339(to: &writer)
            writer.write(UInt8(ascii: "\""))
        }
    }

    /// Appends `"text"` as a JSON string.
    static func appendString(_ text: String, to output: inout [UInt8]) {
        UnsafeByteWriter.append(to: &output, maximumCount: maximumSize(text)) { writeString(text, to: &$0) }
    }
}
