/// The text of one JSON value, checked once to be valid JSON (RFC 8259, UTF-8) and then
/// carried as bytes: never parsed into objects and re-serialised.
public struct RawJSON: Sendable, Hashable, CustomStringConvertible {
    /// The JSON text as UTF-8, without surrounding whitespace.
    public let bytes: [UInt8]

    /// Checks that `bytes` hold exactly one JSON value (surrounding whitespace is trimmed).
    ///
    /// - Throws: ``JSONSyntaxError`` with the byte offset of the first problem.
    public init(validating bytes: [UInt8]) throws(JSONSyntaxError) {
        // The fast yes/no validator first; the scanner only to say why text is invalid.
        if let range = bytes.withUnsafeBytes(JSONValidator.valueRange) {
            self.bytes = range.count == bytes.count ? bytes : Array(bytes[range])
            return
        }
        let range = try bytes.withUnsafeBytes { buffer in
            Result { () throws(JSONSyntaxError) -> Range<Int> in
                var scanner = JSONScanner(buffer)
                scanner.skipWhitespace()
                let start = scanner.index
                try scanner.skipValue()
                let end = scanner.index
                scanner.skipWhitespace()
                guard scanner.isAtEnd else { throw JSONSyntaxError(.trailingCharacters, at: scanner.index) }
                return start..<end
            }
        }.get()
        self.bytes = range.count == bytes.count ? bytes : Array(bytes[range])
    }

    /// Checks and keeps the UTF-8 of `text`.
    public init(validating text: String) throws(JSONSyntaxError) {
        try self.init(validating: Array(text.utf8))
    }

    /// Wraps bytes already known to be one valid JSON value.
    init(unchecked bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// JSON `null`.
    public static let null = RawJSON(unchecked: Array("null".utf8))

    /// The same value without insignificant whitespace (for one-line output).
    public func minified() -> RawJSON {
        var output = [UInt8]()
        output.reserveCapacity(bytes.count)
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                output.append(byte)
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
                output.append(byte)
            } else if byte != 0x20 && byte != 0x0A && byte != 0x0D && byte != 0x09 {
                output.append(byte)
            }
        }
        return output.count == bytes.count ? self : RawJSON(unchecked: output)
    }

    /// The JSON text itself.
    public var description: String { String(decoding: bytes, as: UTF8.self) }
}
