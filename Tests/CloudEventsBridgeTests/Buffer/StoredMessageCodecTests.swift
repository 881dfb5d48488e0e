import CloudEvents
import CloudEventsBridge
import Testing

@Suite("Stored message codec")
struct StoredMessageCodecTests {
    @Test func everyAttributeTypeRoundTrips() throws {
        let message = Message(
            content: .binary(
                attributes: [
                    BinaryAttribute(name: "flag", value: .boolean(true)), BinaryAttribute(name: "off", value: .boolean(false)),
                    BinaryAttribute(name: "min", value: .integer(.min)), BinaryAttribute(name: "max", value: .integer(.max)),
                    BinaryAttribute(name: "text", value: .string("héllo ✓")),
                    BinaryAttribute(name: "bytes", value: .binary([0, 255, 7])),
                    BinaryAttribute(name: "uri", value: .uri("https://example.com/a?b")),
                    BinaryAttribute(name: "ref", value: .uriReference("/a/b")),
                    BinaryAttribute(
                        name: "time", value: .timestamp(try Timestamp(rfc3339: "2018-04-05T17:31:00.123456789+02:00"))),
                    // Kept verbatim by the parser (lowercase t and z, more than nine digits).
                    BinaryAttribute(name: "odd", value: .timestamp(try Timestamp(rfc3339: "1985-04-12t23:20:50.5200000001z"))),
                    BinaryAttribute(name: "unknown", value: .timestamp(try Timestamp(rfc3339: "2020-01-01T00:00:00-00:00")))
                ], data: [1, 2, 3]),
            metadata: ["topic": "a/b", "qos": "1", "": ""])
        let bytes = StoredMessageCodec.encode(message)
        #expect(bytes.count == StoredMessageCodec.encodedSize(of: message))
        #expect(bytes.first == StoredMessageCodec.version)
        #expect(try StoredMessageCodec.decode(bytes) == message)
    }

    @Test func noDataAndEmptyDataStayDistinct() throws {
        let none = Message(content: .binary(attributes: [], data: nil))
        let empty = Message(content: .binary(attributes: [], data: []))
        #expect(StoredMessageCodec.encode(none) != StoredMessageCodec.encode(empty))
        #expect(try StoredMessageCodec.decode(StoredMessageCodec.encode(none)) == none)
        #expect(try StoredMessageCodec.decode(StoredMessageCodec.encode(empty)) == empty)
    }

    @Test func structuredAndBatchKeepTheirModeMediaTypeAndBody() throws {
        let body = Array(#"{"specversion":"1.0","id":"1","source":"/s","type":"t"}"#.utf8)
        for message in [
            Message(
                content: .structured(StructuredContent(mediaType: "application/cloudevents+json; charset=utf-8", body: body))),
            Message(content: .batch(StructuredContent(mediaType: "application/cloudevents-batch+json", body: [])))
        ] {
            let decoded = try StoredMessageCodec.decode(StoredMessageCodec.encode(message))
            #expect(decoded == message)
            #expect(decoded.contentMode == message.contentMode)
        }
    }

    /// The layout is a storage format: these bytes must keep decoding in later versions.
    @Test func versionOneLayoutIsStable() throws {
        let message = Message(
            content: .binary(attributes: [BinaryAttribute(name: "n", value: .integer(-2))], data: [9]), metadata: ["k": "v"])
        let expected: [UInt8] = [1, 0, 1, 1, 0x6E, 1, 0xFE, 0xFF, 0xFF, 0xFF, 1, 1, 9, 1, 1, 0x6B, 1, 0x76]
        #expect(StoredMessageCodec.encode(message) == expected)
        #expect(try StoredMessageCodec.decode(expected) == message)
    }

    @Test func equalMessagesEncodeToEqualBytes() {
        var first = Message(content: .binary(attributes: [], data: nil))
        var second = first
        for index in 0..<20 { first.metadata["key\(index)"] = "\(index)" }
        for index in (0..<20).reversed() { second.metadata["key\(index)"] = "\(index)" }
        #expect(StoredMessageCodec.encode(first) == StoredMessageCodec.encode(second))
    }

    @Test(arguments: [
        ([2, 0, 0, 0] as [UInt8], "unknown version 2"), ([1, 3, 0], "unknown content tag 3"),
        ([1, 0, 1, 1, 0x61, 9], "unknown attribute type 9"),
        ([1, 1, 2, 0xC3, 0x28, 0, 0], "media type not UTF-8"), ([1, 1, 0, 0, 0, 7], "trailing bytes"),
        ([1, 0, 0, 2], "data flag 2"), ([1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], "overflows"),
        ([1, 1, 0x80, 0x80, 0x80, 0x80, 0x10], "beyond the end"),
        ([1, 0, 1, 1, 0x74, 6, 3, 0x61, 0x62, 0x63, 0, 0], "timestamp \"abc\"")
    ])
    func corruptBytesSayWhatIsWrong(bytes: [UInt8], expected: String) {
        let error = #expect(throws: BufferError.self) { try StoredMessageCodec.decode(bytes) }
        #expect(error?.message.contains(expected) == true, "\(String(describing: error))")
    }

    /// Generated messages of every shape encode to `encodedSize` bytes and decode equal.
    @Test func generatedMessagesRoundTrip() throws {
        var generator = SeededGenerator(seed: 0x5EED_0001)
        for round in 0..<500 {
            let message = try Self.randomMessage(&generator)
            let bytes = StoredMessageCodec.encode(message)
            #expect(bytes.count == StoredMessageCodec.encodedSize(of: message), "round \(round)")
            #expect(try StoredMessageCodec.decode(bytes) == message, "round \(round)")
        }
    }

    /// Every truncation of a valid encoding is an error (no field is optional at the end),
    /// and flipped bits or random bytes never trap: they are an error or a message that
    /// encodes back to itself.
    @Test func corruptedEncodingsThrowNeverTrap() throws {
        var generator = SeededGenerator(seed: 0x5EED_0002)
        var rejected = 0
        for round in 0..<200 {
            let bytes = StoredMessageCodec.encode(try Self.randomMessage(&generator))
            // Every prefix of the first rounds' encodings (quadratic in the length: bounded).
            for length in 0..<(round < 50 ? bytes.count : 0) {
                #expect(throws: BufferError.self, "round \(round), \(length) bytes") {
                    try bytes.withUnsafeBytes { try StoredMessageCodec.decode(UnsafeRawBufferPointer(rebasing: $0[..<length])) }
                }
            }
            var flipped = bytes
            let position = Int.random(in: 0..<flipped.count, using: &generator)
            flipped[position] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &generator)
            rejected += try Self.decodesConsistently(flipped) ? 0 : 1
        }
        for _ in 0..<2000 {
            let count = Int.random(in: 0..<64, using: &generator)
            var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            // Mostly version 1, so that the fuzz gets past the first byte.
            if !bytes.isEmpty, Bool.random(using: &generator) { bytes[0] = 1 }
            rejected += try Self.decodesConsistently(bytes) ? 0 : 1
        }
        #expect(rejected > 1000, "the fuzz should mostly hit errors; \(rejected) did")
    }

    /// Whether `bytes` decoded; a decoded message must survive its own round trip.
    private static func decodesConsistently(_ bytes: [UInt8]) throws -> Bool {
        let message: Message
        do {
            message = try StoredMessageCodec.decode(bytes)
        } catch {
            return false
        }
        #expect(try StoredMessageCodec.decode(StoredMessageCodec.encode(message)) == message)
        return true
    }

    static func randomMessage(_ generator: inout SeededGenerator) throws -> Message {
        var metadata: [String: String] = [:]
        for _ in 0..<Int.random(in: 0...4, using: &generator) {
            metadata[randomString(&generator)] = randomString(&generator)
        }
        switch Int.random(in: 0..<4, using: &generator) {
        case 0:
            return Message(
                content: .structured(StructuredContent(mediaType: randomString(&generator), body: randomBytes(&generator))),
                metadata: metadata)
        case 1:
            return Message(
                content: .batch(StructuredContent(mediaType: randomString(&generator), body: randomBytes(&generator))),
                metadata: metadata)
        default:
            var attributes: [BinaryAttribute] = []
            for _ in 0..<Int.random(in: 0...12, using: &generator) {
                attributes.append(BinaryAttribute(name: randomString(&generator), value: try randomValue(&generator)))
            }
            let data = Bool.random(using: &generator) ? randomBytes(&generator) : nil
            return Message(content: .binary(attributes: attributes, data: data), metadata: metadata)
        }
    }

    static func randomValue(_ generator: inout SeededGenerator) throws -> AttributeValue {
        switch Int.random(in: 0..<7, using: &generator) {
        case 0: return .boolean(Bool.random(using: &generator))
        case 1: return .integer(Int32.random(in: .min ... .max, using: &generator))
        case 2: return .string(randomString(&generator))
        case 3: return .binary(randomBytes(&generator))
        case 4: return .uri("https://h/" + randomString(&generator))
        case 5: return .uriReference(randomString(&generator))
        default:
            let offsets = [0, 0, 60, -330, 1439, -1439]
            return .timestamp(
                try Timestamp(
                    secondsSinceEpoch: Int64.random(in: -62_135_510_400...253_402_214_400, using: &generator),
                    nanosecond: Bool.random(using: &generator) ? 0 : Int.random(in: 0..<1_000_000_000, using: &generator),
                    utcOffsetMinutes: offsets[Int.random(in: 0..<offsets.count, using: &generator)]))
        }
    }

    /// Up to 300 characters mixing ASCII, two-, three- and four-byte UTF-8, so that the
    /// lengths cross the one-byte varint boundary.
    static func randomString(_ generator: inout SeededGenerator) -> String {
        let alphabet: [Character] = ["a", "Z", "0", "/", " ", "é", "✓", "😀", "\u{0}"]
        let count = Int.random(in: 0...(Bool.random(using: &generator) ? 8 : 300), using: &generator)
        return String((0..<count).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }

    static func randomBytes(_ generator: inout SeededGenerator) -> [UInt8] {
        let count = Int.random(in: 0...(Bool.random(using: &generator) ? 8 : 600), using: &generator)
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}
