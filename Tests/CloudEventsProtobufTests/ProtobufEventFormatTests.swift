import CloudEvents
import CloudEventsProtobuf
import Testing

private let format = ProtobufEventFormat()

private func event(
    _ specVersion: SpecVersion = .v1_0, extensions: ExtensionAttributes = [:], data: EventData? = nil,
    dataContentType: String? = nil
) -> CloudEvent {
    CloudEvent(
        id: "A234-1234-1234", source: "https://example.com/source", type: "com.example.someevent",
        specVersion: specVersion, dataContentType: dataContentType, extensions: extensions, data: data)
}

private func roundTrip(_ event: CloudEvent, _ format: ProtobufEventFormat = format) throws -> CloudEvent {
    try format.decode(try format.encode(event))
}

@Suite("Protobuf format: identity and registry")
struct ProtobufFormatIdentityTests {
    @Test func namesAndMediaTypes() {
        #expect(format.name == "protobuf")
        #expect(format.mediaType == "application/cloudevents+protobuf")
        #expect(format.batchMediaType == "application/cloudevents-batch+protobuf")
        #expect(format.jsonDataField == .text)
        #expect(format.matches(mediaType: "Application/CloudEvents+Protobuf; charset=utf-8"))
        #expect(format.matchesBatch(mediaType: "application/cloudevents-batch+protobuf"))
    }

    @Test func registryWithProtobuf() throws {
        let registry = EventFormatRegistry.standardWithProtobuf
        #expect(registry.format(named: "protobuf") is ProtobufEventFormat)
        #expect(registry.format(named: "JSON") is JSONEventFormat)
        #expect(registry.format(forMediaType: "application/cloudevents+protobuf") is ProtobufEventFormat)
        #expect(registry.format(forBatchMediaType: "application/cloudevents-batch+protobuf") is ProtobufEventFormat)
        #expect(registry.format(forMediaType: "application/cloudevents+json") is JSONEventFormat)
    }
}

@Suite("Protobuf format: attributes")
struct ProtobufAttributeTests {
    /// Each extension type, with the oneof case (field number of CloudEventAttributeValue)
    /// it must travel in.
    static let typedValues: [(AttributeValue, Int)] = [
        (.boolean(true), 1), (.boolean(false), 1),
        (.integer(0), 2), (.integer(42), 2), (.integer(-1), 2), (.integer(.max), 2), (.integer(.min), 2),
        (.string("hello"), 3), (.string(""), 3), (.string("héllo wörld ✓ 😀 日本"), 3),
        (.binary([]), 4), (.binary([0, 1, 2, 0xFF]), 4), (.binary(Array(0...255)), 4),
        (.uri("https://example.com/a?b=c#d"), 5), (.uri("urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"), 5),
        (.uriReference("/relative/path"), 6), (.uriReference(""), 6), (.uriReference("https://x/%20y"), 6),
        (.timestamp(try! Timestamp(rfc3339: "2018-04-05T17:31:00Z")), 7),
        (.timestamp(try! Timestamp(rfc3339: "2018-04-05T17:31:00.123456789Z")), 7),
        (.timestamp(try! Timestamp(rfc3339: "0001-01-01T00:00:00Z")), 7),
        (.timestamp(try! Timestamp(rfc3339: "9999-12-31T23:59:59.999999999Z")), 7),
        (.timestamp(try! Timestamp(rfc3339: "1969-12-31T23:59:59.5Z")), 7)
    ]

    @Test("every attribute type round-trips in its own oneof case", arguments: typedValues)
    func extensionType(_ value: AttributeValue, _ oneofField: Int) throws {
        let original = event(extensions: ["myext": value])
        let bytes = try format.encode(original)
        let wire = try #require(ProtoWireReader.attributes(bytes)["myext"])
        #expect(wire.number == oneofField)
        let decoded = try format.decode(bytes)
        #expect(decoded == original)
        #expect(decoded.extensions["myext"]?.type == value.type)
    }

    @Test func requiredAttributesHaveTheirOwnFields() throws {
        let bytes = try format.encode(event())
        let fields = try #require(ProtoWireReader.fields(bytes))
        #expect(fields.map(\.number) == [1, 2, 3, 4])
        #expect(fields[0].payload == Array("A234-1234-1234".utf8))
        #expect(fields[1].payload == Array("https://example.com/source".utf8))
        #expect(fields[2].payload == Array("1.0".utf8))
        #expect(fields[3].payload == Array("com.example.someevent".utf8))
        #expect(ProtoWireReader.attributes(bytes).isEmpty)
    }

    @Test func optionalAttributesGoIntoTheMapWithTheirTypes() throws {
        var original = event()
        original.dataContentType = "application/xml"
        original.dataSchema = "https://example.com/schema.json"
        original.subject = "blob/123"
        original.time = try Timestamp(rfc3339: "2020-06-18T17:24:53.123Z")
        let bytes = try format.encode(original)
        let attributes = ProtoWireReader.attributes(bytes)
        #expect(Set(attributes.keys) == ["datacontenttype", "dataschema", "subject", "time"])
        #expect(attributes["datacontenttype"]?.number == 3)
        #expect(attributes["dataschema"]?.number == 5)
        #expect(attributes["subject"]?.number == 3)
        #expect(attributes["time"]?.number == 7)
        // google.protobuf.Timestamp { seconds = 1; nanos = 2 }
        let time = try #require(ProtoWireReader.fields(attributes["time"]!.payload))
        #expect(
            time == [
                ProtoField(number: 1, wireType: 0, varint: 1_592_501_093), ProtoField(number: 2, wireType: 0, varint: 123_000_000)
            ])
        #expect(try format.decode(bytes) == original)
    }

    @Test func version03UsesSchemaURLAsURIReference() throws {
        var original = event(.v0_3)
        original.dataSchema = "schemas/relative.json"
        original.extensions["dataschema"] = "an extension in 0.3"
        let bytes = try format.encode(original)
        let attributes = ProtoWireReader.attributes(bytes)
        #expect(attributes["schemaurl"]?.number == 6)
        #expect(attributes["dataschema"]?.number == 3)
        let decoded = try format.decode(bytes)
        #expect(decoded == original)
        #expect(decoded.specVersion == .v0_3)
    }

    @Test func version10TreatsSchemaURLAsAnExtension() throws {
        let original = event(extensions: ["schemaurl": .uriReference("x/y"), "datacontentencoding": "base64"])
        #expect(try roundTrip(original) == original)
    }

    @Test func timestampsGoOutInUTC() throws {
        var original = event()
        original.time = try Timestamp(rfc3339: "2018-04-05T17:31:00.123456789+02:00")
        original.extensions["expirytime"] = .timestamp(try Timestamp(rfc3339: "2018-04-05T17:31:00-07:30"))
        let decoded = try roundTrip(original)
        #expect(decoded.time?.description == "2018-04-05T15:31:00.123456789Z")
        #expect(decoded.time?.isSameInstant(as: original.time!) == true)
        #expect(decoded.extensions["expirytime"] == .timestamp(try Timestamp(rfc3339: "2018-04-06T01:01:00Z")))
        #expect(isEquivalent(decoded, original))
    }

    @Test(
        "timestamps outside years 0001-9999 in UTC cannot be encoded",
        arguments: [
            "0000-12-31T23:59:59Z", "0001-01-01T00:30:00+01:00", "9999-12-31T23:59:59-00:01"
        ])
    func timestampOutOfRange(_ text: String) throws {
        let original = event(extensions: ["when": .timestamp(try Timestamp(rfc3339: text))])
        let error = #expect(throws: EventFormatError.self) { try format.encode(original) }
        #expect(error?.violations.first?.attribute == "when")
    }

    @Test func manyExtensionsKeepTheirValues() throws {
        var extensions = ExtensionAttributes()
        for index in 0..<100 { extensions["ext\(index)"] = index % 2 == 0 ? .integer(Int32(index)) : .string("v\(index)") }
        let original = event(extensions: extensions)
        #expect(try roundTrip(original) == original)
    }

    @Test func invalidEventsAreNotEncoded() {
        var invalid = event()
        invalid.id = ""
        invalid.extensions["Bad_Name"] = "x"
        let error = #expect(throws: EventFormatError.self) { try format.encode(invalid) }
        #expect(error?.violations.map(\.attribute) == ["id", "Bad_Name"])
    }

    /// The encoder checks the String type's characters itself (a printable-ASCII scan as it
    /// copies each string, full validation otherwise): every String-typed attribute, any
    /// excluded character, anywhere in short and long values.
    @Test(
        "the String type's excluded characters are refused on encode",
        arguments: [
            "id", "type", "datacontenttype", "subject", "myext"
        ])
    func excludedCharactersAreNotEncoded(_ attribute: String) throws {
        for scalar: UInt32 in [0x01, 0x7F, 0x85, 0xFDD0, 0xFFFE] {
            let bad = String(Unicode.Scalar(scalar)!)
            for text in ["a\(bad)", "\(String(repeating: "x", count: 40))\(bad)y"] {
                var invalid = event()
                try invalid.setAttribute(attribute, to: .string(attribute == "datacontenttype" ? "text/\(text)" : text))
                let error = #expect(throws: EventFormatError.self) { try format.encode(invalid) }
                #expect(error?.violations.map(\.attribute) == [attribute])
                guard case .invalidCharacter? = error?.violations.first?.rule else {
                    Issue.record("expected invalidCharacter for \(attribute), got \(String(describing: error))")
                    continue
                }
            }
        }
    }

    @Test("allowed characters beyond ASCII are encoded", arguments: ["id", "type", "subject", "myext"])
    func allowedCharactersAreEncoded(_ attribute: String) throws {
        var original = event()
        try original.setAttribute(attribute, to: .string("héllo ✓ 😀 日本 \u{A0}"))
        #expect(try roundTrip(original) == original)
    }

    @Test func characterViolationsComeBeforeWhatProtobufCannotCarry() throws {
        var invalid = event(data: .text("a\u{0}b"), dataContentType: "text/plain")
        invalid.subject = "bell\u{7}"
        invalid.extensions["when"] = .timestamp(try Timestamp(rfc3339: "0000-12-31T23:59:59Z"))
        let error = #expect(throws: EventFormatError.self) { try format.encode(invalid) }
        #expect(error?.violations.map(\.attribute) == ["subject"])
    }
}

@Suite("Protobuf format: data")
struct ProtobufDataTests {
    struct DataCase: CustomTestStringConvertible, Sendable {
        var label: String
        var data: EventData?
        var contentType: String?
        /// The oneof field it must travel in (nil: no data field).
        var field: Int?
        var testDescription: String { label }
    }

    static let cases: [DataCase] = [
        DataCase(label: "no data", data: nil, contentType: nil, field: nil),
        DataCase(label: "no data, content type", data: nil, contentType: "application/json", field: nil),
        DataCase(label: "binary", data: .binary([0xDE, 0xAD, 0xBE, 0xEF]), contentType: "application/octet-stream", field: 6),
        DataCase(label: "binary without content type", data: .binary(Array("{\"a\":1}".utf8)), contentType: nil, field: 6),
        DataCase(label: "binary with NUL bytes", data: .binary([0, 0, 1, 0]), contentType: nil, field: 6),
        DataCase(label: "empty binary", data: .binary([]), contentType: nil, field: 6),
        DataCase(label: "empty binary, JSON type", data: .binary([]), contentType: "application/json", field: 6),
        DataCase(label: "text", data: .text("<much wow=\"xml\"/>"), contentType: "application/xml", field: 7),
        DataCase(label: "unicode text", data: .text("Grüße 👋"), contentType: "text/plain; charset=utf-8", field: 7),
        DataCase(label: "empty text", data: .text(""), contentType: "text/plain", field: 7),
        DataCase(label: "empty text, no content type", data: .text(""), contentType: nil, field: 7),
        DataCase(
            label: "JSON object", data: .json(try! RawJSON(validating: #"{"a":[1,2,{"b":null}],"c":"d"}"#)),
            contentType: "application/json", field: 7),
        DataCase(
            label: "JSON without content type", data: .json(try! RawJSON(validating: "[1,2,3]")), contentType: nil, field: 7),
        DataCase(
            label: "JSON string", data: .json(try! RawJSON(validating: #""I'm just a string""#)), contentType: nil, field: 7),
        DataCase(label: "JSON null", data: .json(.null), contentType: "application/json", field: 7),
        DataCase(label: "JSON number", data: .json(try! RawJSON(validating: "1.5")), contentType: "text/json", field: 7),
        DataCase(
            label: "+json type", data: .json(try! RawJSON(validating: "{}")), contentType: "application/ld+json; charset=utf-8",
            field: 7)
    ]

    @Test("data round-trips in the right field", arguments: cases)
    func dataRoundTrip(_ dataCase: DataCase) throws {
        let original = event(data: dataCase.data, dataContentType: dataCase.contentType)
        let bytes = try format.encode(original)
        #expect(ProtoWireReader.dataField(bytes)?.number == dataCase.field)
        #expect(try format.decode(bytes) == original)
    }

    @Test func emptyDataStaysPresent() throws {
        let emptyBinary = try format.encode(event(data: .binary([])))
        #expect(ProtoWireReader.dataField(emptyBinary) == ProtoField(number: 6, wireType: 2, payload: []))
        #expect(try format.decode(emptyBinary).data == .binary([]))

        let emptyText = try format.encode(event(data: .text("")))
        #expect(ProtoWireReader.dataField(emptyText) == ProtoField(number: 7, wireType: 2, payload: []))
        #expect(try format.decode(emptyText).data == .text(""))

        let none = try format.encode(event())
        #expect(ProtoWireReader.dataField(none) == nil)
        #expect(try format.decode(none).data == nil)
    }

    @Test func jsonDataFieldBinaryWritesBinaryData() throws {
        let binaryFormat = ProtobufEventFormat(jsonDataField: .binary)
        let json = try RawJSON(validating: #"{"temperature":21.5}"#)
        let original = event(data: .json(json), dataContentType: "application/json")
        let bytes = try binaryFormat.encode(original)
        #expect(ProtoWireReader.dataField(bytes) == ProtoField(number: 6, wireType: 2, payload: json.bytes))
        // Read back by either configuration: JSON in binary_data is accepted.
        #expect(try binaryFormat.decode(bytes) == original)
        #expect(try format.decode(bytes) == original)
        // Without a content type, the one JSON implies is written out, so that it reads back as JSON.
        let untyped = event(data: .json(json))
        let untypedBytes = try binaryFormat.encode(untyped)
        #expect(ProtoWireReader.attributes(untypedBytes)["datacontenttype"]?.payload == Array("application/json".utf8))
        var expected = untyped
        expected.dataContentType = "application/json"
        #expect(try format.decode(untypedBytes) == expected)
        #expect(ProtoWireReader.attributes(try format.encode(untyped)).isEmpty)
        // Text data is unaffected by the option.
        let text = event(data: .text("plain"), dataContentType: "text/plain")
        #expect(ProtoWireReader.dataField(try binaryFormat.encode(text))?.number == 7)
    }

    @Test func jsonInBinaryDataNeedsAJSONContentType() throws {
        // Without a content type, bytes are never assumed to be JSON (spec: JSON format).
        let bytes = ProtoWire.event { $0.lengthDelimited(6, Array("{\"a\":1}".utf8)) }
        #expect(try format.decode(bytes).data == .binary(Array("{\"a\":1}".utf8)))
        // Binary data labelled JSON comes back as JSON with the same bytes (documented).
        let labelled = event(data: .binary(Array("{\"a\":1}".utf8)), dataContentType: "application/json")
        #expect(try roundTrip(labelled).data == .json(try RawJSON(validating: "{\"a\":1}")))
        // Bytes labelled JSON that are not JSON stay binary.
        let notJSON = event(data: .binary([0xFF, 0x00]), dataContentType: "application/json")
        #expect(try roundTrip(notJSON) == notJSON)
    }

    @Test func textDataWithJSONTypeThatIsNotJSONStaysText() throws {
        let bytes = ProtoWire.event {
            $0.attribute("datacontenttype") { $0.string(3, "application/json") }
            $0.string(7, "not { json")
        }
        #expect(try format.decode(bytes).data == .text("not { json"))
        let plain = ProtoWire.event {
            $0.attribute("datacontenttype") { $0.string(3, "text/plain") }
            $0.string(7, "{\"looks\":\"like json\"}")
        }
        #expect(try format.decode(plain).data == .text("{\"looks\":\"like json\"}"))
    }

    @Test func textDataWithNULCannotBeEncoded() throws {
        let original = event(data: .text("a\u{0}b"), dataContentType: "text/plain")
        let error = #expect(throws: EventFormatError.self) { try format.encode(original) }
        guard case .invalidData? = error?.reason else {
            Issue.record("expected invalidData, got \(String(describing: error))")
            return
        }
    }

    @Test func textDataWithNULIsDecodedWhole() throws {
        // protobuf-c hands out NUL-terminated strings; the codec recovers the exact length.
        let bytes = ProtoWire.event {
            $0.attribute("datacontenttype") { $0.string(3, "text/plain") }
            $0.lengthDelimited(7, [0x61, 0x00, 0x62])
        }
        #expect(try format.decode(bytes).data == .text("a\u{0}b"))
    }

    @Test func protoDataBecomesTheSerializedAny() throws {
        var any = ProtoWire()
        any.string(1, "type.googleapis.com/google.protobuf.Duration")
        any.lengthDelimited(2, [0x08, 0x2A])  // Duration { seconds: 42 }
        let bytes = ProtoWire.event { $0.lengthDelimited(8, any.bytes) }
        let decoded = try format.decode(bytes)
        #expect(decoded.data == .binary(any.bytes))
        #expect(decoded.dataContentType == "application/protobuf")
        #expect(decoded.dataSchema == nil)
        // Re-encoded, the same bytes travel in binary_data.
        let reencoded = try format.encode(decoded)
        #expect(ProtoWireReader.dataField(reencoded) == ProtoField(number: 6, wireType: 2, payload: any.bytes))

        // An existing content type is kept; an empty Any is present, empty data.
        let typed = ProtoWire.event {
            $0.attribute("datacontenttype") { $0.string(3, "application/x-protobuf") }
            $0.lengthDelimited(8, [])
        }
        let decodedTyped = try format.decode(typed)
        #expect(decodedTyped.dataContentType == "application/x-protobuf")
        #expect(decodedTyped.data == .binary([]))
    }

    @Test func version03Base64TextData() throws {
        let bytes = ProtoWire.event(specVersion: Array("0.3".utf8)) {
            $0.attribute("datacontentencoding") { $0.string(3, "base64") }
            $0.string(7, "AAEC/w==")
        }
        let decoded = try format.decode(bytes)
        #expect(decoded.data == .binary([0, 1, 2, 255]))
        #expect(decoded.extensions.isEmpty)

        let bad = ProtoWire.event(specVersion: Array("0.3".utf8)) {
            $0.attribute("datacontentencoding") { $0.string(3, "base64") }
            $0.string(7, "not base64!")
        }
        #expect(throws: EventFormatError.self) { try format.decode(bad) }

        let unsupported = ProtoWire.event(specVersion: Array("0.3".utf8)) {
            $0.attribute("datacontentencoding") { $0.string(3, "quoted-printable") }
        }
        let error = #expect(throws: EventFormatError.self) { try format.decode(unsupported) }
        #expect(error?.violations.first?.attribute == "datacontentencoding")
    }

    @Test func encodeAppendsToExistingOutput() throws {
        let original = event(data: .text("x"), dataContentType: "text/plain")
        let single = try format.encode(original)
        var output: [UInt8] = [1, 2, 3]
        try format.encode(original, into: &output)
        #expect(output == [1, 2, 3] + single)
        var reserved = [UInt8]()
        reserved.reserveCapacity(1024)
        try format.encode(original, into: &reserved)
        #expect(reserved == single)
    }
}

@Suite("Protobuf format: batches")
struct ProtobufBatchTests {
    static func events(_ count: Int) -> [CloudEvent] {
        (0..<count).map { index in
            var item = event(extensions: ["index": .integer(Int32(index))])
            item.id = "event-\(index)"
            switch index % 4 {
            case 0: item.data = .json(try! RawJSON(validating: "{\"n\":\(index)}"))
            case 1: item.data = .binary([UInt8(truncatingIfNeeded: index), 0])
            case 2:
                item.data = .text("text \(index)")
                item.dataContentType = "text/plain"
            default: break
            }
            return item
        }
    }

    @Test("batches of 0, 1 and many events round-trip", arguments: [0, 1, 2, 7, 250])
    func batchRoundTrip(_ count: Int) throws {
        let original = Self.events(count)
        let bytes = try format.encodeBatch(original)
        if count == 0 { #expect(bytes.isEmpty) }
        let fields = try #require(ProtoWireReader.fields(bytes))
        #expect(fields.count == count)
        #expect(fields.allSatisfy { $0.number == 1 && $0.wireType == 2 })
        if count > 0 { #expect(fields[0].payload == (try format.encode(original[0]))) }
        #expect(try format.decodeBatch(bytes) == original)
    }

    @Test func emptyBatchFromNoBytes() throws {
        #expect(try format.decodeBatch([UInt8]()) == [])
    }

    @Test func mixedSpecVersionsAreRejected() throws {
        let mixed = [event(), event(.v0_3)]
        let encodeError = #expect(throws: EventFormatError.self) { try format.encodeBatch(mixed) }
        #expect(encodeError?.batchIndex == 1)

        var wire = ProtoWire()
        for event in mixed { wire.lengthDelimited(1, try format.encode(event)) }
        let decodeError = #expect(throws: EventFormatError.self) { try format.decodeBatch(wire.bytes) }
        #expect(decodeError?.batchIndex == 1)
        guard case .mixedSpecVersions? = decodeError?.reason else {
            Issue.record("expected mixedSpecVersions, got \(String(describing: decodeError))")
            return
        }
    }

    @Test func theFaultyEventIsNamed() throws {
        var invalid = event()
        invalid.type = ""
        let encodeError = #expect(throws: EventFormatError.self) { try format.encodeBatch([event(), event(), invalid]) }
        #expect(encodeError?.batchIndex == 2)

        var wire = ProtoWire()
        wire.lengthDelimited(1, try format.encode(event()))
        wire.lengthDelimited(1, ProtoWire.event(type: nil))
        let decodeError = #expect(throws: EventFormatError.self) { try format.decodeBatch(wire.bytes) }
        #expect(decodeError?.batchIndex == 1)
        #expect(decodeError?.violations.first?.attribute == "type")
    }

    @Test func batchWithJSONInBinaryData() throws {
        let binaryFormat = ProtobufEventFormat(jsonDataField: .binary)
        let original = Self.events(8).map { event -> CloudEvent in
            var event = event
            if case .json = event.data { event.dataContentType = "application/json" }
            return event
        }
        #expect(try format.decodeBatch(try binaryFormat.encodeBatch(original)) == original)
    }
}
