/// A yes/no JSON validator for ``RawJSON/init(validating:)``: the same grammar, UTF-8
/// rules and nesting limit as ``JSONScanner/skipValue(depth:)``, but one flat loop over
/// the bytes, without recursion, tokens or error values.
///
/// A binary-mode body declared `application/json` is validated on every decode (issue #4):
/// the scanner, built to report where and why text is wrong and to hand tokens to the
/// event decoder, spent about 1.9 ns a byte on it. Invalid text is rare, so this only says
/// whether the text is valid; the scanner runs again to say why when it is not.
enum JSONValidator {
    /// The byte range of the single JSON value in `bytes` (surrounding whitespace excluded),
    /// or `nil` when `bytes` are not exactly one valid JSON value.
    static func valueRange(_ bytes: UnsafeRawBufferPointer) -> Range<Int>? {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        let start = skipWhitespace(base, bytes.count, from: 0)
        guard let end = valueEnd(bytes, from: start), skipWhitespace(base, bytes.count, from: end) == bytes.count else {
            return nil
        }
        return start..<end
    }

    /// The index after the JSON value that starts at `start` (its first byte, not
    /// whitespace), or `nil` when no valid value starts there. What follows the value is
    /// not looked at: the JSON event decoder uses this to step over `data` and other
    /// values it keeps as raw JSON.
    static func valueEnd(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        // Open containers, innermost last: 1 for an object, 0 for an array (as the
        // scanner's recursion, at most `JSONScanner.maximumDepth` deep).
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: JSONScanner.maximumDepth) { stack in
            valueEnd(base, count: bytes.count, from: start, stack: stack.baseAddress!)
        }
    }

    private static func valueEnd(
        _ bytes: UnsafePointer<UInt8>, count: Int, from start: Int, stack: UnsafeMutablePointer<UInt8>
    ) -> Int? {
        var index = start
        var depth = 0
        // The next string is a member name (then `:` and a value follow), not a value.
        var atMemberName = false
        // Each turn reads one value or member name; after a value, the `,` `}` `]` that
        // follow it up to the next one. One function, no calls: strings are short and many.
        while true {
            guard index < count else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "\""):
                // Most strings have no escape and nothing above 0x7E: their end is the first
                // byte the word scan stops at. Only the others pay for a call.
                let stop = ByteScan.firstJSONStringSpecial(
                    UnsafeRawBufferPointer(start: bytes, count: count), from: index &+ 1, to: count)
                if stop < count, bytes[stop] == UInt8(ascii: "\"") {
                    index = stop &+ 1
                } else {
                    guard let end = stringEnd(bytes, count, from: stop) else { return nil }
                    index = end
                }
                if atMemberName {
                    index = skipWhitespace(bytes, count, from: index)
                    guard index < count, bytes[index] == UInt8(ascii: ":") else { return nil }
                    index = skipWhitespace(bytes, count, from: index &+ 1)
                    atMemberName = false
                    continue  // to the member's value
                }
            case _ where atMemberName:
                return nil
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard depth < JSONScanner.maximumDepth else { return nil }
                let isObject = bytes[index] == UInt8(ascii: "{")
                index = skipWhitespace(bytes, count, from: index &+ 1)
                guard index < count else { return nil }
                if bytes[index] == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    index &+= 1  // empty: a complete value
                } else {
                    stack[depth] = isObject ? 1 : 0
                    depth &+= 1
                    atMemberName = isObject
                    continue  // to the first member or element
                }
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                guard let end = numberEnd(bytes, count, from: index) else { return nil }
                index = end
            case UInt8(ascii: "t"):
                guard matches(bytes, count, at: index, "true") else { return nil }
                index &+= 4
            case UInt8(ascii: "f"):
                guard matches(bytes, count, at: index, "false") else { return nil }
                index &+= 5
            case UInt8(ascii: "n"):
                guard matches(bytes, count, at: index, "null") else { return nil }
                index &+= 4
            default:
                return nil
            }

            // After a value: close containers until a `,` leads to the next member or element.
            while true {
                guard depth > 0 else { return index }
                index = skipWhitespace(bytes, count, from: index)
                guard index < count else { return nil }
                let byte = bytes[index]
                let isObject = stack[depth &- 1] == 1
                index &+= 1
                if byte == UInt8(ascii: ",") {
                    index = skipWhitespace(bytes, count, from: index)
                    atMemberName = isObject
                    break
                }
                guard byte == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) else { return nil }
                depth &-= 1
            }
        }
    }

    @inline(__always)
    private static func skipWhitespace(_ bytes: UnsafePointer<UInt8>, _ count: Int, from start: Int) -> Int {
        var index = start
        while index < count {
            let byte = bytes[index]
            guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { break }
            index &+= 1
        }
        return index
    }

    @inline(__always)
    private static func matches(_ bytes: UnsafePointer<UInt8>, _ count: Int, at index: Int, _ word: StaticString) -> Bool {
        let length = word.utf8CodeUnitCount
        guard count &- index >= length else { return false }
        for offset in 0..<length where bytes[index &+ offset] != word.utf8Start[offset] { return false }
        return true
    }

    /// The index after the closing quote of a string whose content continues at `start`, or
    /// `nil`: control characters, bad escapes (`\uXXXX` needs four hex digits; surrogate
    /// pairing is the decoder's business, as for the scanner) and bytes that are not UTF-8.
    ///
    /// Not inlined: ``valueEnd(_:count:from:stack:)`` finds the end of an ordinary string
    /// itself and calls this only at an escape or a byte that is not printable ASCII.
    @inline(never)
    private static func stringEnd(_ bytes: UnsafePointer<UInt8>, _ count: Int, from start: Int) -> Int? {
        var index = start
        while true {
            index = ByteScan.firstJSONStringSpecial(
                UnsafeRawBufferPointer(start: bytes, count: count), from: index, to: count)
            guard index < count else { return nil }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") { return index &+ 1 }
            if byte == UInt8(ascii: "\\") {
                guard index &+ 1 < count else { return nil }
                switch bytes[index &+ 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index &+= 2
                case UInt8(ascii: "u"):
                    guard index &+ 6 <= count else { return nil }
                    for offset in 2..<6 where Hex.value(of: bytes[index &+ offset]) == nil { return nil }
                    index &+= 6
                default:
                    return nil
                }
            } else if byte < 0x20 {
                return nil
            } else if byte < 0x80 {
                index &+= 1  // DEL, which the loop above also stops at
            } else {
                guard let length = utf8SequenceLength(bytes, count, at: index) else { return nil }
                index &+= length
            }
        }
    }

    /// The length of the UTF-8 sequence led by the byte at `index` (≥ 0x80), or `nil` for
    /// overlong forms, encoded surrogates, values above U+10FFFF and truncated sequences.
    @inline(__always)
    private static func utf8SequenceLength(_ bytes: UnsafePointer<UInt8>, _ count: Int, at index: Int) -> Int? {
        @inline(__always)
        func continuation(_ offset: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) -> Bool {
            guard index &+ offset < count else { return false }
            let byte = bytes[index &+ offset]
            return byte >= low && byte <= high
        }
        switch bytes[index] {
        case 0xC2...0xDF:
            return continuation(1) ? 2 : nil
        case 0xE0:
            return continuation(1, 0xA0) && continuation(2) ? 3 : nil
        case 0xE1...0xEC, 0xEE...0xEF:
            return continuation(1) && continuation(2) ? 3 : nil
        case 0xED:
            return continuation(1, 0x80, 0x9F) && continuation(2) ? 3 : nil
        case 0xF0:
            return continuation(1, 0x90) && continuation(2) && continuation(3) ? 4 : nil
        case 0xF1...0xF3:
            return continuation(1) && continuation(2) && continuation(3) ? 4 : nil
        case 0xF4:
            return continuation(1, 0x80, 0x8F) && continuation(2) && continuation(3) ? 4 : nil
        default:
            return nil
        }
    }

    /// The index after a number starting at `start` (`-` or a digit), or `nil`:
    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    @inline(__always)
    private static func numberEnd(_ bytes: UnsafePointer<UInt8>, _ count: Int, from start: Int) -> Int? {
        var index = start
        @inline(__always)
        func skipDigits() -> Int {
            let first = index
            while index < count, bytes[index] &- 0x30 < 10 { index &+= 1 }
            return index &- first
        }
        if bytes[index] == UInt8(ascii: "-") { index &+= 1 }
        guard index < count else { return nil }
        if bytes[index] == UInt8(ascii: "0") {
            index &+= 1
        } else if skipDigits() == 0 {
            return nil
        }
        if index < count, bytes[index] == UInt8(ascii: ".") {
            index &+= 1
            guard skipDigits() > 0 else { return nil }
        }
        if index < count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            index &+= 1
            if index < count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index &+= 1 }
            guard skipDigits() > 0 else { return nil }
        }
        return index
    }
}
