/// Byte-level checks for the CloudEvents naming rules and the String, URI and
/// URI-reference types. Shared by the model's validation and the decoders, so that a
/// rule is written once.
enum AttributeRules {
    /// `^[a-z0-9]+$`. Longer than 20 characters and a leading digit are allowed: both
    /// are only SHOULD rules in the spec.
    static func isValidName(_ name: String) -> Bool {
        UTF8Access.with(name, isValidName)
    }

    static func isValidName(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !bytes.isEmpty else { return false }
        for byte in bytes where !((byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)) {
            return false
        }
        return true
    }

    /// The CloudEvents String type: no control characters (U+0000–U+001F, U+007F–U+009F),
    /// no noncharacters (U+FDD0–U+FDEF, U+xFFFE, U+xFFFF). A Swift String cannot hold a
    /// lone surrogate, so that rule is enforced where bytes become Strings.
    static func checkString(_ text: String) throws(AttributeRule) {
        let result = UTF8Access.with(text) { utf8 in
            Result { () throws(AttributeRule) in try checkString(utf8: UnsafeRawBufferPointer(utf8)) }
        }
        try result.get()
    }

    /// Checks the String rules on UTF-8 bytes that are already known to be valid UTF-8.
    /// Pure ASCII without control characters, the common case, is one tight loop.
    static func checkString(utf8 bytes: UnsafeRawBufferPointer) throws(AttributeRule) {
        let count = bytes.count
        var index = ByteScan.firstNonPrintableASCII(bytes, from: 0, to: count)
        while index < count {
            let byte = bytes[index]
            if byte >= 0x20 && byte < 0x7F {
                index += 1
                continue
            }
            // Decode one scalar (the bytes are valid UTF-8).
            let scalar: UInt32
            let length: Int
            switch byte {
            case ..<0x80:
                scalar = UInt32(byte)
                length = 1
            case 0xC0..<0xE0:
                scalar = UInt32(byte & 0x1F) << 6 | UInt32(bytes[index + 1] & 0x3F)
                length = 2
            case 0xE0..<0xF0:
                scalar =
                    UInt32(byte & 0x0F) << 12 | UInt32(bytes[index + 1] & 0x3F) << 6
                    | UInt32(bytes[index + 2] & 0x3F)
                length = 3
            default:
                scalar =
                    UInt32(byte & 0x07) << 18 | UInt32(bytes[index + 1] & 0x3F) << 12
                    | UInt32(bytes[index + 2] & 0x3F) << 6 | UInt32(bytes[index + 3] & 0x3F)
                length = 4
            }
            if let reason = exclusionReason(scalar) {
                throw .invalidCharacter(scalar: scalar, reason: reason)
            }
            index += length
        }
    }

    @inline(__always)
    static func exclusionReason(_ scalar: UInt32) -> String? {
        if scalar < 0x20 || (scalar >= 0x7F && scalar <= 0x9F) { return "control character" }
        if scalar >= 0xFDD0 && scalar <= 0xFDEF { return "noncharacter" }
        if scalar & 0xFFFE == 0xFFFE { return "noncharacter" }
        if scalar >= 0xD800 && scalar <= 0xDFFF { return "lone surrogate" }
        return nil
    }

    /// An absolute URI: a scheme (`ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`) followed by
    /// `:` and URI characters. A `#fragment` is accepted when reading (spec edge case 16).
    static func checkURI(_ text: String) throws(AttributeRule) {
        let valid = UTF8Access.with(text) { utf8 in
            let bytes = UnsafeRawBufferPointer(utf8)
            return hasOnlyURICharacters(bytes) && schemeLength(bytes) != nil
        }
        guard valid else { throw .invalidURI(text) }
    }

    /// A URI reference: only RFC 3986 characters and well-formed percent-escapes; if the
    /// text before the first `/`, `?` or `#` contains a `:`, what precedes it must be a scheme.
    /// (This runs for `source` on every encode and decode: the part before the first
    /// delimiter is looked at once for a `:`, then every byte in one tight loop.)
    static func checkURIReference(_ text: String) throws(AttributeRule) {
        let valid = UTF8Access.with(text) { utf8 -> Bool in
            let bytes = UnsafeRawBufferPointer(utf8)
            for byte in bytes {
                if byte == UInt8(ascii: "/") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "#") { break }
                if byte == UInt8(ascii: ":") {
                    guard schemeLength(bytes) != nil else { return false }
                    break
                }
            }
            return hasOnlyURICharacters(bytes)
        }
        guard valid else { throw .invalidURIReference(text) }
    }

    /// The length of a leading `scheme:`'s scheme, or `nil` when there is none.
    private static func schemeLength(_ bytes: UnsafeRawBufferPointer) -> Int? {
        for (index, byte) in bytes.enumerated() {
            if byte == UInt8(ascii: ":") { return index > 0 ? index : nil }
            let isAlpha = (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A
            if index == 0 {
                guard isAlpha else { return nil }
            } else {
                let isDigit = byte >= 0x30 && byte <= 0x39
                guard isAlpha || isDigit || byte == 0x2B || byte == 0x2D || byte == 0x2E else { return nil }
            }
        }
        return nil
    }

    /// RFC 3986 unreserved, reserved (gen-delims and sub-delims) and `%XX`.
    private static func hasOnlyURICharacters(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let count = bytes.count
        var index = 0
        while index < count {
            // Eight at a time while there is no `%` (and nothing else to look at).
            while index &+ 8 <= count, ByteScan.areURICharacters(bytes, eightAt: index) { index &+= 8 }
            guard index < count else { break }
            let byte = bytes[index]
            if ByteScan.isURICharacter(byte) {
                index &+= 1
                continue
            }
            guard byte == UInt8(ascii: "%"), index &+ 2 < count, Hex.value(of: bytes[index &+ 1]) != nil,
                Hex.value(of: bytes[index &+ 2]) != nil
            else { return false }
            index &+= 3
        }
        return true
    }
}

/// Hexadecimal digit helpers.
enum Hex {
    @inline(__always)
    static func value(of byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }
}
