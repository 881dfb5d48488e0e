/// The percent-encoding of header values that the HTTP and NATS bindings require, and a
/// strict decoder (spec edge cases 8–11).
///
/// Encoding takes the canonical string's UTF-8 and writes `%XX` (uppercase) for space,
/// `"`, `%`, and every byte outside `!`…`~`; `+`, `/`, `=` and `:` stay as they are.
/// Decoding first unquotes an RFC 7230 quoted-string (older senders), then runs exactly
/// one percent-decoding pass, accepting lowercase hex, and rejects malformed escapes and
/// bytes that are not UTF-8 (overlong forms such as `%C0%A0`, encoded surrogates such as
/// `%ED%A0%80`). It never turns `+` into a space.
///
/// A value reaches the decoder as a `String`, which cannot hold bytes that are not UTF-8:
/// the HTTP parser (SwiftNIO's) or the header type (swift-http-types' `HTTPField.value`)
/// has already replaced each such byte with U+FFFD. So an **unencoded** U+FFFD in a value
/// is refused as the trace of bytes that were not UTF-8
/// (``DecodingError/replacementCharacter(offset:)``); a deliberate U+FFFD arrives
/// percent-encoded (`%EF%BF%BD`) and is kept.
public enum PercentEncoding {
    /// The header value for a canonical string.
    public static func encodeHeaderValue(_ value: String) -> String {
        encodeHeaderValueReportingASCII(value).text
    }

    /// ``encodeHeaderValue(_:)``, also telling whether `value` is printable ASCII
    /// (U+0020–U+007E): bindings that encode every String attribute this way then know
    /// which values the String type's character rules need not look at again.
    ///
    /// The usual value, with nothing to encode, is found with a word-at-a-time scan and
    /// returned as it is (no copy).
    package static func encodeHeaderValueReportingASCII(_ value: String) -> (text: String, isPrintableASCII: Bool) {
        let scan = UTF8Access.with(value) { utf8 -> (special: Bool, printable: Bool) in
            let bytes = UnsafeRawBufferPointer(utf8)
            let first = ByteScan.firstHeaderEncodingSpecial(bytes, from: 0, to: bytes.count)
            guard first < bytes.count else { return (false, true) }
            return (true, ByteScan.firstNonPrintableASCII(bytes, from: first, to: bytes.count) == bytes.count)
        }
        guard scan.special else { return (value, true) }
        return (encodeAll(value), scan.printable)
    }

    /// Writes every byte of `value`, `%XX` for those ``mustEncode(_:)`` selects.
    private static func encodeAll(_ value: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var output = [UInt8]()
        output.reserveCapacity(value.utf8.count + 16)
        for byte in value.utf8 {
            if mustEncode(byte) {
                output.append(UInt8(ascii: "%"))
                output.append(hex[Int(byte >> 4)])
                output.append(hex[Int(byte & 0x0F)])
            } else {
                output.append(byte)
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    @inline(__always)
    static func mustEncode(_ byte: UInt8) -> Bool {
        byte <= 0x20 || byte >= 0x7F || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "%")
    }

    /// Why a header value does not decode.
    public enum DecodingError: Error, Sendable, Hashable, CustomStringConvertible {
        /// A `%` not followed by two hexadecimal digits, at this byte offset.
        case malformedEscape(offset: Int)
        /// The decoded bytes are not UTF-8.
        case invalidUTF8
        /// A quoted-string without its closing quote, or a dangling backslash.
        case malformedQuotedString
        /// An unencoded U+FFFD at this byte offset: the mark a lenient parser leaves where
        /// the bytes that arrived were not UTF-8.
        case replacementCharacter(offset: Int)

        /// One line naming the problem and, where it has one, its byte offset.
        public var description: String {
            switch self {
            case .malformedEscape(let offset): "malformed percent-escape at byte \(offset)"
            case .invalidUTF8: "percent-decoded bytes are not valid UTF-8"
            case .malformedQuotedString: "malformed quoted-string"
            case .replacementCharacter(let offset):
                "bytes that are not valid UTF-8 (an unencoded U+FFFD replacement character at byte \(offset))"
            }
        }
    }

    /// The canonical string a header value carries.
    ///
    /// - Throws: ``DecodingError`` for malformed escapes, malformed quoting or invalid UTF-8.
    public static func decodeHeaderValue(_ value: String) throws(DecodingError) -> String {
        try decodeHeaderValueReportingASCII(value).text
    }

    /// ``decodeHeaderValue(_:)``, also telling whether the value was taken as it is and is
    /// printable ASCII (U+0020–U+007E), so that the String type's character rules need not
    /// look at it again; `false` whenever quotes or escapes were resolved.
    ///
    /// The usual value, neither quoted nor with a `%`, is found with a word-at-a-time scan
    /// and returned as it is (no copy): one decoding pass leaves it unchanged.
    ///
    /// `value` is consumed: the caller's fresh copy (a header field's value) is returned
    /// as it is, without one more retain here and a release there for every value.
    @usableFromInline
    package static func decodeHeaderValueReportingASCII(
        _ value: consuming String
    ) throws(DecodingError) -> (text: String, isPrintableASCII: Bool) {
        let scan = UTF8Access.with(value) { utf8 -> (plain: Bool, printable: Bool, replacement: Int?) in
            let bytes = UnsafeRawBufferPointer(utf8)
            var index =
                utf8.first == UInt8(ascii: "\"")
                ? 0 : ByteScan.firstPercentOrNonPrintableASCII(bytes, from: 0, to: bytes.count)
            guard index < bytes.count else { return (true, true, nil) }
            // Quoted, not printable ASCII (raw UTF-8 from a lenient sender) or a `%`: look for
            // a `%` and for an unencoded U+FFFD (EF BF BD).
            var plain = utf8.first != UInt8(ascii: "\"")
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "%") {
                    plain = false
                } else if byte == 0xEF, index + 2 < bytes.count, bytes[index + 1] == 0xBF, bytes[index + 2] == 0xBD {
                    return (false, false, index)
                }
                index += 1
            }
            return (plain, false, nil)
        }
        if let offset = scan.replacement { throw .replacementCharacter(offset: offset) }
        if scan.plain { return (value, scan.printable) }
        return (try decodeSlowly(value), false)
    }

    private static func decodeSlowly(_ value: String) throws(DecodingError) -> String {
        var bytes = Array(value.utf8)
        if bytes.count >= 2, bytes.first == UInt8(ascii: "\""), bytes.last == UInt8(ascii: "\"") {
            bytes = try unquote(bytes)
        } else if bytes.first == UInt8(ascii: "\"") {
            throw .malformedQuotedString
        }
        guard bytes.contains(UInt8(ascii: "%")) else {
            return bytes.count == value.utf8.count ? value : try utf8String(bytes)
        }
        return try utf8String(try percentDecode(bytes))
    }

    /// One strict percent-decoding pass over bytes.
    public static func percentDecode(_ bytes: [UInt8]) throws(DecodingError) -> [UInt8] {
        var output = [UInt8]()
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "%") else {
                output.append(byte)
                index += 1
                continue
            }
            guard index + 2 < bytes.count,
                let high = Hex.value(of: bytes[index + 1]), let low = Hex.value(of: bytes[index + 2])
            else {
                throw .malformedEscape(offset: index)
            }
            output.append(high << 4 | low)
            index += 3
        }
        return output
    }

    /// Removes the quotes of an RFC 7230 quoted-string and resolves `\` escapes.
    private static func unquote(_ bytes: [UInt8]) throws(DecodingError) -> [UInt8] {
        var output = [UInt8]()
        var index = 1
        let end = bytes.count - 1
        while index < end {
            var byte = bytes[index]
            if byte == UInt8(ascii: "\\") {
                index += 1
                guard index < end else { throw .malformedQuotedString }
                byte = bytes[index]
            } else if byte == UInt8(ascii: "\"") {
                throw .malformedQuotedString
            }
            output.append(byte)
            index += 1
        }
        return output
    }

    /// Strict UTF-8: `String(validating:)` rejects overlong forms, surrogates and
    /// truncated sequences.
    static func utf8String(_ bytes: [UInt8]) throws(DecodingError) -> String {
        guard let string = String(validating: bytes, as: UTF8.self) else { throw .invalidUTF8 }
        return string
    }
}
