import CloudEvents
import CloudEventsConformance
import CloudEventsProtobuf
import Testing

/// The format's encoder (written in Swift) against protobuf-c's packer, the oracle: the same
/// bytes for every event, or the same error.
@Suite("Protobuf format: the Swift encoder writes protobuf-c's bytes")
struct ProtobufEncoderOracleTests {
    /// The encoder's output, or the error it threw.
    enum Outcome: Equatable, CustomStringConvertible {
        case bytes([UInt8])
        case error(EventFormatError)

        var description: String {
            switch self {
            case .bytes(let bytes): "\(bytes.count) bytes: \(bytes.prefix(64).map { String($0, radix: 16) })"
            case .error(let error): "error: \(error)"
            }
        }
    }

    static func swift(_ event: CloudEvent, _ field: ProtobufEventFormat.JSONDataField, prefix: [UInt8] = []) -> Outcome {
        var output = prefix
        do { try ProtobufEventFormat(jsonDataField: field).encode(event, into: &output) } catch { return .error(error) }
        return .bytes(output)
    }

    static func protobufC(_ event: CloudEvent, _ field: ProtobufEventFormat.JSONDataField, prefix: [UInt8] = [])
        -> Outcome
    {
        var output = prefix
        do { try ProtobufCEncoder(jsonDataField: field).append(event, to: &output) } catch { return .error(error) }
        return .bytes(output)
    }

    static func swiftBatch(_ events: [CloudEvent], _ field: ProtobufEventFormat.JSONDataField) -> Outcome {
        var output: [UInt8] = []
        do { try ProtobufEventFormat(jsonDataField: field).encodeBatch(events, into: &output) } catch {
            return .error(error)
        }
        return .bytes(output)
    }

    static func protobufCBatch(_ events: [CloudEvent], _ field: ProtobufEventFormat.JSONDataField) -> Outcome {
        var output: [UInt8] = []
        do { try ProtobufCEncoder(jsonDataField: field).appendBatch(events, to: &output) } catch {
            return .error(error)
        }
        return .bytes(output)
    }

    // MARK: The conformance corpus

    @Test(arguments: [ProtobufEventFormat.JSONDataField.text, .binary])
    func everyCorpusEvent(field: ProtobufEventFormat.JSONDataField) {
        #expect(Corpus.events.count > 20)  // the corpus loaded
        var encoded = 0
        for testCase in Corpus.events {
            let expected = Self.protobufC(testCase.event, field)
            #expect(Self.swift(testCase.event, field) == expected, "\(testCase.name)")
            if case .bytes = expected { encoded += 1 }
            // Appended after other bytes: the other output path.
            #expect(Self.swift(testCase.event, field, prefix: [7, 7]) == Self.protobufC(testCase.event, field, prefix: [7, 7]))
        }
        // Nearly every valid event has a Protobuf form (only out-of-range timestamps do not).
        #expect(encoded > Corpus.events.count - 5)
    }

    @Test(arguments: [ProtobufEventFormat.JSONDataField.text, .binary])
    func corpusBatches(field: ProtobufEventFormat.JSONDataField) {
        for version in [SpecVersion.v1_0, .v0_3] {
            let events = Corpus.events.map(\.event).filter {
                guard $0.specVersion == version, case .bytes = Self.protobufC($0, field) else { return false }
                return true
            }
            #expect(events.count > 2)
            let expected = Self.protobufCBatch(events, field)
            guard case .bytes(let bytes) = expected else {
                Issue.record("protobuf-c could not pack the batch: \(expected)")
                continue
            }
            #expect(bytes.count > 100 * events.count)  // the events are in it
            #expect(Self.swiftBatch(events, field) == expected)
        }
        #expect(Self.swiftBatch([], field) == .bytes([]))
        // The same error, with the same index, for a batch with an event that cannot be encoded.
        let bad = CloudEvent(
            id: "1", source: "/s", type: "t", time: try? Timestamp(year: 0, month: 1, day: 1))
        let good = CloudEvent(id: "2", source: "/s", type: "t")
        let expected = Self.protobufCBatch([good, bad], field)
        #expect({ if case .error(let error) = expected { error.batchIndex == 1 } else { false } }())
        #expect(Self.swiftBatch([good, bad], field) == expected)
    }

    // MARK: Hand-picked edges

    @Test func edges() throws {
        let epoch = try Timestamp(secondsSinceEpoch: 0)
        let events: [CloudEvent] = [
            // Every zero: an empty Timestamp message, false, 0, empty bytes and strings.
            CloudEvent(
                id: "x", source: "/", type: "t", time: epoch,
                extensions: [
                    "b": false, "i": 0, "bin": .binary([]), "s": "", "u": .uri("a:"), "r": .uriReference(""),
                    "ts": .timestamp(epoch)
                ],
                data: .binary([])),
            CloudEvent(id: "x", source: "/", type: "t", data: .text("")),
            CloudEvent(
                id: "x", source: "/", type: "t", dataContentType: "text/plain", data: .json(try RawJSON(validating: "null"))),
            // Extremes of int32 and of Timestamp; nanos only.
            CloudEvent(
                id: "x", source: "/", type: "t",
                time: try Timestamp(secondsSinceEpoch: -62_135_596_800),
                extensions: [
                    "min": .integer(.min), "max": .integer(.max), "neg": -1, "one": 1, "big": 128,
                    "last": .timestamp(try Timestamp(secondsSinceEpoch: 253_402_300_799, nanosecond: 999_999_999)),
                    "nanos": .timestamp(try Timestamp(secondsSinceEpoch: 0, nanosecond: 1)),
                    "neg2": .timestamp(try Timestamp(secondsSinceEpoch: -1, nanosecond: 5))
                ]),
            // Lengths that need two and three varint bytes.
            CloudEvent(
                id: String(repeating: "i", count: 127), source: "/" + String(repeating: "s", count: 127),
                type: String(repeating: "é", count: 100), subject: String(repeating: "ü", count: 9000),
                extensions: ["bin": .binary(Array(repeating: 0, count: 20000))],
                data: .binary(Array(repeating: 0xFF, count: 70000))),
            // 0.3: schemaurl, and both data fields' choices.
            CloudEvent(
                id: "x", source: "/", type: "t", specVersion: .v0_3, dataSchema: "rel/schema",
                data: .json(try RawJSON(validating: #"{"a":[1,2,"ü"]}"#))),
            CloudEvent(id: "x", source: "/", type: "t", dataSchema: "https://example.com/s", subject: "s"),
            // Time with an offset: written as the same instant in UTC.
            CloudEvent(id: "x", source: "/", type: "t", time: try Timestamp(rfc3339: "2018-04-05T17:31:00.5+02:00")),
            // Errors: text with U+0000, an out-of-range time, a bad character, an invalid event.
            CloudEvent(id: "x", source: "/", type: "t", data: .text("a\u{0}b")),
            CloudEvent(id: "x", source: "/", type: "t", time: try Timestamp(year: 0, month: 12, day: 31, hour: 12)),
            CloudEvent(
                id: "x", source: "/", type: "t",
                extensions: ["late": .timestamp(try Timestamp(year: 0, month: 1, day: 1))]),
            CloudEvent(id: "a\u{7F}", source: "/", type: "t"),
            CloudEvent(id: "ok", source: "/", type: "t", subject: "\u{FFFE}"),
            CloudEvent(id: "", source: "", type: "", extensions: ["Bad-Name": 1]),
            CloudEvent(id: "x", source: "/", type: "t", subject: "\u{1}", time: try Timestamp(year: 0, month: 1, day: 1))
        ]
        for (index, event) in events.enumerated() {
            for field in [ProtobufEventFormat.JSONDataField.text, .binary] {
                #expect(Self.swift(event, field) == Self.protobufC(event, field), "event \(index), \(field)")
            }
        }
        // The errors are errors (not both succeeding vacuously).
        for event in events.suffix(7) { #expect({ if case .error = Self.swift(event, .text) { true } else { false } }()) }
    }

    // MARK: Fuzz

    /// Generated events (seeded, so a failure reproduces): random attribute sets of every
    /// type, every data kind, unicode, empty strings, extreme timestamps; some invalid, whose
    /// errors must match too.
    @Test(arguments: [UInt64(1), 2, 3, 4])
    func generatedEvents(seed: UInt64) {
        var generator = EventGenerator(seed: seed)
        var encoded = 0
        var failed = 0
        let count = 1500
        for iteration in 0..<count {
            let event = generator.event()
            let field: ProtobufEventFormat.JSONDataField = generator.random.next() & 1 == 0 ? .text : .binary
            let expected = Self.protobufC(event, field)
            let actual = Self.swift(event, field)
            if actual != expected {
                failed += 1
                if failed <= 3 {
                    Issue.record(
                        "seed \(seed) event \(iteration) (\(field)): \(event)\n  swift: \(actual)\n  protobuf-c: \(expected)")
                }
            }
            if case .bytes = expected { encoded += 1 }
        }
        #expect(failed == 0)
        // Most events are valid: the fuzz compares bytes, not only errors.
        #expect(encoded > count / 2)
        // Batches of the generated events, grouped by version.
        var batch: [CloudEvent] = []
        while batch.count < 40 {
            let event = generator.event()
            if event.specVersion == .v1_0, case .bytes = Self.protobufC(event, .text) { batch.append(event) }
        }
        #expect(Self.swiftBatch(batch, .text) == Self.protobufCBatch(batch, .text))
        #expect(Self.swiftBatch(batch, .binary) == Self.protobufCBatch(batch, .binary))
    }
}

/// SplitMix64: small, fast, and the same sequence on every platform.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
}

/// Random events for the fuzz.
struct EventGenerator {
    var random: SplitMix64

    init(seed: UInt64) { random = SplitMix64(state: seed) }

    static let epoch = try! Timestamp(secondsSinceEpoch: 0)

    /// Pieces strings are made of: ASCII, two-, three- and four-byte UTF-8, characters the
    /// String type excludes (a few, so some events are invalid).
    static let pieces: [String] = [
        "a", "Z", "0", "-", "/", " ", "~", "é", "ü", "ß", "€", "✓", "日本", "😀", "👩‍👩‍👧", "\u{7F}", "\u{1}", "\u{FFFF}",
        String(repeating: "x", count: 130)
    ]

    mutating func text(maximumPieces: Int, allowExcluded: Bool = true) -> String {
        var result = ""
        for _ in 0..<random.below(maximumPieces + 1) {
            var piece = Self.pieces[random.below(Self.pieces.count)]
            if !allowExcluded || !random.chance(3) {
                while piece.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || $0.value == 0xFFFF }) {
                    piece = Self.pieces[random.below(Self.pieces.count)]
                }
            }
            result += piece
        }
        return result
    }

    mutating func nonEmpty(_ maximumPieces: Int) -> String {
        let value = text(maximumPieces: maximumPieces)
        return value.isEmpty ? "v" : value
    }

    mutating func name() -> String {
        let letters = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        var name = ""
        for _ in 0..<(1 + random.below(random.chance(5) ? 40 : 10)) { name.append(letters[random.below(letters.count)]) }
        if random.chance(1) { name += "X" }  // invalid
        return name
    }

    mutating func bytes() -> [UInt8] {
        let count = [0, 1, 5, 127, 128, 300, 16_384][random.below(7)]
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    mutating func timestamp() -> Timestamp {
        let seconds: Int64
        switch random.below(8) {
        case 0: seconds = 0
        case 1: seconds = -62_135_596_800  // 0001-01-01
        case 2: seconds = 253_402_300_799  // 9999-12-31T23:59:59
        case 3: seconds = -Int64(random.below(100_000))
        case 4: seconds = -62_135_596_800 - 86_400 * Int64(1 + random.below(300))  // year 0: out of range
        default: seconds = Int64(random.below(4_000_000_000))
        }
        let nanos = [0, 1, 999_999_999, random.below(1_000_000_000)][random.below(4)]
        let offset = random.chance(20) ? random.below(1439 * 2) - 1439 : 0
        if let time = try? Timestamp(secondsSinceEpoch: seconds, nanosecond: nanos, utcOffsetMinutes: offset) {
            return time
        }
        // Not reached: every value above is in Timestamp's range.
        return (try? Timestamp(year: 0, month: 6, day: 1)) ?? Self.epoch
    }

    mutating func value() -> AttributeValue {
        switch random.below(7) {
        case 0: return .boolean(random.chance(50))
        case 1:
            return .integer(
                [0, 1, -1, .min, .max, 127, 128, -128, Int32(truncatingIfNeeded: random.next())][random.below(9)])
        case 2: return .string(text(maximumPieces: 6))
        case 3: return .binary(bytes())
        case 4: return .uri(["https://example.com/" + name(), "urn:x:" + name(), "mailto:a@b.c"][random.below(3)])
        case 5: return .uriReference(["", "/rel", "../" + name(), "https://e.com/ü?q=1#f"][random.below(4)])
        default: return .timestamp(timestamp())
        }
    }

    mutating func event() -> CloudEvent {
        let version: SpecVersion = random.chance(80) ? .v1_0 : .v0_3
        var event = CloudEvent(
            id: random.chance(2) ? "" : nonEmpty(4),
            source: ["/", "https://example.com/src", "urn:uuid:123", "rel/path", "https://ü.example/☃"][random.below(5)],
            type: nonEmpty(5), specVersion: version)
        if random.chance(50) {
            event.dataContentType =
                ["application/json", "text/plain", "application/cloudevents+json", "image/png"][
                    random.below(4)]
        }
        if random.chance(30) {
            event.dataSchema = version == .v1_0 ? "https://example.com/schema/" + name() : "schema/" + name()
        }
        if random.chance(40) { event.subject = random.chance(5) ? "" : nonEmpty(6) }
        if random.chance(60) { event.time = timestamp() }
        var extensions = ExtensionAttributes()
        for _ in 0..<random.below(random.chance(10) ? 20 : 5) { extensions[name()] = value() }
        event.extensions = extensions
        switch random.below(6) {
        case 0: event.data = nil
        case 1: event.data = .binary(bytes())
        case 2: event.data = .text(random.chance(5) ? "nul\u{0}inside" : text(maximumPieces: 30, allowExcluded: false))
        case 3: event.data = (try? RawJSON(validating: #"{"k":"\#(name())","n":[1,2.5,null,true],"s":"ü"}"#)).map(EventData.json)
        case 4: event.data = (try? RawJSON(validating: "\"\(name())\"")).map(EventData.json)
        default: event.data = .text("")
        }
        return event
    }
}
