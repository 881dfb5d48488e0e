/// Finds where one element of a JSON array ends without decoding it: the first `,` or
/// closing bracket outside strings and at the element's own nesting level. Aware of strings
/// and their escapes, so `"a,]"` and `"\""` inside the element do not end it.
///
/// The scan can stop at the end of the bytes read so far and go on where it stopped once
/// more are read (its state is the nesting depth and whether it is inside a string), so an
/// element split across read blocks is scanned once. It does not check the grammar: the JSON
/// decoder then reads the element's bytes and reports any error precisely.
struct ConvertJSONElementScanner {
    /// Open brackets not closed yet.
    private var depth = 0
    private var inString = false
    /// The previous scan stopped right after a backslash inside a string.
    private var escapePending = false

    /// Scans `bytes[from..<to]`. Returns the index of the `,`, `]` or `}` that ends the
    /// element (at depth 0), or `nil` when the element goes on past `to`.
    mutating func scan(_ bytes: UnsafeRawBufferPointer, from: Int, to end: Int) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        let pointer = base.assumingMemoryBound(to: UInt8.self)
        var index = from
        if escapePending && index < end {
            escapePending = false
            index += 1
        }
        while index < end {
            if inString {
                index = Self.firstQuoteOrBackslash(pointer, from: index, to: end)
                if index == end { return nil }
                if pointer[index] == UInt8(ascii: "\\") {
                    // The escaped byte may be a quote: skip it unread.
                    if index + 1 == end {
                        escapePending = true
                        return nil
                    }
                    index += 2
                } else {
                    inString = false
                    index += 1
                }
                continue
            }
            switch pointer[index] {
            case UInt8(ascii: "\""):
                inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if depth == 0 { return index }
                depth -= 1
            case UInt8(ascii: ","):
                if depth == 0 { return index }
            default:
                break
            }
            index += 1
        }
        return nil
    }

    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// The index of the first `"` or `\` in `pointer[from..<to]`, or `to`; eight bytes at a
    /// time (most of an event's bytes are inside strings).
    @inline(__always)
    private static func firstQuoteOrBackslash(_ pointer: UnsafePointer<UInt8>, from: Int, to end: Int) -> Int {
        var index = from
        let raw = UnsafeRawPointer(pointer)
        while index + 8 <= end {
            let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            let quote = word ^ (ones &* 0x22)
            let backslash = word ^ (ones &* 0x5C)
            // A zero byte in `quote` or `backslash` marks a match; the lowest mark is exact.
            let marks = ((quote &- ones) & ~quote | (backslash &- ones) & ~backslash) & highBits
            if marks != 0 { return index + marks.trailingZeroBitCount / 8 }
            index += 8
        }
        while index < end {
            let byte = pointer[index]
            if byte == 0x22 || byte == 0x5C { return index }
            index += 1
        }
        return end
    }
}
