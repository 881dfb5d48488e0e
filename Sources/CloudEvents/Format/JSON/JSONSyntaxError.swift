/// Why bytes are not valid JSON (RFC 8259), and where.
public struct JSONSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Which rule of the JSON grammar the input broke.
    public enum Reason: Sendable, Hashable {
        /// The input ends where the grammar needs more (`expected` says what).
        case unexpectedEnd(expected: String)
        /// A byte the grammar does not allow here.
        case unexpectedByte(UInt8, expected: String)
        /// A backslash escape other than `\" \\ \/ \b \f \n \r \t \uXXXX`.
        case invalidEscape
        /// A raw control character (U+0000–U+001F) inside a string.
        case controlCharacterInString
        /// Bytes that are not UTF-8 (including overlong forms and encoded surrogates).
        case invalidUTF8
        /// `\uD800`–`\uDFFF` not forming a pair, where a Swift String is needed.
        case loneSurrogate
        /// A number that breaks the JSON number grammar.
        case invalidNumber
        /// Something after the value.
        case trailingCharacters
        /// More than ``JSONScanner/maximumDepth`` nested arrays and objects.
        case tooDeeplyNested
    }

    /// Which rule the input broke.
    public var reason: Reason
    /// The byte offset in the input where the problem was found.
    public var offset: Int

    /// An error for `reason`, found at byte `offset` of the input.
    public init(_ reason: Reason, at offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    /// The byte offset and the problem, e.g. `invalid JSON at byte 12: invalid number`.
    public var description: String {
        let what: String
        switch reason {
        case .unexpectedEnd(let expected): what = "unexpected end of input, expected \(expected)"
        case .unexpectedByte(let byte, let expected):
            let shown =
                byte >= 0x20 && byte < 0x7F
                ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16, uppercase: true))"
            what = "unexpected \(shown), expected \(expected)"
        case .invalidEscape: what = "invalid escape sequence in string"
        case .controlCharacterInString: what = "unescaped control character in string"
        case .invalidUTF8: what = "invalid UTF-8"
        case .loneSurrogate: what = "unpaired UTF-16 surrogate escape in string"
        case .invalidNumber: what = "invalid number"
        case .trailingCharacters: what = "unexpected characters after the JSON value"
        case .tooDeeplyNested: what = "nesting deeper than \(JSONScanner.maximumDepth) levels"
        }
        return "invalid JSON at byte \(offset): \(what)"
    }
}
