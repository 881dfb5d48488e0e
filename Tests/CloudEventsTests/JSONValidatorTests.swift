import Testing

@testable import CloudEvents

/// ``JSONValidator`` (the yes/no validator behind ``RawJSON/init(validating:)``) against
/// ``JSONScanner``, which defines what valid JSON is here: the same verdict and the same
/// value range for every input, valid or not.
@Suite("JSON validator fast path")
struct JSONValidatorTests {
    /// The scanner's verdict, as `RawJSON(validating:)` computed it before the fast path.
    static func scannerRange(_ bytes: [UInt8]) -> Range<Int>? {
        bytes.withUnsafeBytes { buffer -> Range<Int>? in
            var scanner = JSONScanner(buffer)
            scanner.skipWhitespace()
            let start = scanner.index
            do { try scanner.skipValue() } catch { return nil }
            let end = scanner.index
            scanner.skipWhitespace()
            return scanner.isAtEnd ? start..<end : nil
        }
    }

    static func validatorRange(_ bytes: [UInt8]) -> Range<Int>? {
        bytes.withUnsafeBytes(JSONValidator.valueRange)
    }

    static let seeds: [String] = [
        #"{"deviceId":"thermostat-42","reading":{"celsius":21.5,"humidity":48,"battery":0.87},"location":{"building":"north","floor":3,"room":"3.14"},"tags":["hvac","eu-west","calibrated"],"seq":1234567}"#,
        #" { "a" : [ 1 , -2.5e+3 , 0.0E-0 , true , false , null , "x\"\\\/\b\f\n\r\t\u00e9\uD83D\uDE00" ] } "#,
        "[]", "{}", "[[],{},[{}]]", "0", "-0", "1e5", "\"\"", "\"€ 😀 \u{7F}\"", "null", "true", "false",
        "\t\r\n 42 \n", #"{"":{"":[""]}}"#, #"["a very long string that crosses several eight-byte words of input"]"#,
        #"{"k":"v","k2":{"n":[1,2,3,{"deep":[null]}]}}"#
    ]

    /// Inputs the grammar must reject (and a few near misses it must accept).
    static let edgeCases: [String] = [
        "", " ", "{", "}", "[", "]", "[1,]", "[,1]", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{1:2}", "{\"a\" 1}",
        "01", "-", "-a", "1.", ".5", "1e", "1e+", "+1", "1.5e3.2", "tru", "nul", "falsey", "truex", "nulll",
        "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"", "\"\\", "\"a\u{1}b\"", "\"\u{7F}\"", "[1] [2]", "1 2",
        "\"\\uD800\"", "\"\\uDC00\\uD800\"", "[\"a\"\"b\"]", "{\"a\":1\"b\":2}", "[1}", "{\"a\":1]", "[[[]]", "[]]",
        "NaN", "Infinity", "-Infinity", "0x10", "1_000", "\u{FEFF}1", "//c\n1", "'a'"
    ]

    static let invalidUTF8: [[UInt8]] = [
        [0x22, 0xC0, 0xA0, 0x22], [0x22, 0xC1, 0xBF, 0x22], [0x22, 0xE0, 0x80, 0x80, 0x22],
        [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xF0, 0x80, 0x80, 0x80, 0x22], [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],
        [0x22, 0xF5, 0x80, 0x80, 0x80, 0x22], [0x22, 0xC3, 0x22], [0x22, 0xE2, 0x82, 0x22], [0x22, 0x80, 0x22],
        [0x22, 0xFF, 0x22], [0x22, 0xE2, 0x82, 0xAC, 0x22], [0x22, 0xF0, 0x9F, 0x98, 0x80, 0x22], [0x22, 0xC3],
        [0xC3, 0xA9], [0x5B, 0x80, 0x5D]
    ]

    @Test(arguments: seeds + edgeCases)
    func sameVerdictAsTheScanner(text: String) {
        let bytes = Array(text.utf8)
        #expect(Self.validatorRange(bytes) == Self.scannerRange(bytes), "\(text)")
    }

    @Test func sameVerdictOnBytesThatAreNotUTF8() {
        for bytes in Self.invalidUTF8 {
            #expect(Self.validatorRange(bytes) == Self.scannerRange(bytes), "\(bytes)")
        }
    }

    /// Where the scanner ends the value that starts at the first significant byte (what
    /// follows it not looked at), as the JSON event decoder steps over `data`.
    static func scannerEnd(_ bytes: [UInt8]) -> Int? {
        bytes.withUnsafeBytes { buffer -> Int? in
            var scanner = JSONScanner(buffer)
            scanner.skipWhitespace()
            do { try scanner.skipValue() } catch { return nil }
            return scanner.index
        }
    }

    static func validatorEnd(_ bytes: [UInt8]) -> Int? {
        bytes.withUnsafeBytes { buffer -> Int? in
            var scanner = JSONScanner(buffer)
            scanner.skipWhitespace()
            return JSONValidator.valueEnd(buffer, from: scanner.index)
        }
    }

    /// `valueEnd(_:from:)` ends a value where the scanner does, whatever follows it: the
    /// members, elements and closing brackets that follow `data` in an event included.
    @Test(arguments: seeds + edgeCases)
    func valueEndIsTheScannersWhateverFollows(text: String) {
        for suffix in ["", ",", "}", "]", " x", "\"", ",\"k\":1}"] {
            let bytes = Array((text + suffix).utf8)
            #expect(Self.validatorEnd(bytes) == Self.scannerEnd(bytes), "\(text + suffix)")
        }
    }

    /// Every byte value at every position of every seed (replacing and inserting), so that
    /// each special byte is seen at each offset within and across the 8-byte words.
    @Test func everyByteAtEveryPosition() {
        for seed in Self.seeds {
            let original = Array(seed.utf8)
            for position in 0...original.count {
                for byte in UInt8.min...UInt8.max {
                    var inserted = original
                    inserted.insert(byte, at: position)
                    guard Self.validatorRange(inserted) == Self.scannerRange(inserted) else {
                        Issue.record("insert \(byte) at \(position) in \(seed)")
                        return
                    }
                    if position < original.count {
                        var replaced = original
                        replaced[position] = byte
                        guard Self.validatorRange(replaced) == Self.scannerRange(replaced) else {
                            Issue.record("replace at \(position) with \(byte) in \(seed)")
                            return
                        }
                    }
                }
            }
        }
    }

    /// Random edits (deterministic) of the seeds: several changes at once, and truncations.
    @Test func randomEdits() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        let alphabet = Array(#"{}[]:,"\ \#t0123456789-+.eEtrufalsn/bu"#.utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xC3, 0xE2, 0xF0, 0xFF]
        for _ in 0..<30_000 {
            var bytes = Array(Self.seeds[next(Self.seeds.count)].utf8)
            for _ in 0..<(1 + next(3)) {
                let byte = alphabet[next(alphabet.count)]
                switch next(4) {
                case 0 where !bytes.isEmpty: bytes[next(bytes.count)] = byte
                case 1: bytes.insert(byte, at: next(bytes.count + 1))
                case 2 where !bytes.isEmpty: bytes.remove(at: next(bytes.count))
                default: bytes.removeLast(next(min(bytes.count, 4) + 1))
                }
            }
            guard Self.validatorRange(bytes) == Self.scannerRange(bytes) else {
                Issue.record("verdicts differ for \(bytes)")
                return
            }
            guard Self.validatorEnd(bytes) == Self.scannerEnd(bytes) else {
                Issue.record("value ends differ for \(bytes)")
                return
            }
        }
    }

    /// The nesting limit: as deep as the scanner allows, and one deeper.
    @Test(arguments: [JSONScanner.maximumDepth - 1, JSONScanner.maximumDepth, JSONScanner.maximumDepth + 1])
    func nestingLimit(depth: Int) {
        for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
            let bytes = Array((String(repeating: open, count: depth) + "1" + String(repeating: close, count: depth)).utf8)
            #expect(Self.validatorRange(bytes) == Self.scannerRange(bytes))
            #expect((Self.validatorRange(bytes) != nil) == (depth <= JSONScanner.maximumDepth))
        }
    }

    /// Invalid text is still refused with the scanner's error, offset included.
    @Test func invalidTextKeepsTheScannersError() {
        #expect(throws: JSONSyntaxError.self) { try RawJSON(validating: Array(#"{"a":1,}"#.utf8)) }
        let error = #expect(throws: JSONSyntaxError.self) { try RawJSON(validating: Array("[1] x".utf8)) }
        #expect(error == JSONSyntaxError(.trailingCharacters, at: 4))
    }
}
