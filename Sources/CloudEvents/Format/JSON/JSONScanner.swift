/// A JSON tokenizer over raw UTF-8 bytes: checks the grammar and UTF-8 as it goes and
/// reports values as byte ranges, so callers create Strings and arrays only for what they
/// keep.
struct JSONScanner {
    /// Arrays and objects nested deeper than this are refused, so hostile input cannot
    /// exhaust the stack.
    static let maximumDepth = 512

    let bytes: UnsafeRawBufferPointer
    var index = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    var isAtEnd: Bool { index >= bytes.count }

    @inline(__always)
    func peek() -> UInt8? {
        index < bytes.count ? bytes[index] : nil
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    /// Skips whitespace, then requires `byte`.
    @inline(__always)
    mutating func expect(_ byte: UInt8, _ expected: StaticString) throws(JSONSyntaxError) {
        skipWhitespace()
        guard index < bytes.count else { throw JSONSyntaxError(.unexpectedEnd(expected: "\(expected)"), at: index) }
        guard bytes[index] == byte else {
            throw JSONSyntaxError(.unexpectedByte(bytes[index], expected: "\(expected)"), at: index)
        }
        index += 1
    }

    /// Skips whitespace and returns the next byte without consuming it.
    @inline(__always)
    mutating func peekSignificant(_ expected: StaticString) throws(JSONSyntaxError) -> UInt8 {
        skipWhitespace()
        guard index < bytes.count else { throw JSONSyntaxError(.unexpectedEnd(expected: "\(expected)"), at: index) }
        return bytes[index]
    }

    // MARK: Strings

    /// A scanned string: the bytes between the quotes, and what they contain.
    struct StringToken {
        var start: Int
        var end: Int
        /// Contains a backslash escape, so the raw bytes are not the string's UTF-8.
        var hasEscapes: Bool
        /// Contains a byte ≥ 0x7F (non-ASCII or DEL), so CloudEvents String rules need a look.
        var hasNonASCII: Bool
    }

    /// Scans a string whose opening quote is at `index`.
    ///
    /// Inlined for the usual string, which has no escape and nothing above 0x7E: its end
    /// is the first byte the word scan stops at. The others are scanned by a call.
    @inline(__always)
    mutating func scanString() throws(JSONSyntaxError) -> StringToken {
        let start = index &+ 1  // after the opening quote
        let stop = ByteScan.firstJSONStringSpecial(bytes, from: start, to: bytes.count)
        if stop < bytes.count, bytes[stop] == UInt8(ascii: "\"") {
            index = stop &+ 1
            return StringToken(start: start, end: stop, hasEscapes: false, hasNonASCII: false)
        }
        index = stop
        return try scanString(from: start)
    }

    /// ``scanString()`` from `index`, within the string that starts at `start`.
    @inline(never)
    private mutating func scanString(from start: Int) throws(JSONSyntaxError) -> StringToken {
        var hasEscapes = false
        var hasNonASCII = false
        let count = bytes.count
        while index < count {
            index = ByteScan.firstJSONStringSpecial(bytes, from: index, to: count)
            guard index < count else { break }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let token = StringToken(start: start, end: index, hasEscapes: hasEscapes, hasNonASCII: hasNonASCII)
                index += 1
                return token
            }
            if byte == UInt8(ascii: "\\") {
                hasEscapes = true
                try skipEscape()
            } else if byte < 0x20 {
                throw JSONSyntaxError(.controlCharacterInString, at: index)
            } else if byte < 0x7F {
                index += 1
            } else {
                hasNonASCII = true
                index += try utf8SequenceLength(at: index)
            }
        }
        throw JSONSyntaxError(.unexpectedEnd(expected: "closing '\"' of a string"), at: index)
    }

    private mutating func skipEscape() throws(JSONSyntaxError) {
        guard index + 1 < bytes.count else { throw JSONSyntaxError(.unexpectedEnd(expected: "escape sequence"), at: index) }
        switch bytes[index + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            index += 2
        case UInt8(ascii: "u"):
            guard index + 6 <= bytes.count else { throw JSONSyntaxError(.unexpectedEnd(expected: "4 hex digits"), at: index) }
            for offset in 2..<6 where Hex.value(of: bytes[index + offset]) == nil {
                throw JSONSyntaxError(.invalidEscape, at: index)
            }
            index += 6
        default:
            throw JSONSyntaxError(.invalidEscape, at: index)
        }
    }

    /// Validates one UTF-8 sequence starting at `position` (a byte ≥ 0x80; 0x7F is ASCII)
    /// and returns its length. Rejects overlong forms, encoded surrogates and values above
    /// U+10FFFF.
    @inline(__always)
    func utf8SequenceLength(at position: Int) throws(JSONSyntaxError) -> Int {
        let lead = bytes[position]
        if lead < 0x80 { return 1 }
        func continuation(_ offset: Int, _ range: ClosedRange<UInt8> = 0x80...0xBF) throws(JSONSyntaxError) {
            guard position + offset < bytes.count, range.contains(bytes[position + offset]) else {
                throw JSONSyntaxError(.invalidUTF8, at: position)
            }
        }
        switch lead {
        case 0xC2...0xDF:
            try continuation(1)
            return 2
        case 0xE0:
            try continuation(1, 0xA0...0xBF)
            try continuation(2)
            return 3
        case 0xE1...0xEC, 0xEE...0xEF:
            try continuation(1)
            try continuation(2)
            return 3
        case 0xED:
            try continuation(1, 0x80...0x9F)
            try continuation(2)
            return 3
        case 0xF0:
            try continuation(1, 0x90...0xBF)
            try continuation(2)
            try continuation(3)
            return 4
        case 0xF1...0xF3:
            try continuation(1)
            try continuation(2)
            try continuation(3)
            return 4
        case 0xF4:
            try continuation(1, 0x80...0x8F)
            try continuation(2)
            try continuation(3)
            return 4
        default:
            throw JSONSyntaxError(.invalidUTF8, at: position)
        }
    }

    /// The string's UTF-8 with escapes resolved.
    ///
    /// - Throws: ``JSONSyntaxError/Reason/loneSurrogate`` for a `\uD800`–`\uDFFF` escape
    ///   that is not a valid pair, which no Swift String can hold.
    func unescapedBytes(_ token: StringToken) throws(JSONSyntaxError) -> [UInt8] {
        var output = [UInt8]()
        output.reserveCapacity(token.end - token.start)
        var position = token.start
        while position < token.end {
            let byte = bytes[position]
            guard byte == UInt8(ascii: "\\") else {
                output.append(byte)
                position += 1
                continue
            }
            let escape = bytes[position + 1]
            position += 2
            switch escape {
            case UInt8(ascii: "b"): output.append(0x08)
            case UInt8(ascii: "f"): output.append(0x0C)
            case UInt8(ascii: "n"): output.append(0x0A)
            case UInt8(ascii: "r"): output.append(0x0D)
            case UInt8(ascii: "t"): output.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4(at: position)
                position += 4
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    // A high surrogate must be followed by `\u` and a low surrogate.
                    guard position + 6 <= token.end, bytes[position] == UInt8(ascii: "\\"),
                        bytes[position + 1] == UInt8(ascii: "u")
                    else {
                        throw JSONSyntaxError(.loneSurrogate, at: position - 6)
                    }
                    let low = hex4(at: position + 2)
                    guard low >= 0xDC00 && low <= 0xDFFF else { throw JSONSyntaxError(.loneSurrogate, at: position - 6) }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    position += 6
                } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                    throw JSONSyntaxError(.loneSurrogate, at: position - 6)
                }
                UTF8Encoding.append(scalar, to: &output)
            default: output.append(escape)  // `"`, `\`, `/`
            }
        }
        return output
    }

    private func hex4(at position: Int) -> UInt32 {
        var value: UInt32 = 0
        for offset in 0..<4 { value = value << 4 | UInt32(Hex.value(of: bytes[position + offset]) ?? 0) }
        return value
    }

    /// The string as a Swift String (escapes resolved).
    func string(_ token: StringToken) throws(JSONSyntaxError) -> String {
        if token.hasEscapes {
            return String(decoding: try unescapedBytes(token), as: UTF8.self)
        }
        // The scan validated the UTF-8 already.
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[token.start..<token.end]), as: UTF8.self)
    }

    // MARK: Values

    /// The JSON type of a value.
    enum ValueKind: Sendable {
        case object, array, string, number, boolean, null
    }

    /// Skips one value (after whitespace) and returns its kind; the value spans from the
    /// first significant byte to `index`.
    @discardableResult
    mutating func skipValue(depth: Int = 0) throws(JSONSyntaxError) -> ValueKind {
        let byte = try peekSignificant("a JSON value")
        switch byte {
        case UInt8(ascii: "\""):
            _ = try scanString()
            return .string
        case UInt8(ascii: "{"):
            guard depth < Self.maximumDepth else { throw JSONSyntaxError(.tooDeeplyNested, at: index) }
            index += 1
            if try peekSignificant("a member name or '}'") == UInt8(ascii: "}") {
                index += 1
                return .object
            }
            while true {
                guard try peekSignificant("a member name") == UInt8(ascii: "\"") else {
                    throw JSONSyntaxError(.unexpectedByte(bytes[index], expected: "a member name"), at: index)
                }
                _ = try scanString()
                try expect(UInt8(ascii: ":"), "':' after a member name")
                try skipValue(depth: depth + 1)
                let next = try peekSignificant("',' or '}'")
                index += 1
                if next == UInt8(ascii: "}") { return .object }
                guard next == UInt8(ascii: ",") else {
                    throw JSONSyntaxError(.unexpectedByte(next, expected: "',' or '}'"), at: index - 1)
                }
            }
        case UInt8(ascii: "["):
            guard depth < Self.maximumDepth else { throw JSONSyntaxError(.tooDeeplyNested, at: index) }
            index += 1
            if try peekSignificant("a value or ']'") == UInt8(ascii: "]") {
                index += 1
                return .array
            }
            while true {
                try skipValue(depth: depth + 1)
                let next = try peekSignificant("',' or ']'")
                index += 1
                if next == UInt8(ascii: "]") { return .array }
                guard next == UInt8(ascii: ",") else {
                    throw JSONSyntaxError(.unexpectedByte(next, expected: "',' or ']'"), at: index - 1)
                }
            }
        case UInt8(ascii: "t"):
            try literal("true")
            return .boolean
        case UInt8(ascii: "f"):
            try literal("false")
            return .boolean
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            _ = try scanNumber()
            return .number
        default:
            throw JSONSyntaxError(.unexpectedByte(byte, expected: "a JSON value"), at: index)
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
        let count = word.utf8CodeUnitCount
        for offset in 0..<count {
            guard index + offset < bytes.count else {
                throw JSONSyntaxError(.unexpectedEnd(expected: "'\(word)'"), at: index + offset)
            }
            guard bytes[index + offset] == word.utf8Start[offset] else {
                throw JSONSyntaxError(.unexpectedByte(bytes[index + offset], expected: "'\(word)'"), at: index + offset)
            }
        }
        index += count
    }

    /// Scans a number; returns whether it is integral (no fraction, no exponent).
    mutating func scanNumber() throws(JSONSyntaxError) -> Bool {
        let start = index
        func digits() -> Int {
            let first = index
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
            return index - first
        }
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count else { throw JSONSyntaxError(.invalidNumber, at: start) }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else if digits() == 0 {
            throw JSONSyntaxError(.invalidNumber, at: start)
        }
        var integral = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            integral = false
            guard digits() > 0 else { throw JSONSyntaxError(.invalidNumber, at: start) }
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            integral = false
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw JSONSyntaxError(.invalidNumber, at: start) }
        }
        return integral
    }
}

/// Appends Unicode scalars as UTF-8.
enum UTF8Encoding {
    static func append(_ scalar: UInt32, to output: inout [UInt8]) {
        switch scalar {
        case ..<0x80:
            output.append(UInt8(scalar))
        case ..<0x800:
            output.append(UInt8(0xC0 | scalar >> 6))
            output.append(UInt8(0x80 | scalar & 0x3F))
        case ..<0x10000:
            output.append(UInt8(0xE0 | scalar >> 12))
            output.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            output.append(UInt8(0x80 | scalar & 0x3F))
        default:
            output.append(UInt8(0xF0 | scalar >> 18))
            output.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            output.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            output.append(UInt8(0x80 | scalar & 0x3F))
        }
    }
}
