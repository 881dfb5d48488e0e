import CloudEvents
import CloudEventsConformance
import CloudEventsHTTP
import CloudEventsProtobuf
import HTTPTypes
import Testing

@Suite("HTTP mapping")
struct HTTPMappingTests {
    let event = CloudEvent(
        id: "A 234-1234-1234", source: "/mycontext/%20x", type: "com.example.someevent",
        dataContentType: "application/json", subject: "Euro € 😀 \"q\"",
        time: try! Timestamp(rfc3339: "2018-04-05T17:31:00Z"), extensions: ["comexampleextension1": "value"],
        data: .json(try! RawJSON(validating: #"{"a":1}"#)))

    static func fields(_ pairs: [(String, String)]) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value) in pairs { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        return fields
    }

    static func names(_ fields: HTTPFields) -> [String] { fields.map { $0.name.rawName } }

    // MARK: Wire shape

    @Test func binaryModeWireShape() throws {
        let (fields, body) = try event.httpFields(mode: .binary)
        #expect(
            Self.names(fields) == [
                "ce-specversion", "ce-id", "ce-source", "ce-type", "Content-Type", "ce-subject", "ce-time",
                "ce-comexampleextension1"
            ])
        #expect(fields[HTTPField.Name("ce-specversion")!] == "1.0")
        #expect(fields[HTTPField.Name("ce-id")!] == "A%20234-1234-1234")
        #expect(fields[HTTPField.Name("ce-source")!] == "/mycontext/%2520x")
        #expect(fields[HTTPField.Name("ce-subject")!] == "Euro%20%E2%82%AC%20%F0%9F%98%80%20%22q%22")
        #expect(fields[HTTPField.Name("ce-time")!] == "2018-04-05T17:31:00Z")
        #expect(fields[.contentType] == "application/json")
        #expect(fields[HTTPField.Name("ce-datacontenttype")!] == nil)
        #expect(body == Array(#"{"a":1}"#.utf8))
    }

    @Test func structuredJSONWireShape() throws {
        let (fields, body) = try event.httpFields(mode: .structured)
        #expect(Self.names(fields) == ["Content-Type"])
        #expect(fields[.contentType] == "application/cloudevents+json")
        #expect(try JSONEventFormat().decode(body) == event)
    }

    @Test func structuredProtobufWireShape() throws {
        let (fields, body) = try event.httpFields(mode: .structured, format: ProtobufEventFormat())
        #expect(Self.names(fields) == ["Content-Type"])
        #expect(fields[.contentType] == "application/cloudevents+protobuf")
        #expect(try ProtobufEventFormat().decode(body) == event)
    }

    @Test(arguments: [("json", "application/cloudevents-batch+json"), ("protobuf", "application/cloudevents-batch+protobuf")])
    func batchWireShape(formatName: String, mediaType: String) throws {
        let registry = EventFormatRegistry.standardWithProtobuf
        let format = try #require(registry.format(named: formatName))
        let other = CloudEvent(id: "2", source: "/s", type: "t")
        let (fields, body) = try Message(batch: [event, other], format: format).httpFields()
        #expect(Self.names(fields) == ["Content-Type"])
        #expect(fields[.contentType] == mediaType)
        let reader = try HTTPMessageReader(headerFields: fields, body: body, formats: registry)
        #expect(reader.contentMode == .batch)
        #expect(try reader.events(formats: registry) == [event, other])
    }

    @Test func emptyBatchIsAllowed() throws {
        let (fields, body) = try Message(batch: []).httpFields()
        #expect(try HTTPMessageReader(headerFields: fields, body: body).events() == [])
    }

    // MARK: Header values

    @Test(arguments: [
        ("with space", "with%20space"), ("\"quoted\"", "%22quoted%22"), ("100%", "100%25"),
        ("€", "%E2%82%AC"), ("😀", "%F0%9F%98%80"), ("a+b/c=d:e", "a+b/c=d:e")
    ])
    func headerValueEncodingBothWays(value: String, wire: String) throws {
        let event = CloudEvent(id: "1", source: "/s", type: "t", subject: value)
        let (fields, body) = try event.httpFields()
        #expect(fields[HTTPField.Name("ce-subject")!] == wire)
        let decoded = try HTTPMessageReader(headerFields: fields, body: body).event()
        #expect(decoded.subject == value)
    }

    @Test func lowercaseHexQuotedAndRawSpacesDecode() throws {
        let fields = Self.fields([
            ("ce-specversion", "1.0"), ("ce-id", "%e2%82%ac"), ("ce-source", "\"/a\\/b\""), ("ce-type", "raw space"),
            ("ce-subject", "\"quoted value\"")
        ])
        let decoded = try HTTPMessageReader(headerFields: fields, body: []).event()
        #expect(decoded.id == "€")
        #expect(decoded.source == "/a/b")
        #expect(decoded.subject == "quoted value")
        #expect(decoded.type == "raw space")
        #expect(decoded.data == nil)
    }

    @Test(arguments: ["%C0%A0", "%ED%A0%80", "%G1", "abc%", "%E2%82"])
    func invalidPercentEncodingIsATypedErrorNamingTheHeader(value: String) throws {
        let fields = Self.fields([("ce-specversion", "1.0"), ("ce-id", value), ("ce-source", "/s"), ("ce-type", "t")])
        let error = try #require(throws: MessageError.self) { try HTTPMessageReader(headerFields: fields, body: []).event() }
        guard case .invalidMessage(let text) = error.reason else {
            Issue.record("unexpected \(error)")
            return
        }
        #expect(text.contains("ce-id"))
    }

    // MARK: Receipt rules

    @Test func headerNamesAreCaseInsensitive() throws {
        let fields = Self.fields([("CE-SpecVersion", "1.0"), ("CE-ID", "x"), ("Ce-Source", "/s"), ("ce-TYPE", "t")])
        let decoded = try HTTPMessageReader(headerFields: fields, body: []).event()
        #expect(decoded == CloudEvent(id: "x", source: "/s", type: "t"))
    }

    @Test(arguments: [[("ce-id", "1"), ("ce-id", "2")], [("ce-ID", "1"), ("ce-id", "1")]])
    func duplicateHeadersAreRejected(duplicates: [(String, String)]) throws {
        let fields = Self.fields([("ce-specversion", "1.0"), ("ce-source", "/s"), ("ce-type", "t")] + duplicates)
        let error = try #require(throws: MessageError.self) { try HTTPMessageReader(headerFields: fields, body: []).event() }
        #expect(error.reason == .duplicateAttribute("id"))
    }

    @Test func ceDataContentTypeIsRejectedInBinaryMode() throws {
        let fields = Self.fields([
            ("ce-specversion", "1.0"), ("ce-id", "1"), ("ce-source", "/s"), ("ce-type", "t"),
            ("ce-datacontenttype", "text/plain")
        ])
        let error = try #require(throws: MessageError.self) { try HTTPMessageReader(headerFields: fields, body: []).event() }
        #expect(error.description.contains("ce-datacontenttype"))
    }

    @Test func binaryWithoutContentTypeAndEmptyBodyHasNoData() throws {
        let fields = Self.fields([("ce-specversion", "1.0"), ("ce-id", "1"), ("ce-source", "/s"), ("ce-type", "t")])
        let decoded = try HTTPMessageReader(headerFields: fields, body: []).event()
        #expect(decoded.data == nil)
        #expect(decoded.dataContentType == nil)
    }

    @Test func binaryWithoutContentTypeButWithBodyIsBinaryData() throws {
        let fields = Self.fields([("ce-specversion", "1.0"), ("ce-id", "1"), ("ce-source", "/s"), ("ce-type", "t")])
        let decoded = try HTTPMessageReader(headerFields: fields, body: [1, 2, 3]).event()
        #expect(decoded.data == .binary([1, 2, 3]))
        #expect(decoded.dataContentType == nil)
    }

    @Test func structuredModeBodyWinsOverCeHeaders() throws {
        var (fields, body) = try event.httpFields(mode: .structured)
        fields.append(HTTPField(name: HTTPField.Name("ce-id")!, value: "other"))
        fields.append(HTTPField(name: HTTPField.Name("ce-type")!, value: "other"))
        let reader = try HTTPMessageReader(headerFields: fields, body: body)
        #expect(reader.contentMode == .structured)
        #expect(try reader.event() == event)
        #expect(try reader.message().metadata["ce-id"] == nil)
    }

    @Test(arguments: [
        ("APPLICATION/CLOUDEVENTS+JSON", ContentMode.structured),
        ("Application/CloudEvents+Json; charset=UTF-8", .structured),
        ("application/CLOUDEVENTS-BATCH+json", .batch),
        ("application/cloudevents-batch+json; charset=utf-8", .batch),
        ("application/json", .binary),
        ("TEXT/PLAIN", .binary)
    ])
    func modeDetectionIsCaseInsensitive(contentType: String, mode: ContentMode) {
        #expect(HTTPMessageReader.detectMode(contentType: contentType) == mode)
    }

    @Test func upperCaseStructuredMediaTypeDecodes() throws {
        let (fields, body) = try event.httpFields(mode: .structured)
        var upper = fields
        upper[.contentType] = "Application/CloudEvents+JSON; Charset=UTF-8"
        #expect(try HTTPMessageReader(headerFields: upper, body: body).event() == event)
    }

    @Test func unknownStructuredFormatIsATypedError() throws {
        let fields = Self.fields([("Content-Type", "application/cloudevents+avro")])
        let error = try #require(throws: MessageError.self) { try HTTPMessageReader(headerFields: fields, body: [1]) }
        #expect(error.reason == .unsupportedFormat("application/cloudevents+avro"))
    }

    @Test(arguments: ["id", "source", "type"])
    func missingRequiredAttributeIsNamed(missing: String) throws {
        let all = [("ce-specversion", "1.0"), ("ce-id", "1"), ("ce-source", "/s"), ("ce-type", "t")]
        let fields = Self.fields(all.filter { $0.0 != "ce-" + missing })
        let error = try #require(throws: MessageError.self) { try HTTPMessageReader(headerFields: fields, body: []).event() }
        #expect(error.violations.map(\.attribute) == [missing])
    }

    @Test func missingSpecVersionIsNamed() throws {
        let fields = Self.fields([("ce-id", "1"), ("ce-source", "/s"), ("ce-type", "t")])
        let error = try #require(throws: MessageError.self) { try HTTPMessageReader(headerFields: fields, body: []).event() }
        #expect(error.reason == .missingSpecVersion)
        #expect(error.description.contains("specversion"))
    }

    @Test func otherHeadersBecomeTransportMetadata() throws {
        var (fields, body) = try event.httpFields()
        fields.append(HTTPField(name: HTTPField.Name("X-Trace")!, value: "abc"))
        let message = try HTTPMessageReader(headerFields: fields, body: body).message()
        #expect(message.metadata == ["x-trace": "abc"])
        guard case .binary(let attributes, _) = message.content else {
            Issue.record("not binary")
            return
        }
        #expect(!attributes.contains { $0.name == "x-trace" || $0.name == "trace" })
    }

    @Test func requestAndResponseConveniences() throws {
        let (request, requestBody) = try event.httpRequest(authority: "example.com", path: "/events", mode: .structured)
        #expect(request.method == .post)
        #expect(request.path == "/events")
        #expect(try CloudEvent(httpRequest: request, body: requestBody) == event)
        let (response, responseBody) = try event.httpResponse(status: .ok)
        #expect(response.status == .ok)
        #expect(try CloudEvent(httpResponse: response, body: responseBody) == event)
    }

    // MARK: Corpus round trips

    @Test(arguments: Corpus.events)
    func corpusRoundTripsInBinaryMode(_ testCase: Corpus.Case) throws {
        let (fields, body) = try testCase.event.httpFields(mode: .binary)
        let decoded = try HTTPMessageReader(headerFields: fields, body: body)
            .event(extensionTypes: Corpus.extensionTypes)
        #expect(Equivalence.headers.differences(testCase.event, decoded) == [])
    }

    @Test(arguments: Corpus.events)
    func corpusRoundTripsInStructuredJSON(_ testCase: Corpus.Case) throws {
        let (fields, body) = try testCase.event.httpFields(mode: .structured)
        let decoded = try HTTPMessageReader(headerFields: fields, body: body).event(extensionTypes: Corpus.extensionTypes)
        #expect(Equivalence.exact.differences(testCase.event, decoded) == [])
    }

    @Test(arguments: Corpus.events)
    func corpusRoundTripsInStructuredProtobuf(_ testCase: Corpus.Case) throws {
        let registry = EventFormatRegistry.standardWithProtobuf
        let (fields, body) = try testCase.event.httpFields(mode: .structured, format: ProtobufEventFormat())
        let decoded = try HTTPMessageReader(headerFields: fields, body: body, formats: registry)
            .event(formats: registry, extensionTypes: Corpus.extensionTypes)
        #expect(Equivalence.typedUTC.differences(testCase.event, decoded) == [])
    }
}
