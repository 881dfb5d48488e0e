import CloudEvents
import CloudEventsConformance
import CloudEventsProtobuf
import Testing

private let format = ProtobufEventFormat()

/// Decodes `bytes` expecting a failure, and returns the error.
private func decodeError(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> EventFormatError? {
    do {
        let event = try format.decode(bytes)
        Issue.record("decoded \(event), expected an error", sourceLocation: sourceLocation)
        return nil
    } catch {
        #expect(!error.description.isEmpty, sourceLocation: sourceLocation)
        return error
    }
}

private func isMalformed(_ error: EventFormatError?) -> Bool {
    if case .malformed? = error?.reason { return true }
    return false
}

@Suite("Protobuf format: invalid input")
struct ProtobufInvalidInputTests {
    // MARK: Wire-level

    @Test func truncatedInsideAField() throws {
        let valid = try format.encode(CloudEvent(id: "an-id", source: "/source", type: "com.example"))
        // Cut inside the `source` string: its length prefix promises more than there is.
        let error = decodeError(Array(valid.prefix(9)))
        #expect(isMalformed(error))
    }

    @Test("every truncation throws or decodes, never crashes")
    func everyTruncation() throws {
        var event = CloudEvent(id: "an-id", source: "/source", type: "com.example")
        event.time = try Timestamp(rfc3339: "2020-01-01T00:00:00.5Z")
        event.extensions = ["bin": .binary([1, 2, 3]), "flag": true, "n": 7]
        event.data = .text("payload")
        event.dataContentType = "text/plain"
        let valid = try format.encode(event)
        var refused = 0
        for length in 0..<valid.count {
            let prefix = Array(valid.prefix(length))
            do { _ = try format.decode(prefix) } catch {
                refused += 1
                #expect(!error.description.isEmpty, "the error for \(length) bytes says what is wrong")
            }
            do { _ = try format.decodeBatch(prefix) } catch {
                #expect(!error.description.isEmpty, "the batch error for \(length) bytes says what is wrong")
            }
        }
        #expect(refused > 0, "some truncations are refused")
        #expect(try format.decode(valid) == event, "the whole encoding still decodes")
    }

    @Test func wrongWireTypes() {
        // id (field 1, a string) as a varint.
        #expect(isMalformed(decodeError([0x08, 0x01])))
        // The attributes map (field 5, a message) as a varint.
        #expect(isMalformed(decodeError(ProtoWire.event { $0.varintField(5, 1) })))
        // ce_integer (a varint) as length-delimited. (protobuf-c 1.4 does not check the wire
        // type of `bool` fields, so ce_boolean is not tested this way.)
        #expect(isMalformed(decodeError(ProtoWire.event { $0.attribute("count") { $0.lengthDelimited(2, [1]) } })))
        // ce_string (length-delimited) as a varint.
        #expect(isMalformed(decodeError(ProtoWire.event { $0.attribute("name") { $0.varintField(3, 1) } })))
        // A 64-bit fixed field where a string is expected.
        #expect(isMalformed(decodeError([0x09, 1, 2, 3, 4, 5, 6, 7, 8])))
        // A Timestamp's seconds as length-delimited.
        #expect(
            isMalformed(
                decodeError(
                    ProtoWire.event {
                        $0.attribute("time") { $0.message(7) { $0.lengthDelimited(1, [1]) } }
                    })))
        // Wire types 6 and 7 do not exist.
        #expect(isMalformed(decodeError([0x0E])))
        // A batch whose events are varints.
        #expect(throws: EventFormatError.self) { try format.decodeBatch([0x08, 0x01]) }
    }

    @Test func varintTooLong() {
        #expect(isMalformed(decodeError([0x08] + [UInt8](repeating: 0xFF, count: 11) + [0x01])))
    }

    // MARK: Required attributes

    @Test func missingSpecVersion() {
        for bytes in [[], ProtoWire.event(specVersion: nil), ProtoWire.event(specVersion: [])] {
            let error = decodeError(bytes)
            #expect(error?.reason == .missingSpecVersion)
        }
    }

    @Test("unsupported spec versions are rejected", arguments: ["2.0", "1.0.2", "0.2", "1", " 1.0", "1.0\u{0}"])
    func unsupportedSpecVersion(_ version: String) {
        let error = decodeError(ProtoWire.event(specVersion: Array(version.utf8)))
        #expect(error?.reason == .unsupportedSpecVersion(version))
    }

    @Test("a missing or empty required attribute is invalid", arguments: ["id", "source", "type"])
    func missingRequiredAttribute(_ name: String) {
        let bytes = ProtoWire.event(
            id: name == "id" ? nil : Array("1".utf8),
            source: name == "source" ? [] : Array("/s".utf8),
            type: name == "type" ? nil : Array("t".utf8))
        let error = decodeError(bytes)
        #expect(error?.violations == [Violation(attribute: name, rule: .empty)])
    }

    // MARK: Attribute values

    @Test func unknownAttributeType() {
        // A CloudEventAttributeValue with no case set.
        let none = decodeError(ProtoWire.event { $0.attribute("myext") { _ in } })
        #expect(isMalformed(none))
        #expect(none?.description.contains("myext") == true)
        // Only a field number this proto does not define (a future type?).
        let unknown = decodeError(ProtoWire.event { $0.attribute("myext") { $0.varintField(8, 1) } })
        #expect(isMalformed(unknown))
        #expect(unknown?.description.contains("myext") == true)
        // A map entry without a value at all.
        let noValue = decodeError(ProtoWire.event { $0.message(5) { $0.string(1, "myext") } })
        #expect(isMalformed(noValue))
    }

    @Test func unknownFieldsOutsideValuesAreIgnored() throws {
        // proto3: unknown fields are skipped (forward compatibility).
        let bytes = ProtoWire.event {
            $0.varintField(99, 5)
            $0.string(100, "future")
            $0.attribute("myext") {
                $0.string(3, "value")
                $0.varintField(50, 1)
            }
        }
        #expect(try format.decode(bytes).extensions["myext"] == "value")
    }

    @Test(
        "invalid UTF-8 in a string field is named",
        arguments: [
            [0xC3, 0x28] as [UInt8],  // invalid continuation
            [0xC0, 0xAF],  // overlong '/'
            [0xED, 0xA0, 0x80],  // a UTF-16 surrogate encoded in UTF-8
            [0xF4, 0x90, 0x80, 0x80],  // beyond U+10FFFF
            [0x61, 0xE2, 0x82],  // truncated sequence
            [0xFF]
        ])
    func invalidUTF8(_ bad: [UInt8]) {
        let inID = decodeError(ProtoWire.event(id: bad))
        #expect(inID?.violations == [Violation(attribute: "id", rule: .invalidUTF8)])
        let inSource = decodeError(ProtoWire.event(source: bad))
        #expect(inSource?.violations == [Violation(attribute: "source", rule: .invalidUTF8)])
        let inType = decodeError(ProtoWire.event(type: bad))
        #expect(inType?.violations == [Violation(attribute: "type", rule: .invalidUTF8)])
        let inSpecVersion = decodeError(ProtoWire.event(specVersion: bad))
        #expect(inSpecVersion?.violations == [Violation(attribute: "specversion", rule: .invalidUTF8)])

        for (name, field) in [("subject", 3), ("dataschema", 5), ("myref", 6), ("mystring", 3)] {
            let inValue = decodeError(ProtoWire.event { $0.attribute(name) { $0.lengthDelimited(field, bad) } })
            #expect(inValue?.violations.first == Violation(attribute: name, rule: .invalidUTF8))
        }
        let inKey = decodeError(ProtoWire.event { $0.attribute(Array("ext".utf8) + bad) { $0.string(3, "v") } })
        #expect(inKey?.violations.first?.rule == .invalidUTF8)

        let inText = decodeError(ProtoWire.event { $0.lengthDelimited(7, bad) })
        guard case .invalidData? = inText?.reason else {
            Issue.record("text_data: expected invalidData, got \(String(describing: inText))")
            return
        }
        var any = ProtoWire()
        any.lengthDelimited(1, bad)
        let inTypeURL = decodeError(ProtoWire.event { $0.lengthDelimited(8, any.bytes) })
        guard case .invalidData? = inTypeURL?.reason else {
            Issue.record("type_url: expected invalidData, got \(String(describing: inTypeURL))")
            return
        }
    }

    @Test func embeddedNULIsNotTruncatedAway() {
        // protobuf-c's strings are NUL-terminated; the codec still sees the whole value.
        let error = decodeError(ProtoWire.event(id: [0x61, 0x00, 0x62]))
        #expect(error?.violations.first?.attribute == "id")
        guard case .invalidCharacter(scalar: 0, _)? = error?.violations.first?.rule else {
            Issue.record("expected U+0000 to be reported, got \(String(describing: error))")
            return
        }
    }

    /// Strings of every length class the decoder's word-at-a-time printable-ASCII scan
    /// handles (bytes only, one word, a word and a partial word, several words), with the
    /// character at the start, middle and end.
    private static func texts(with character: String) -> [String] {
        var texts: [String] = []
        for length in [1, 7, 8, 9, 15, 16, 17, 40] {
            for position in Set([0, length / 2, length - 1]).sorted() {
                var characters = Array(repeating: "a", count: length)
                characters[position] = character
                texts.append(characters.joined())
            }
        }
        return texts
    }

    @Test(
        "the String type's excluded characters are found anywhere in a string of any length",
        arguments: [0x01, 0x1F, 0x7F, 0x85, 0xFDD0, 0xFFFE] as [UInt32])
    func excludedCharacterAnywhere(_ scalar: UInt32) throws {
        let character = String(try #require(Unicode.Scalar(scalar)))
        for text in Self.texts(with: character) {
            let inID = decodeError(ProtoWire.event(id: Array(text.utf8)))
            #expect(inID?.violations.count == 1, "\(text.unicodeScalars.map(\.value))")
            #expect(inID?.violations.first?.attribute == "id")
            guard case .invalidCharacter? = inID?.violations.first?.rule else {
                Issue.record("id \(text.unicodeScalars.map(\.value)): expected invalidCharacter, got \(String(describing: inID))")
                continue
            }
            let inExtension = decodeError(ProtoWire.event { $0.attribute("ext") { $0.string(3, text) } })
            #expect(inExtension?.violations.map(\.attribute) == ["ext"], "\(text.unicodeScalars.map(\.value))")
        }
    }

    @Test("strings that are not ASCII but allowed decode exactly", arguments: ["é", "日", "😀", " ", "~"])
    func allowedCharacterAnywhere(_ character: String) throws {
        for text in Self.texts(with: character) {
            let event = try format.decode(
                ProtoWire.event(id: Array(text.utf8)) {
                    $0.attribute("subject") { $0.string(3, text) }
                    $0.attribute("ext") { $0.string(3, text) }
                })
            #expect(event.id == text)
            #expect(event.subject == text)
            #expect(event.extensions["ext"] == .string(text))
        }
    }

    @Test("a map key that collides with a required attribute is rejected", arguments: ["id", "source", "type", "specversion"])
    func requiredAttributeInMap(_ key: String) {
        let error = decodeError(ProtoWire.event { $0.attribute(key) { $0.string(3, "x") } })
        #expect(error?.reason == .duplicateAttribute(key))
    }

    @Test("a key that appears twice in the map is rejected", arguments: ["subject", "time", "myext", "dataschema"])
    func duplicateMapKey(_ key: String) {
        let error = decodeError(
            ProtoWire.event {
                for _ in 0..<2 {
                    if key == "time" {
                        $0.attribute(key) { $0.message(7) { $0.varintField(1, 1) } }
                    } else {
                        $0.attribute(key) { $0.string(5, "https://example.com/x") }
                    }
                }
            })
        #expect(error?.reason == .duplicateAttribute(key))
    }

    /// Known keys are tracked apart from extension keys: a repeat is found among other keys,
    /// in either spec version (where the other version's names are extensions), and in maps
    /// large enough to be checked through a set.
    @Test(
        "a repeated key is found among others",
        arguments: [
            ("1.0", "dataschema"), ("1.0", "schemaurl"), ("1.0", "datacontentencoding"), ("1.0", "datacontenttype"),
            ("0.3", "schemaurl"), ("0.3", "dataschema"), ("0.3", "datacontentencoding"), ("0.3", "ext9")
        ])
    func repeatedKeyAmongOthers(_ version: String, _ key: String) throws {
        for others in [3, 20] {
            let error = decodeError(
                ProtoWire.event(specVersion: Array(version.utf8)) {
                    $0.attribute(key) { $0.string(3, "base64") }
                    for index in 0..<others { $0.attribute("ext\(index)") { $0.string(3, "x") } }
                    $0.attribute("subject") { $0.string(3, "s") }
                    $0.attribute(key) { $0.string(3, "base64") }
                })
            #expect(error?.reason == .duplicateAttribute(key), "\(version) \(key) with \(others) others")
        }
        // Each key once is accepted.
        let once = try format.decode(
            ProtoWire.event(specVersion: Array(version.utf8)) {
                $0.attribute("subject") { $0.string(3, "s") }
                for index in 0..<20 { $0.attribute("ext\(index)") { $0.string(3, "x") } }
            })
        #expect(once.subject == "s" && once.extensions.count == 20)
    }

    @Test func wrongTypesForCoreAttributes() {
        let time = decodeError(ProtoWire.event { $0.attribute("time") { $0.varintField(2, 5) } })
        #expect(time?.violations == [Violation(attribute: "time", rule: .wrongType(expected: .timestamp, actual: .integer))])
        let contentType = decodeError(ProtoWire.event { $0.attribute("datacontenttype") { $0.varintField(1, 1) } })
        #expect(
            contentType?.violations == [
                Violation(attribute: "datacontenttype", rule: .wrongType(expected: .string, actual: .boolean))
            ])
    }

    @Test func leniencyForStringCases() throws {
        // `time` as an RFC 3339 ce_string and `dataschema` as ce_uri_ref are accepted.
        let bytes = ProtoWire.event {
            $0.attribute("time") { $0.string(3, "2020-01-01T10:00:00+01:00") }
            $0.attribute("dataschema") { $0.string(6, "https://example.com/s") }
        }
        let event = try format.decode(bytes)
        #expect(event.time == (try Timestamp(rfc3339: "2020-01-01T10:00:00+01:00")))
        #expect(event.dataSchema == "https://example.com/s")
    }

    @Test func invalidAttributeValues() {
        let name = decodeError(ProtoWire.event { $0.attribute("Bad-Name") { $0.string(3, "x") } })
        #expect(name?.violations == [Violation(attribute: "Bad-Name", rule: .invalidName)])
        let reserved = decodeError(ProtoWire.event { $0.attribute("data") { $0.string(3, "x") } })
        #expect(reserved?.violations == [Violation(attribute: "data", rule: .reservedName)])
        let relativeSchema = decodeError(ProtoWire.event { $0.attribute("dataschema") { $0.string(5, "relative/only") } })
        #expect(relativeSchema?.violations.first?.attribute == "dataschema")
        let control = decodeError(ProtoWire.event { $0.attribute("subject") { $0.string(3, "a\u{7}b") } })
        #expect(control?.violations.first?.attribute == "subject")
        let emptySubject = decodeError(ProtoWire.event { $0.attribute("subject") { $0.string(3, "") } })
        #expect(emptySubject?.violations == [Violation(attribute: "subject", rule: .empty)])
        // Every violation is reported, not just the first.
        let many = decodeError(ProtoWire.event(id: [], source: [0xFF]) { $0.attribute("X") { $0.varintField(1, 0) } })
        #expect(Set(many?.violations.map(\.attribute) ?? []) == ["id", "source", "X"])
    }

    @Test(
        "timestamps outside google.protobuf.Timestamp's range are invalid",
        arguments: [
            (-62_135_596_801, 0), (253_402_300_800, 0), (0, -1), (0, 1_000_000_000), (Int64.min, 0)
        ] as [(Int64, Int64)])
    func timestampOutOfRange(_ seconds: Int64, _ nanos: Int64) {
        let error = decodeError(
            ProtoWire.event {
                $0.attribute("time") {
                    $0.message(7) {
                        $0.varintField(1, UInt64(bitPattern: seconds))
                        // int32 on the wire: negative values are sign-extended to 64 bits.
                        $0.varintField(2, UInt64(bitPattern: nanos))
                    }
                }
            })
        #expect(error?.violations.first?.attribute == "time")
    }

    @Test func timestampRangeEdgesDecode() throws {
        let bytes = ProtoWire.event {
            $0.attribute("time") { $0.message(7) { $0.varintField(1, UInt64(bitPattern: -62_135_596_800)) } }
            $0.attribute("expiry") {
                $0.message(7) {
                    $0.varintField(1, 253_402_300_799)
                    $0.varintField(2, 999_999_999)
                }
            }
            $0.attribute("epoch") { $0.message(7) { _ in } }
        }
        let event = try format.decode(bytes)
        #expect(event.time?.description == "0001-01-01T00:00:00Z")
        #expect(event.extensions["expiry"]?.canonicalString == "9999-12-31T23:59:59.999999999Z")
        #expect(event.extensions["epoch"]?.canonicalString == "1970-01-01T00:00:00Z")
    }

    // MARK: Fuzzing

    /// Mutates valid encodings (bit flips, truncations, byte replacements and insertions,
    /// and plain random bytes) with a fixed seed: decoding must succeed or throw an
    /// ``EventFormatError``, never crash; what decodes must encode again.
    @Test func fuzzMutatedEncodings() throws {
        let json = JSONEventFormat()
        var seeds = try jsonCorpus.map { try format.encode(try json.decode(Array($0.utf8))) }
        seeds.append(try format.encodeBatch(try jsonCorpus.prefix(5).map { try json.decode(Array($0.utf8)) }))
        var random = SeededRandom(seed: 0x5EED_CE00_0000_0001)
        var decoded = 0
        var rejected = 0
        for iteration in 0..<6000 {
            var bytes = seeds[Int(random.next() % UInt64(seeds.count))]
            let mutations = 1 + Int(random.next() % 3)
            for _ in 0..<mutations {
                switch (iteration % 5, bytes.isEmpty) {
                case (_, true), (4, _):
                    bytes = (0..<Int(random.next() % 64)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                case (0, false):
                    let bit = Int(random.next() % UInt64(bytes.count * 8))
                    bytes[bit / 8] ^= 1 << UInt8(bit % 8)
                case (1, false):
                    bytes = Array(bytes.prefix(Int(random.next() % UInt64(bytes.count))))
                case (2, false):
                    bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next())
                default:
                    let at = Int(random.next() % UInt64(bytes.count + 1))
                    bytes.insert(
                        contentsOf: (0..<1 + Int(random.next() % 4)).map { _ in UInt8(truncatingIfNeeded: random.next()) }, at: at
                    )
                }
            }
            do {
                let event = try format.decode(bytes)
                decoded += 1
                // A decoded event is valid, so it encodes (unless it has text with U+0000).
                if case .text(let text)? = event.data, text.utf8.contains(0) { continue }
                _ = try format.encode(event)
            } catch {
                rejected += 1
                #expect(!error.description.isEmpty)
            }
            do {
                _ = try format.decodeBatch(bytes)
            } catch {
                #expect(!error.description.isEmpty)
            }
        }
        #expect(decoded > 0)
        #expect(rejected > 0)
    }
}

/// Malformed Protobuf names the field (number and name, as a path from the outer message)
/// and the byte offset where decoding failed; protobuf-c's unpack says only that it failed.
@Suite("Protobuf format: where decoding failed")
struct ProtobufErrorLocationTests {
    /// The `malformed` text of decoding `bytes` as one event.
    private func malformedText(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> String? {
        let error = decodeError(bytes, sourceLocation: sourceLocation)
        guard case .malformed(let text)? = error?.reason else {
            Issue.record("expected .malformed, got \(String(describing: error))", sourceLocation: sourceLocation)
            return nil
        }
        #expect(error?.description == text, sourceLocation: sourceLocation)
        return text
    }

    private static let event = "not a valid io.cloudevents.v1.CloudEvent Protobuf message: "
    /// `id` (5 bytes), `source` (7), `spec_version` (5), `type` (18): 35 bytes.
    private static let required = ProtoWire.event()

    @Test func aLengthPastTheEnd() {
        // The source field's key is at byte 5, its length (5) at byte 6, two bytes follow.
        #expect(
            malformedText(Array(Self.required.prefix(9)))
                == Self.event + "field 2 (source) at byte 6: a length of 5 runs past the end of its message (2 bytes left)")
    }

    @Test func theWrongWireTypeForAKnownField() {
        #expect(
            malformedText([0x08, 0x01])
                == Self.event
                + "field 1 (id) at byte 0: wire type 0 (varint) where io.cloudevents.v1.CloudEvent.id has wire type 2 (length-delimited)"
        )
        // The attributes map as a varint, after the 35 bytes of the required fields.
        #expect(
            malformedText(ProtoWire.event { $0.varintField(5, 1) })
                == Self.event
                + "field 5 (attributes) at byte 35: wire type 0 (varint) where io.cloudevents.v1.CloudEvent.attributes has wire type 2 (length-delimited)"
        )
    }

    @Test func aNestedFieldIsNamedByItsPath() {
        // Entry key and length (2 bytes), its key field "count" (7), the value's key and length (2).
        let integer = ProtoWire.event { $0.attribute("count") { $0.lengthDelimited(2, [1]) } }
        #expect(
            malformedText(integer)
                == Self.event
                + "field 5 (attributes) > field 2 (value) > field 2 (ce_integer) at byte 46: wire type 2 (length-delimited) where io.cloudevents.v1.CloudEvent.CloudEventAttributeValue.ce_integer has wire type 0 (varint)"
        )
        let seconds = ProtoWire.event { $0.attribute("time") { $0.message(7) { $0.lengthDelimited(1, [1]) } } }
        #expect(
            malformedText(seconds)
                == Self.event
                + "field 5 (attributes) > field 2 (value) > field 7 (ce_timestamp) > field 1 (seconds) at byte 47: wire type 2 (length-delimited) where google.protobuf.Timestamp.seconds has wire type 0 (varint)"
        )
    }

    @Test func wireTypesThatDoNotExist() {
        // Field 20, wire type 7: the key 0xA7 0x01.
        #expect(malformedText([0xA7, 0x01]) == Self.event + "field 20 at byte 0: wire type 7 (none such) does not exist")
        #expect(
            malformedText(Self.required + [0xA6, 0x01])
                == Self.event + "field 20 at byte 35: wire type 6 (none such) does not exist")
    }

    @Test func aVarintTooLong() {
        // An unknown varint field (9) whose value goes on for 11 bytes, after the required fields.
        #expect(
            malformedText(Self.required + [0x48] + [UInt8](repeating: 0xFF, count: 11) + [0x01])
                == Self.event + "field 9 at byte 36: a varint longer than 10 bytes")
    }

    @Test func aTruncatedFixedField() {
        // An unknown 64-bit field (9) with three of its eight bytes.
        #expect(
            malformedText(Self.required + [0x49, 1, 2, 3])
                == Self.event + "field 9 at byte 36: a 64-bit value runs past the end of its message (3 bytes left)")
    }

    @Test func aTruncatedBatchNamesTheEvent() throws {
        var batch = ProtoWire()
        batch.lengthDelimited(1, Self.required)
        batch.lengthDelimited(1, Array(Self.required.prefix(9)))
        // The second event starts at byte 37 + 2: its source length is at 39 + 6.
        #expect(throws: EventFormatError.self) { try format.decodeBatch(batch.bytes) }
        do {
            _ = try format.decodeBatch(batch.bytes)
        } catch {
            #expect(
                error.reason
                    == .malformed(
                        "not a valid io.cloudevents.v1.CloudEventBatch Protobuf message: field 1 (events) > field 2 (source) at byte 45: a length of 5 runs past the end of its message (2 bytes left)"
                    ))
        }
    }

    /// A string that is not UTF-8 is an attribute violation (as before), now also located.
    @Test func aStringThatIsNotUTF8IsLocated() throws {
        let error = decodeError(ProtoWire.event(source: [0x2F, 0xC3, 0x28]))
        #expect(error?.violations == [Violation(attribute: "source", rule: .invalidUTF8)])
        #expect(error?.location == "field 2 (source) at byte 7: the string is not valid UTF-8")
        #expect(error?.description.contains("field 2 (source) at byte 7") == true)

        let inExtension = decodeError(ProtoWire.event { $0.attribute("ext") { $0.lengthDelimited(3, [0x61, 0xFF]) } })
        #expect(inExtension?.violations.first == Violation(attribute: "ext", rule: .invalidUTF8))
        #expect(
            inExtension?.location
                == "field 5 (attributes) > field 2 (value) > field 3 (ce_string) at byte 46: the string is not valid UTF-8")
    }
}
