import CloudEvents
import CloudEventsConformance
import Foundation
import Testing

private let format = JSONEventFormat()

private func decode(_ text: String) throws(EventFormatError) -> CloudEvent {
    try format.decode(Array(text.utf8))
}

private func encodeToString(_ event: CloudEvent) throws -> String {
    String(decoding: try format.encode(event), as: UTF8.self)
}

/// The prefix every test event shares.
private let head = #""specversion":"1.0","id":"1","source":"/s","type":"t""#

@Suite("JSON format: reading and writing data (REFERENCE 2.2)")
struct JSONDataTests {
    @Test func jsonObjectDataIsKeptAsRawText() throws {
        let event = try decode(#"{"# + head + #","datacontenttype":"application/json","data":{ "a" : [1, 2.50, "x"] }}"#)
        #expect(event.data == .json(try RawJSON(validating: #"{ "a" : [1, 2.50, "x"] }"#)))
        #expect(try encodeToString(event).hasSuffix(#""data":{ "a" : [1, 2.50, "x"] }}"#))
    }

    @Test func jsonStringStaysAString() throws {
        let event = try decode(#"{"# + head + #","datacontenttype":"application/json","data":"{\"a\":1}"}"#)
        #expect(event.data == .json(try RawJSON(validating: #""{\"a\":1}""#)))
        // In binary mode the body is the JSON text of the string, quotes included (edge 22).
        #expect(event.data?.bodyBytes(contentType: event.dataContentType) == Array(#""{\"a\":1}""#.utf8))
    }

    @Test(arguments: [
        "application/json", "APPLICATION/JSON", "application/json; charset=utf-8", "text/json",
        "application/cloudevents+json", "application/ld+json", "Application/Vnd.Example+JSON ; x=y"
    ])
    func jsonContentTypesKeepDataAsJSON(contentType: String) throws {
        let event = try decode(#"{"# + head + #","datacontenttype":"\#(contentType)","data":"text"}"#)
        #expect(event.data == .json(try RawJSON(validating: #""text""#)))
    }

    @Test func absentContentTypeMeansJSON() throws {
        let event = try decode(#"{"# + head + #","data":"I'm just a string"}"#)
        #expect(event.data == .json(try RawJSON(validating: #""I'm just a string""#)))
        #expect(event.dataContentType == nil)
    }

    @Test(arguments: ["text/plain", "application/xml", "application/json-seq", "TEXT/PLAIN; charset=utf-8"])
    func nonJSONContentTypesMakeDataText(contentType: String) throws {
        let event = try decode(#"{"# + head + #","datacontenttype":"\#(contentType)","data":"<much wow=\"xml\"/> \u20ac"}"#)
        #expect(event.data == .text(#"<much wow="xml"/> €"#))
        #expect(try encodeToString(event).hasSuffix(#""data":"<much wow=\"xml\"/> €"}"#))
    }

    @Test func nonJSONContentTypeWithNonStringDataIsKept() throws {
        let event = try decode(#"{"# + head + #","datacontenttype":"text/plain","data":{"a":1}}"#)
        #expect(event.data == .json(try RawJSON(validating: #"{"a":1}"#)))
    }

    @Test func dataBase64DecodesToBytes() throws {
        let event = try decode(#"{"# + head + #","data_base64":"eyAieHl6IjogMTIzIH0="}"#)
        #expect(event.data == .binary(Array(#"{ "xyz": 123 }"#.utf8)))
        #expect(event.dataContentType == nil)
        // Written back as data_base64, and no datacontenttype is added.
        #expect(try encodeToString(event) == #"{"# + head + #","data_base64":"eyAieHl6IjogMTIzIH0="}"#)
    }

    @Test func dataBase64WithJSONEscapesIsDecoded() throws {
        // `\u002B` is `+` and `\/` is `/`: sdk-go failed to decode these.
        let event = try decode(#"{"# + head + #","data_base64":"\u002B\/8="}"#)
        #expect(event.data == .binary([0xFB, 0xFF]))
    }

    @Test func emptyValuesArePresent() throws {
        #expect(try decode(#"{"# + head + #","data_base64":""}"#).data == .binary([]))
        #expect(try decode(#"{"# + head + #","data":""}"#).data == .json(try RawJSON(validating: #""""#)))
        #expect(try decode(#"{"# + head + #","datacontenttype":"text/plain","data":""}"#).data == .text(""))
    }

    @Test func nullDataIsExplicitNullAndAbsentDataIsNone() throws {
        #expect(try decode(#"{"# + head + #","data":null}"#).data == .json(.null))
        #expect(try decode(#"{"# + head + #"}"#).data == nil)
        #expect(try decode(#"{"# + head + #","data_base64":null}"#).data == nil)
    }

    @Test func binaryDataIsWrittenAsBase64() throws {
        let event = CloudEvent(id: "1", source: "/s", type: "t", dataContentType: "application/json", data: .binary([0xFB, 0xFF]))
        #expect(try encodeToString(event) == #"{"# + head + #","datacontenttype":"application/json","data_base64":"+/8="}"#)
    }

    @Test func v03DataContentEncodingBase64() throws {
        let text = #"{"specversion":"0.3","id":"1","source":"/s","type":"t","datacontentencoding":"base64","data":"aGVsbG8="}"#
        let event = try decode(text)
        #expect(event.data == .binary(Array("hello".utf8)))
        #expect(try encodeToString(event) == text)
        #expect(throws: EventFormatError.self) {
            try decode(#"{"specversion":"0.3","id":"1","source":"/s","type":"t","datacontentencoding":"gzip","data":"x"}"#)
        }
    }

    @Test func dataAndDataBase64TogetherAreRejected() {
        #expect(throws: EventFormatError(.dataAndDataBase64)) {
            try decode(#"{"# + head + #","data":1,"data_base64":"AA=="}"#)
        }
    }

    /// The spec's worked equivalences between JSON and HTTP-style binary mode (body and
    /// content type), checked through the message layer.
    @Test(arguments: [
        (#""datacontenttype":"application/json","data":{"a":1}"#, #"{"a":1}"#, "application/json" as String?),
        (#""datacontenttype":"application/json","data":1.5"#, "1.5", "application/json"),
        (#""data":"I'm just a string""#, #""I'm just a string""#, "application/json"),
        (#""datacontenttype":"application/xml","data":"<much wow=\"xml\"/>""#, #"<much wow="xml"/>"#, "application/xml"),
        (#""data_base64":"eyAieHl6IjogMTIzIH0=""#, #"{ "xyz": 123 }"#, nil)
    ])
    func workedEquivalences(members: String, body: String, contentType: String?) throws {
        let event = try decode(#"{"# + head + "," + members + "}")
        let message = try Message(event, mode: .binary)
        guard case .binary(let attributes, let data) = message.content else {
            Issue.record("expected a binary message")
            return
        }
        #expect(data == Array(body.utf8))
        #expect(attributes.first { $0.name == "datacontenttype" }?.value.canonicalString == contentType)
        // And back: the binary message decodes to an event whose JSON keeps the data's meaning.
        let back = try message.event()
        #expect(back.data?.bodyBytes(contentType: back.dataContentType) == Array(body.utf8))
    }

    @Test func thriftExampleTravelsAsRawBytes() throws {
        let event = try decode(#"{"# + head + #","datacontenttype":"application/vnd.apache.thrift.binary","data_base64":"AAEC"}"#)
        let message = try Message(event, mode: .binary)
        guard case .binary(_, let data) = message.content else {
            Issue.record("expected binary content, got \(message.content)")
            return
        }
        #expect(data == [0, 1, 2])
    }
}

@Suite("JSON format: attributes")
struct JSONAttributeTests {
    @Test func specversionMayComeLast() throws {
        let event = try decode(#"{"id":"1","source":"/s","type":"t","schemaurl":"x","specversion":"0.3"}"#)
        #expect(event.specVersion == .v0_3)
        #expect(event.dataSchema == "x")
        #expect(event.extensions.isEmpty)
    }

    @Test func versionSpecificNamesBecomeExtensions() throws {
        let v1 = try decode(#"{"# + head + #","schemaurl":"x","datacontentencoding":"base64"}"#)
        #expect(v1.dataSchema == nil)
        #expect(v1.extensions["schemaurl"] == "x")
        #expect(v1.extensions["datacontentencoding"] == "base64")
        let v03 = try decode(#"{"specversion":"0.3","id":"1","source":"/s","type":"t","dataschema":"x"}"#)
        #expect(v03.extensions["dataschema"] == "x")
    }

    @Test func extensionTypesAreInferredFromJSON() throws {
        let event = try decode(#"{"# + head + #","s":"5","i":5,"neg":-2147483648,"t":true,"f":false,"n":null}"#)
        #expect(event.extensions["s"] == .string("5"))
        #expect(event.extensions["i"] == .integer(5))
        #expect(event.extensions["neg"] == .integer(Int32.min))
        #expect(event.extensions["t"] == .boolean(true))
        #expect(event.extensions["f"] == .boolean(false))
        #expect(event.extensions["n"] == nil)
        #expect(event.extensions.count == 5)
    }

    @Test func nullOptionalAttributesAreAbsent() throws {
        let event = try decode(#"{"# + head + #","subject":null,"time":null,"datacontenttype":null,"dataschema":null}"#)
        #expect(event.subject == nil && event.time == nil && event.dataContentType == nil && event.dataSchema == nil)
    }

    @Test func escapedMemberNamesAreTheSameNames() throws {
        let event = try decode(#"{"specversion":"1.0","\u0069d":"1","source":"/s","type":"t"}"#)
        #expect(event.id == "1")
        #expect(throws: EventFormatError(.duplicateAttribute("id"))) {
            try decode(#"{"# + head + #","\u0069d":"2"}"#)
        }
    }

    /// JSON carries Boolean and Integer; other extension types come back as Strings unless
    /// registered (spec edge case 13).
    @Test func extensionsKeepTheirOrderAndTypesThroughJSON() throws {
        let typed = JSONEventFormat(extensionTypes: Corpus.extensionTypes)
        for item in Corpus.events {
            let bytes = try typed.encode(item.event)
            let back = try typed.decode(bytes)
            #expect(back == item.event, "\(item.name)")
            #expect(back.extensions.names == item.event.extensions.names, "\(item.name)")
            #expect(try format.encode(back) == bytes, "\(item.name): re-encoding changed the bytes")
            let untyped = try format.decode(bytes)
            #expect(Equivalence(extensionsByCanonicalString: true).differences(item.event, untyped).isEmpty, "\(item.name)")
        }
    }

    @Test func registeredExtensionTypesAreParsedAndChecked() throws {
        let typed = JSONEventFormat(extensionTypes: .documented)
        let event = try typed.decode(
            Array((#"{"# + head + #","expirytime":"2030-01-01T00:00:00Z","sampledrate":5,"dataref":"../x"}"#).utf8))
        #expect(event.extensions["expirytime"] == .timestamp(try Timestamp(rfc3339: "2030-01-01T00:00:00Z")))
        #expect(event.extensions["dataref"] == .uriReference("../x"))
        #expect(event.extensions["sampledrate"] == .integer(5))
        let error = try #require(throws: EventFormatError.self) {
            try typed.decode(Array((#"{"# + head + #","expirytime":"soon","sampledrate":true}"#).utf8))
        }
        #expect(Set(error.violations.map(\.attribute)) == ["expirytime", "sampledrate"])
    }

    @Test func encodesAttributesInCanonicalOrder() throws {
        var event = CloudEvent(id: "1", source: "/s", type: "t")
        event.extensions["zeta"] = .integer(-7)
        event.time = try Timestamp(rfc3339: "2018-04-05T17:31:00Z")
        event.subject = "x"
        event.extensions["bin"] = .binary([1])
        #expect(
            try encodeToString(event)
                == #"{"# + head + #","subject":"x","time":"2018-04-05T17:31:00Z","zeta":-7,"bin":"AQ=="}"#)
    }

    @Test func escapesStringsOnOutput() throws {
        let event = CloudEvent(
            id: "q\"b\\n", source: "/s", type: "€", dataContentType: "text/plain", data: .text("line\nt\u{1F}\r\t"))
        let text = try encodeToString(event)
        #expect(text.contains(#""id":"q\"b\\n""#))
        #expect(text.hasSuffix(#""data":"line\nt\u001f\r\t"}"#))
        #expect(try decode(text) == event)
    }
}

/// One invalid input and the exact error it must give.
struct InvalidJSONCase: Sendable, CustomStringConvertible {
    let json: String
    let check: @Sendable (EventFormatError) -> Bool
    let description: String

    init(_ description: String, _ json: String, _ check: @escaping @Sendable (EventFormatError) -> Bool) {
        self.description = description
        self.json = json
        self.check = check
    }

    static func violation(_ attribute: String, _ rule: AttributeRule) -> @Sendable (EventFormatError) -> Bool {
        { $0.violations.contains(Violation(attribute: attribute, rule: rule)) }
    }

    static func violation(_ attribute: String) -> @Sendable (EventFormatError) -> Bool {
        { $0.violations.contains { $0.attribute == attribute } }
    }
}

@Suite("JSON format: invalid input")
struct JSONInvalidInputTests {
    static let cases: [InvalidJSONCase] = [
        .init("missing id", #"{"specversion":"1.0","source":"/s","type":"t"}"#, InvalidJSONCase.violation("id", .missing)),
        .init("missing source", #"{"specversion":"1.0","id":"1","type":"t"}"#, InvalidJSONCase.violation("source", .missing)),
        .init("missing type", #"{"specversion":"1.0","id":"1","source":"/s"}"#, InvalidJSONCase.violation("type", .missing)),
        .init("null id", #"{"specversion":"1.0","id":null,"source":"/s","type":"t"}"#, InvalidJSONCase.violation("id", .missing)),
        .init("empty id", #"{"specversion":"1.0","id":"","source":"/s","type":"t"}"#, InvalidJSONCase.violation("id", .empty)),
        .init("missing specversion", #"{"id":"1","source":"/s","type":"t"}"#, { $0.reason == .missingSpecVersion }),
        .init(
            "null specversion", #"{"specversion":null,"id":"1","source":"/s","type":"t"}"#, { $0.reason == .missingSpecVersion }),
        .init(
            "unknown specversion", #"{"specversion":"1.1","id":"1","source":"/s","type":"t"}"#,
            { $0.reason == .unsupportedSpecVersion("1.1") }),
        .init(
            "numeric specversion", #"{"specversion":1.0,"id":"1","source":"/s","type":"t"}"#,
            InvalidJSONCase.violation("specversion")),
        .init(
            "numeric id", #"{"# + head.replacingOccurrences(of: #""id":"1""#, with: #""id":1"#) + "}",
            InvalidJSONCase.violation("id", .invalidJSONType(expected: "a JSON string", found: "number"))),
        .init(
            "boolean subject", #"{"# + head + #","subject":true}"#,
            InvalidJSONCase.violation("subject", .invalidJSONType(expected: "a JSON string", found: "boolean"))),
        .init("bad time", #"{"# + head + #","time":"2018-04-05T17:31:00"}"#, InvalidJSONCase.violation("time")),
        .init("numeric time", #"{"# + head + #","time":1522942260}"#, InvalidJSONCase.violation("time")),
        .init(
            "relative dataschema", #"{"# + head + #","dataschema":"schema.json"}"#,
            InvalidJSONCase.violation("dataschema", .invalidURI("schema.json"))),
        .init("empty subject", #"{"# + head + #","subject":""}"#, InvalidJSONCase.violation("subject", .empty)),
        .init("uppercase name", #"{"# + head + #","Ext":"x"}"#, InvalidJSONCase.violation("Ext", .invalidName)),
        .init("dash in name", #"{"# + head + #","my-ext":"x"}"#, InvalidJSONCase.violation("my-ext", .invalidName)),
        .init("empty name", #"{"# + head + #","":"x"}"#, InvalidJSONCase.violation("", .invalidName)),
        .init(
            "integer too large", #"{"# + head + #","big":2147483648}"#,
            InvalidJSONCase.violation("big", .integerOutOfRange("2147483648"))),
        .init(
            "integer too small", #"{"# + head + #","small":-2147483649}"#,
            InvalidJSONCase.violation("small", .integerOutOfRange("-2147483649"))),
        .init("fraction as integer", #"{"# + head + #","n":5.0}"#, InvalidJSONCase.violation("n", .invalidInteger("5.0"))),
        .init("exponent as integer", #"{"# + head + #","n":1e3}"#, InvalidJSONCase.violation("n", .invalidInteger("1e3"))),
        .init("object extension", #"{"# + head + #","o":{"a":1}}"#, InvalidJSONCase.violation("o")),
        .init("array extension", #"{"# + head + #","a":[1]}"#, InvalidJSONCase.violation("a")),
        .init(
            "invalid base64", #"{"# + head + #","data_base64":"not base64!"}"#,
            { if case .invalidData(let message) = $0.reason { message.contains("Base64") } else { false } }),
        .init(
            "unpadded base64", #"{"# + head + #","data_base64":"aGVsbG8"}"#,
            { if case .invalidData = $0.reason { true } else { false } }),
        .init(
            "numeric data_base64", #"{"# + head + #","data_base64":5}"#,
            { if case .invalidData = $0.reason { true } else { false } }),
        .init("data and data_base64", #"{"# + head + #","data":{},"data_base64":""}"#, { $0.reason == .dataAndDataBase64 }),
        .init("duplicate core member", #"{"# + head + #","type":"u"}"#, { $0.reason == .duplicateAttribute("type") }),
        .init("duplicate extension", #"{"# + head + #","x":1,"x":2}"#, { $0.reason == .duplicateAttribute("x") }),
        .init(
            "lone surrogate in attribute", #"{"# + head + #","x":"\uD800"}"#,
            InvalidJSONCase.violation("x", .invalidCharacter(scalar: 0xD800, reason: "lone surrogate"))),
        .init(
            "control character escape", #"{"# + head + #","x":"a\u0007"}"#,
            InvalidJSONCase.violation("x", .invalidCharacter(scalar: 7, reason: "control character"))),
        .init(
            "raw DEL", "{" + head + ",\"x\":\"a\u{7F}\"}",
            InvalidJSONCase.violation("x", .invalidCharacter(scalar: 0x7F, reason: "control character"))),
        .init(
            "noncharacter", "{" + head + ",\"x\":\"" + scalar(0xFDD0) + "\"}",
            InvalidJSONCase.violation("x", .invalidCharacter(scalar: 0xFDD0, reason: "noncharacter"))),
        .init("array instead of object", #"[1]"#, { if case .malformedJSON = $0.reason { true } else { false } }),
        .init(
            "trailing garbage", #"{"# + head + "} x",
            { if case .malformedJSON(let e) = $0.reason { e.reason == .trailingCharacters } else { false } }),
        .init(
            "v0.3 unsupported datacontentencoding",
            #"{"specversion":"0.3","id":"1","source":"/s","type":"t","datacontentencoding":"gzip","data":"x"}"#,
            InvalidJSONCase.violation("datacontentencoding", .unsupportedValue("gzip")))
    ]

    @Test(arguments: cases)
    func invalidInputGivesItsSpecificError(testCase: InvalidJSONCase) {
        do {
            let event = try decode(testCase.json)
            Issue.record("decoded \(event)")
        } catch {
            #expect(testCase.check(error), "got: \(error)")
            #expect(!error.description.isEmpty && !error.description.contains("\n"))
        }
    }

    @Test func reportsEveryViolationAtOnce() throws {
        let error = try #require(throws: EventFormatError.self) {
            try decode(#"{"specversion":"1.0","id":"","type":"t","time":"x","Bad":1,"n":1.5}"#)
        }
        #expect(Set(error.violations.map(\.attribute)) == ["id", "source", "time", "Bad", "n"])
    }

    /// Malformed JSON at every position: every prefix of a valid event fails with a syntax
    /// error located within the input, and never crashes.
    @Test func everyTruncationIsASyntaxError() throws {
        let valid = Array(
            (#"{"# + head + #","time":"2018-04-05T17:31:00Z","x":[1],"data":{"a":[1,2.5e-3,"\u20ac",true,null]}}"#)
                .replacingOccurrences(of: #","x":[1]"#, with: "").utf8)
        #expect(throws: Never.self) { try format.decode(valid) }
        for length in 0..<valid.count {
            let error = try #require(throws: EventFormatError.self) { try format.decode(Array(valid[..<length])) }
            guard case .malformedJSON(let syntax) = error.reason else {
                Issue.record("prefix \(length): expected a syntax error, got \(error)")
                continue
            }
            #expect(syntax.offset <= length)
        }
    }

    /// Malformed JSON at every position: replacing any structural byte with `@` fails with
    /// a syntax error at that byte.
    @Test func everyCorruptedStructuralByteIsLocated() throws {
        let valid = Array((#"{"# + head + #","data":{"a":[1,true]}}"#).utf8)
        // Not quotes: a corrupted quote legitimately fails later, where the string ends.
        for (index, byte) in valid.enumerated() where "{}[]:,".utf8.contains(byte) {
            var corrupted = valid
            corrupted[index] = UInt8(ascii: "@")
            let error = try #require(throws: EventFormatError.self) { try format.decode(corrupted) }
            guard case .malformedJSON(let syntax) = error.reason else {
                Issue.record("byte \(index): expected a syntax error, got \(error)")
                continue
            }
            #expect(syntax.offset == index, "byte \(index): \(syntax)")
        }
    }

    @Test(
        arguments: [
            ([0xC0, 0xA0], "overlong"), ([0xED, 0xA0, 0x80], "encoded surrogate"), ([0xFF], "invalid byte"),
            ([0xE2, 0x82], "truncated"), ([0xF4, 0x90, 0x80, 0x80], "above U+10FFFF")
        ] as [([UInt8], String)])
    func invalidUTF8IsRejected(bytes: [UInt8], label: String) throws {
        for member in ["subject", "data"] {
            let json = Array(#"{"#.utf8) + Array(head.utf8) + Array(#","\#(member)":""#.utf8) + bytes + Array(#""}"#.utf8)
            let error = try #require(throws: EventFormatError.self, "\(label) in \(member)") { try format.decode(json) }
            #expect(error.reason == .malformedJSON(JSONSyntaxError(.invalidUTF8, at: json.count - 2 - bytes.count)))
        }
    }

    @Test func deepNestingIsRefusedNotACrash() throws {
        let depth = 100_000
        let json = #"{"# + head + #","data":"# + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}"
        let error = try #require(throws: EventFormatError.self) { try decode(json) }
        guard case .malformedJSON(let syntax) = error.reason else {
            Issue.record("expected malformed JSON, got \(error)")
            return
        }
        #expect(syntax.reason == .tooDeeplyNested)
        // 512 levels are fine.
        let ok = #"{"# + head + #","data":"# + String(repeating: "[", count: 511) + String(repeating: "]", count: 511) + "}"
        #expect(throws: Never.self) { try decode(ok) }
    }

    @Test func encoderRefusesInvalidEvents() {
        let event = CloudEvent(id: "", source: "/s", type: "t")
        #expect(throws: EventFormatError.self) { try format.encode(event) }
    }
}

@Suite("JSON batch format")
struct JSONBatchTests {
    @Test(arguments: [0, 1, 17])
    func batchRoundTrips(count: Int) throws {
        let v1 = Corpus.events.filter { $0.event.specVersion == .v1_0 }
        let events = (0..<count).map { v1[$0 % v1.count].event }
        let typed = JSONEventFormat(extensionTypes: Corpus.extensionTypes)
        let bytes = try typed.encodeBatch(events)
        #expect(try typed.decodeBatch(bytes) == events)
        if count == 0 { #expect(bytes == Array("[]".utf8)) }
    }

    @Test func emptyBatchWithWhitespace() throws {
        #expect(try format.decodeBatch(Array(" [ ] ".utf8)).isEmpty)
    }

    @Test func mixedSpecVersionsAreRejected() throws {
        let v1 = CloudEvent(id: "1", source: "/s", type: "t")
        let v03 = CloudEvent(id: "2", source: "/s", type: "t", specVersion: .v0_3)
        #expect(throws: EventFormatError(.mixedSpecVersions(first: .v1_0, other: .v0_3), batchIndex: 1)) {
            try format.encodeBatch([v1, v03])
        }
        let text =
            "[" + String(decoding: try format.encode(v1), as: UTF8.self) + ","
            + String(decoding: try format.encode(v03), as: UTF8.self) + "]"
        #expect(throws: EventFormatError(.mixedSpecVersions(first: .v1_0, other: .v0_3), batchIndex: 1)) {
            try format.decodeBatch(Array(text.utf8))
        }
    }

    @Test func errorsNameTheEventsIndex() throws {
        let text = "[{" + head + "},{" + head + #","time":"nope"}]"#
        let error = try #require(throws: EventFormatError.self) { try format.decodeBatch(Array(text.utf8)) }
        #expect(error.batchIndex == 1)
        #expect(error.description.hasPrefix("event 1 of the batch: attribute 'time'"))
        let notArray = try #require(throws: EventFormatError.self) { try format.decodeBatch(Array(("{" + head + "}").utf8)) }
        #expect(notArray.description.contains("must be a JSON array"))
    }
}

@Suite("JSON decoders under random input")
struct JSONFuzzTests {
    /// Mutates valid encodings (bit flips, truncations, insertions, splices) with a fixed
    /// seed; every input must decode or throw EventFormatError, and whatever decodes must
    /// encode again.
    @Test func mutatedEventsNeverCrash() throws {
        var random = SeededRandom(seed: 0xCE_2026)
        let seeds = try Corpus.events.map { try format.encode($0.event) }
        var decoded = 0
        for round in 0..<20_000 {
            var bytes = seeds[round % seeds.count]
            for _ in 0..<(1 + Int(random.next() % 4)) {
                let position = bytes.isEmpty ? 0 : Int(random.next() % UInt64(bytes.count))
                switch random.next() % 5 {
                case 0: if !bytes.isEmpty { bytes[position] ^= UInt8(1 << (random.next() % 8)) }
                case 1: bytes = Array(bytes[..<position])
                case 2:
                    let pool = Array(#"{}[],:"\0-e.9aZ"#.utf8)
                    bytes.insert(pool[Int(random.next() % UInt64(pool.count))], at: position)
                case 3: if !bytes.isEmpty { bytes.remove(at: position) }
                default: bytes[position...].reverse()
                }
            }
            do {
                let event = try format.decode(bytes)
                decoded += 1
                _ = try format.encode(event)
            } catch {
                #expect(!error.description.isEmpty)
            }
            do { _ = try format.decodeBatch(bytes) } catch {
                #expect(!error.description.isEmpty)
            }
        }
        #expect(decoded > 0)
    }
}
