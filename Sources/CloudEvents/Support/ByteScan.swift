/// Word-at-a-time scans for the codecs' hot loops: eight bytes are tested at once for the
/// bytes that need attention, and only a word that has one is looked at byte by byte.
enum ByteScan {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// The high bit of each byte of `word` that is below `limit` (limit ≤ 128), give or
    /// take false positives above a true one (so only "none" vs "some" is meaningful).
    @inline(__always)
    private static func marks(below limit: UInt64, _ word: UInt64) -> UInt64 {
        (word &- ones &* limit) & ~word & highBits
    }

    /// The high bit of bytes equal to `byte` (same caveat).
    @inline(__always)
    private static func marks(equalTo byte: UInt64, _ word: UInt64) -> UInt64 {
        let x = word ^ (ones &* byte)
        return (x &- ones) & ~x & highBits
    }

    /// The high bit of bytes that are 0x7F or above (same caveat).
    @inline(__always)
    private static func marksAbove7E(_ word: UInt64) -> UInt64 {
        (word | (word &+ ones)) & highBits
    }

    /// The index of the first byte from `start` that `isFlagged` selects; `end` if there is
    /// none. `flags` gives, for a little-endian word, the high bit of each byte `isFlagged`
    /// selects (give or take false marks above a true one, which the marks above make).
    ///
    /// The position comes from the word's lowest mark (exact: a false mark only ever sits
    /// above a true one), and the bytes after the last whole word are read as one word
    /// that ends at `end`: it overlaps bytes already found clean, which make no mark. So a
    /// range of eight bytes or more is never looked at byte by byte, and a short string
    /// inside a larger buffer costs one load.
    @inline(__always)
    private static func firstFlagged(
        _ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int, _ flags: (UInt64) -> UInt64,
        _ isFlagged: (UInt8) -> Bool
    ) -> Int {
        @inline(__always)
        func marks(at offset: Int) -> UInt64 {
            flags(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
        }
        var index = start
        while index &+ 8 <= end {
            let found = marks(at: index)
            if found != 0 { return index &+ found.trailingZeroBitCount &>> 3 }
            index &+= 8
        }
        if index < end, end &- start >= 8 {
            let last = end &- 8
            let found = marks(at: last)
            return found != 0 ? last &+ found.trailingZeroBitCount &>> 3 : end
        }
        while index < end {
            if isFlagged(bytes[index]) { return index }
            index &+= 1
        }
        return end
    }

    /// The index of the first byte from `start` that is not printable ASCII (below 0x20
    /// or 0x7F and above); `end` if there is none.
    @inline(__always)
    static func firstNonPrintableASCII(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int {
        firstFlagged(bytes, from: start, to: end, { marks(below: 0x20, $0) | marksAbove7E($0) }, { $0 < 0x20 || $0 >= 0x7F })
    }

    /// The index of the first byte from `start` that a header value cannot carry as it is:
    /// space and below, `"`, `%`, or 0x7F and above (the percent-encoding set of the HTTP
    /// binding); `end` if there is none.
    @inline(__always)
    static func firstHeaderEncodingSpecial(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int {
        firstFlagged(
            bytes, from: start, to: end,
            { marks(below: 0x21, $0) | marksAbove7E($0) | marks(equalTo: 0x22, $0) | marks(equalTo: 0x25, $0) },
            { $0 <= 0x20 || $0 >= 0x7F || $0 == 0x22 || $0 == 0x25 })
    }

    /// The index of the first byte from `start` that is `%` or not printable ASCII (below
    /// 0x20 or 0x7F and above); `end` if there is none.
    @inline(__always)
    static func firstPercentOrNonPrintableASCII(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int {
        firstFlagged(
            bytes, from: start, to: end, { marks(below: 0x20, $0) | marksAbove7E($0) | marks(equalTo: 0x25, $0) },
            { $0 < 0x20 || $0 >= 0x7F || $0 == 0x25 })
    }

    /// The index of the first byte from `start` that a JSON string scan must look at:
    /// `"`, `\`, a control character, or 0x7F and above; `end` if there is none.
    @inline(__always)
    static func firstJSONStringSpecial(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int {
        firstFlagged(
            bytes, from: start, to: end,
            // One test for all four conditions: no branch per condition.
            { marks(below: 0x20, $0) | marksAbove7E($0) | marks(equalTo: 0x22, $0) | marks(equalTo: 0x5C, $0) },
            { $0 < 0x20 || $0 >= 0x7F || $0 == 0x22 || $0 == 0x5C })
    }

    /// The index of the first byte that JSON output must escape (`"`, `\`, below 0x20);
    /// `end` if there is none.
    @inline(__always)
    static func firstJSONEscape(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int {
        firstFlagged(
            bytes, from: start, to: end, { marks(below: 0x20, $0) | marks(equalTo: 0x22, $0) | marks(equalTo: 0x5C, $0) },
            { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C })
    }

    /// RFC 3986 characters (unreserved, gen-delims, sub-delims) by byte value, `1` for
    /// allowed (none from 0x80 on). A `StaticString` is a pointer into the binary: a lookup
    /// costs no bounds check and no lazy initialisation.
    private static let uriCharacters: StaticString =
        "0000000000000000000000000000000001011011111111111111111111110101111111111111111111111111111101010111111111111111111111111110001000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"

    /// Whether `byte` is an RFC 3986 character (unreserved, gen-delims, sub-delims).
    @inline(__always)
    static func isURICharacter(_ byte: UInt8) -> Bool {
        uriCharacters.utf8Start[Int(byte)] == UInt8(ascii: "1")
    }

    /// Whether the eight bytes at `offset` are all RFC 3986 characters (`%` is not one):
    /// eight lookups and-ed together (`1` is 0x31, `0` 0x30), with one test at the end
    /// rather than a branch per byte.
    @inline(__always)
    static func areURICharacters(_ bytes: UnsafeRawBufferPointer, eightAt offset: Int) -> Bool {
        let table = uriCharacters.utf8Start
        let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        var all = UInt8(ascii: "1")
        for lane in 0..<8 { all &= table[Int(truncatingIfNeeded: word &>> UInt64(lane &* 8)) & 0xFF] }
        return all == UInt8(ascii: "1")
    }

    /// RFC 7230 `tchar`, as a 128-bit set.
    @inline(__always)
    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        byte < 64
            ? (0x03FF_6CFA_0000_0000 as UInt64) >> byte & 1 == 1
            : byte < 128 && (0x57FF_FFFF_C7FF_FFFE as UInt64) >> (byte - 64) & 1 == 1
    }
}

/// Character checks that bindings in this package share with the core.
package enum TextScan {
    /// Whether `text` is printable ASCII (U+0020–U+007E), which the String type's character
    /// rules always accept: a binding that saw this needs no character validation.
    package static func isPrintableASCII(_ text: String) -> Bool {
        UTF8Access.with(text) { utf8 in
            let bytes = UnsafeRawBufferPointer(utf8)
            return ByteScan.firstNonPrintableASCII(bytes, from: 0, to: bytes.count) == bytes.count
        }
    }
}

/// Access to a String's UTF-8 without copying the String first (`var copy = text;
/// copy.withUTF8` costs a retain and a release per call, which showed in profiles).
enum UTF8Access {
    @inline(__always)
    static func with<Result>(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        if let result = text.utf8.withContiguousStorageIfAvailable(body) { return result }
        var copy = text  // a bridged or lazily-stored string: make it native, then read it
        return copy.withUTF8(body)
    }
}
