import CloudEvents
import CloudEventsConformance
import HTTPTypes
import Testing

@testable import CloudEventsHTTP

/// The binary-mode fast paths (`CloudEvent.httpFields(mode: .binary)` and
/// `CloudEvent(httpRequest:body:)`) against the general path through the message layer
/// (``HTTPMessageWriter`` and ``HTTPMessageReader`` with ``CloudEventBuilder``): the same
/// fields in the same order, the same events, the same errors.
@Suite("HTTP binary mode fast paths")
struct HTTPBinaryModeFastPathTests {
    static func wire(_ fields: HTTPFields) -> [String] {
        fields.map { "\($0.name.rawName): \($0.value)" }
    }

    static let edgeEvents: [CloudEvent] = [
        CloudEvent(id: "A 234", source: "/mycontext/%20x", type: "t", subject: "Euro € 😀 \"q\" 100%"),
        CloudEvent(id: "1", source: "/s", type: "t", dataContentType: "text/plain; charset=utf-8", data: .text("hi")),
        CloudEvent(id: "1", source: "/s", type: "t", data: .text("no content type")),
        CloudEvent(id: "1", source: "/s", type: "t", data: .binary([0, 1, 2])),
        CloudEvent(id: "1", source: "/s", type: "t", specVersion: .v0_3, dataSchema: "schema/rel"),
        CloudEvent(id: "1", source: "/s", type: "t", dataSchema: "https://example.com/s%20chema"),
        CloudEvent(
            id: "~!", source: "urn:x", type: "\u{A0}nbsp",
            extensions: [
                "flag": true, "count": -7, "blob": .binary([0xFF, 0x00]), "link": .uri("https://e.com/a%2Fb"),
                "ref": .uriReference("../x%20y"),
                "at": .timestamp(try! Timestamp(rfc3339: "2020-01-01T00:00:00.5-00:00"))
            ]),
        // The extensions whose header names are built once, beside one that is not, and
        // the constant `Content-Type: application/json` field, with and without data.
        CloudEvent(
            id: "1", source: "/s", type: "t", dataContentType: "application/json",
            extensions: [
                "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate": "k=v",
                "partitionkey": "p 1", "sequence": "42", "dataref": .uri("https://e.com/d"), "traceparentx": "x"
            ]),
        CloudEvent(
            id: "1", source: "/s", type: "t", specVersion: .v0_3, dataContentType: "application/json",
            data: .json(try! RawJSON(validating: "[1]"))),
        CloudEvent(id: "1", source: "/s", type: "t", data: .json(try! RawJSON(validating: #"{"no":"content type"}"#))),
        CloudEvent(id: "1", source: "/s", type: "t", dataContentType: "Application/JSON", data: .text("t"))
    ]

    static let invalidEvents: [CloudEvent] = [
        CloudEvent(id: "", source: "", type: "t"),
        CloudEvent(id: "bell\u{7}", source: "/s", type: "t"),
        CloudEvent(id: "c1\u{85}", source: "not a uri", type: "t"),
        CloudEvent(id: "1", source: "/s", type: "t", dataContentType: "text/plain;\tx=\u{1}"),
        CloudEvent(id: "1", source: "/s", type: "t", dataContentType: "text/plain; p=\u{9F}"),
        CloudEvent(id: "1", source: "/s", type: "t", subject: "non\u{FFFE}character"),
        CloudEvent(id: "1", source: "/s", type: "t", extensions: ["Bad": "x"]),
        CloudEvent(id: "1", source: "/s", type: "t", extensions: ["ok": "\u{0}"]),
        CloudEvent(id: "1", source: "/s", type: "t", extensions: ["id": "x"])
    ]

    static var events: [CloudEvent] {
        Corpus.events.map(\.event) + edgeEvents + [Self.sample]
    }

    static let sample = CloudEvent(
        id: "9b3c6d4e-2f7a-4e1b-8c5d-0a1b2c3d4e5f", source: "https://sensors.example.com/buildings/north/floor-3",
        type: "com.example.sensor.reading.v1", dataContentType: "application/json", subject: "thermostat-42/temperature",
        time: try! Timestamp(rfc3339: "2026-11-22T10:15:30.123456789Z"),
        extensions: ["traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"],
        data: .json(try! RawJSON(validating: #"{"a":[1,2.5,"x"]}"#)))

    // MARK: Encode

    @Test(arguments: events)
    func binaryEncodeMatchesTheGeneralPath(event: CloudEvent) throws {
        let fast = try event.httpFields(mode: .binary)
        let general = try event.generalHTTPFields(mode: .binary, format: JSONEventFormat())
        #expect(Self.wire(fast.headerFields) == Self.wire(general.headerFields))
        #expect(fast.body == general.body)
    }

    @Test(arguments: invalidEvents)
    func binaryEncodeRefusesWhatTheGeneralPathRefuses(event: CloudEvent) throws {
        let fast = #expect(throws: MessageError.self) { try event.httpFields(mode: .binary) }
        let general = #expect(throws: MessageError.self) {
            try event.generalHTTPFields(mode: .binary, format: JSONEventFormat())
        }
        #expect(fast == general)
    }

    // MARK: Decode

    /// Both decoders on the same fields: equal events, or equal errors.
    static func expectSameDecoding(_ fields: HTTPFields, body: [UInt8] = [], extensionTypes: ExtensionTypes = .none) {
        let request = HTTPRequest(method: .post, scheme: "http", authority: "h", path: "/", headerFields: fields)
        let fast = Result { () throws(MessageError) in
            try CloudEvent(httpRequest: request, body: body, extensionTypes: extensionTypes)
        }
        let general = Result { () throws(MessageError) in
            try HTTPMessageReader(request: request, body: body).event(extensionTypes: extensionTypes)
        }
        #expect(fast == general, "\(wire(fields))")
    }

    @Test(arguments: events)
    func binaryDecodeMatchesTheGeneralPath(event: CloudEvent) throws {
        let (fields, body) = try event.httpFields(mode: .binary)
        Self.expectSameDecoding(fields, body: body)
        Self.expectSameDecoding(fields, body: body, extensionTypes: Corpus.extensionTypes)
    }

    /// The ordinary request is decoded by the fast path itself (not handed on).
    @Test func theSampleRequestTakesTheFastPath() throws {
        let (fields, body) = try Self.sample.httpFields(mode: .binary)
        var event = CloudEvent(id: "", source: "", type: "")
        let decoded = event.decodeBinaryMode(headerFields: fields, body: body, extensionTypes: .none)
        #expect(decoded)
        #expect(event == Self.sample)
    }

    /// The sample event's exact wire shape: names, order and values, `ce-specversion` and
    /// `Content-Type` from the fields built once, `ce-traceparent` from the names built once.
    @Test func theSampleEventsWireShape() throws {
        let (fields, body) = try Self.sample.httpFields(mode: .binary)
        #expect(
            Self.wire(fields) == [
                "ce-specversion: 1.0", "ce-id: 9b3c6d4e-2f7a-4e1b-8c5d-0a1b2c3d4e5f",
                "ce-source: https://sensors.example.com/buildings/north/floor-3", "ce-type: com.example.sensor.reading.v1",
                "Content-Type: application/json", "ce-subject: thermostat-42/temperature",
                "ce-time: 2026-11-22T10:15:30.123456789Z",
                "ce-traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
            ])
        #expect(
            fields.map(\.name.canonicalName) == [
                "ce-specversion", "ce-id", "ce-source", "ce-type", "content-type", "ce-subject", "ce-time", "ce-traceparent"
            ])
        #expect(body == Array(#"{"a":[1,2.5,"x"]}"#.utf8))
    }

    /// A body declared `application/json` that is not JSON stays data (binary), as the
    /// general path decides: validated, not trusted.
    @Test func invalidJSONUnderTheJSONContentTypeIsValidatedNotTrusted() throws {
        let fields = Self.fields(Self.required + [("Content-Type", "application/json")])
        for body in [Array("{\"a\":".utf8), Array("[1,]".utf8), [0x22, 0xC0, 0xA0, 0x22]] {
            var event = CloudEvent(id: "", source: "", type: "")
            let decoded = event.decodeBinaryMode(headerFields: fields, body: body, extensionTypes: .none)
            #expect(decoded)
            #expect(event.data == .binary(body))
            Self.expectSameDecoding(fields, body: body)
        }
    }

    static func fields(_ pairs: [(String, String)]) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value) in pairs { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        return fields
    }

    static let required = [("ce-specversion", "1.0"), ("ce-id", "1"), ("ce-source", "/s"), ("ce-type", "t")]

    @Test(arguments: [
        // Case and order of names, unknown headers, extensions.
        [("CE-SpecVersion", "1.0"), ("Ce-Id", "x"), ("X-Other", "o"), ("ce-SOURCE", "/s"), ("ce-type", "t"), ("ce-ext", "v")],
        [("ce-type", "t"), ("ce-source", "/s"), ("ce-id", "1"), ("ce-specversion", "1.0")],
        required + [("ce-", "empty attribute name"), ("ce", "x"), ("cex-id", "y")],
        // Escapes, quotes, raw spaces and raw UTF-8 from older senders.
        required + [("ce-subject", "%e2%82%ac%20x"), ("ce-ext", "\"quoted \\\" value\""), ("ce-raw", "raw space")],
        required + [("ce-subject", "caf\u{E9}")],
        required + [("ce-subject", "%C0%A0")],
        required + [("ce-subject", "abcdefgh%4")],
        required + [("ce-subject", "\"unterminated")],
        required + [("ce-subject", "%07bell")],
        required + [("ce-subject", "")],
        // Duplicates, forbidden and missing headers, versions.
        required + [("ce-id", "2")],
        required + [("CE-ID", "1")],
        required + [("ce-ext", "1"), ("CE-EXT", "2")],
        required + [("ce-datacontenttype", "text/plain")],
        required + [("Content-Type", "text/plain"), ("content-type", "text/plain")],
        Array(required.dropFirst()),
        [("ce-specversion", "0.3"), ("ce-id", "1"), ("ce-source", "/s"), ("ce-type", "t"), ("ce-schemaurl", "x")],
        [("ce-specversion", "1.0.2"), ("ce-id", "1"), ("ce-source", "/s"), ("ce-type", "t")],
        [("ce-specversion", "%31.0"), ("ce-id", "1"), ("ce-source", "/s"), ("ce-type", "t")],
        [("ce-specversion", "1.0"), ("ce-source", "/s")],
        // Attribute rules.
        required + [("ce-time", "2018-04-05T17:31:00Z")],
        required + [("ce-time", "2018-04-05 17:31:00Z")],
        required + [("ce-time", "2018-04-05t17:31:00.1234567891z")],
        required + [("ce-dataschema", "https://e.com/s")],
        required + [("ce-dataschema", "relative")],
        required + [("ce-schemaurl", "relative"), ("ce-datacontentencoding", "base64")],
        required + [("ce-data", "reserved")],
        required + [("ce-bad_name", "x")],
        [("ce-specversion", "1.0"), ("ce-id", "1"), ("ce-source", "not a uri"), ("ce-type", "t")],
        // Content types: binary mode, structured and batched mode, odd characters.
        required + [("Content-Type", "application/json")],
        required + [("Content-Type", "APPLICATION/JSON")],
        required + [("Content-Type", "application/json; charset=utf-8")],
        required + [("Content-Type", "application/jsonx")],
        required + [("Content-Type", "application/json"), ("ce-time", "2018-04-05T17:31:60.000000001Z")],
        required + [("Content-Type", "text/plain; charset=utf-8")],
        required + [("Content-Type", "application/cloudevents+json")],
        required + [("Content-Type", "application/cloudevents-batch+json")],
        required + [("Content-Type", "application/cloudevents+avro")],
        required + [("Content-Type", "not a media type")],
        required + [("Content-Type", "text/plain; x=caf\u{E9}")]
    ])
    func binaryDecodeOfUnusualFieldsMatchesTheGeneralPath(pairs: [(String, String)]) {
        let fields = Self.fields(pairs)
        Self.expectSameDecoding(fields)
        Self.expectSameDecoding(fields, body: Array(#"{"k": "v"}"#.utf8))
        Self.expectSameDecoding(fields, body: Array("not json".utf8))
        Self.expectSameDecoding(fields, body: [0xFF])
    }

    @Test func typedExtensionsMatchTheGeneralPath() {
        let types: ExtensionTypes = ["count": .integer, "flag": .boolean, "at": .timestamp]
        Self.expectSameDecoding(Self.fields(Self.required + [("ce-count", "12"), ("ce-flag", "true")]), extensionTypes: types)
        Self.expectSameDecoding(Self.fields(Self.required + [("ce-count", "x")]), extensionTypes: types)
        Self.expectSameDecoding(Self.fields(Self.required + [("ce-at", "2020-01-01T00:00:00Z")]), extensionTypes: types)
    }

    @Test(arguments: [
        "ce-id", "ce-source", "ce-type", "ce-time", "ce-subject", "ce-specversion", "ce-dataschema", "ce-x",
        "content-type", "ce-datacontenttype", "x-id", "ce-idx", "ce-typ"
    ])
    func headerNamesAreClassifiedAsTheirCanonicalName(name: String) {
        let expected: BinaryModeHeader =
            switch name {
            case "ce-id": .id
            case "ce-source": .source
            case "ce-type": .type
            case "ce-time": .time
            case "ce-subject": .subject
            case "ce-specversion": .specVersion
            case "ce-dataschema": .dataSchema
            case "content-type": .contentType
            case "ce-datacontenttype": .dataContentType
            case "x-id": .other
            default: .extension(String(name.dropFirst(3)))
            }
        #expect(BinaryModeHeader(HTTPField.Name(name)!) == expected)
        #expect(BinaryModeHeader(HTTPField.Name(name.uppercased())!) == expected)
    }
}
