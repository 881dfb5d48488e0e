import CloudEvents
import CloudEventsNATS
import CloudEventsProtobuf
import Testing

/// Reading NATS messages: mode detection, header names in any case, duplicates, values that
/// do not decode, data, metadata; each rule through the event path (which has a fast path)
/// and through the protocol-independent message.
@Suite struct MappingReadTests {
    static func headers(_ pairs: [(String, String)]) -> NATSHeaders {
        NATSHeaders(pairs.map { NATSHeaders.Field(name: $0.0, value: $0.1) })
    }

    static let core: [(String, String)] = [("ce-specversion", "1.0"), ("ce-id", "1"), ("ce-source", "/s"), ("ce-type", "t")]

    /// Decodes `message` both ways, expecting the same outcome.
    static func decode(_ message: NATSMessage, formats: EventFormatRegistry = .standard) throws -> CloudEvent {
        let reader = NATSMessageReader(message)
        let viaMessage = Result { try reader.message().event(formats: formats) }
        let direct = Result { try reader.event(formats: formats) }
        switch (direct, viaMessage) {
        case (.success(let event), .success(let same)):
            #expect(event == same, "both ways decode the same event")
            return event
        case (.failure(let error), .failure(let same)):
            #expect("\(error)" == "\(same)", "both ways report the same error")
            throw error
        default:
            Issue.record("direct: \(direct); via Message: \(viaMessage)")
            return try direct.get()
        }
    }

    @Test func headerNamesAreReadInAnyCase() throws {
        let message = NATSMessage(
            subject: "s",
            headers: Self.headers([
                ("CE-SPECVERSION", "1.0"), ("Ce-Id", "1"), ("ce-SOURCE", "/s"), ("cE-type", "t"),
                ("CE-DataContentType", "text/plain"),
                ("CE-MyExt", "v")
            ]), payload: Array("hi".utf8))
        #expect(NATSMessageReader.detectMode(message) == .binary)
        let event = try Self.decode(message)
        #expect(event.id == "1")
        #expect(event.dataContentType == "text/plain")
        #expect(event.extensions["myext"] == "v", "the name after ce- is lowercased")
        #expect(event.data == .text("hi"))
    }

    @Test(arguments: [("ce-ID", "ce-id"), ("ce-id", "CE-ID"), ("ce-ext", "CE-Ext"), ("ce-datacontenttype", "CE-DATACONTENTTYPE")])
    func theSameAttributeTwiceInAnyCaseIsRefused(first: String, second: String) {
        let attribute = String(second.dropFirst(3)).lowercased()
        let message = NATSMessage(
            subject: "s", headers: Self.headers(Self.core.filter { $0.0 != "ce-id" } + [(first, "1"), (second, "2")]))
        #expect(throws: MessageError(.duplicateAttribute(attribute))) { try Self.decode(message) }
        #expect(throws: MessageError(.duplicateAttribute(attribute))) { try NATSMessageReader(message).message() }
    }

    @Test func aValueThatIsNotUTF8IsRefusedNamingTheHeader() {
        var headers = Self.headers(Self.core)
        headers.fields.append(NATSHeaders.Field(name: "ce-Bad", value: [0x61, 0xFF]))
        let message = NATSMessage(subject: "s", headers: headers)
        #expect {
            try Self.decode(message)
        } throws: { error in
            "\(error)".contains("'ce-Bad'") && "\(error)".contains("UTF-8")
        }
        // Percent-decoded bytes that are not UTF-8 (an encoded surrogate, an overlong form) too.
        for value in ["%ED%A0%80", "%C0%A0"] {
            let encoded = NATSMessage(subject: "s", headers: Self.headers(Self.core + [("ce-x", value)]))
            #expect(throws: MessageError.self, "\(value)") { try Self.decode(encoded) }
        }
        // A foreign header whose value is not UTF-8 is no error: it is left out of the metadata.
        var foreign = Self.headers(Self.core)
        foreign.fields.append(NATSHeaders.Field(name: "x-raw", value: [0xFF]))
        let reader = NATSMessageReader(NATSMessage(subject: "s", headers: foreign))
        #expect(throws: Never.self) { try reader.event() }
        #expect(reader.metadata["x-raw"] == nil)
    }

    @Test(arguments: ["%G1", "abc%", "%2", "\"unterminated"])
    func aMalformedValueIsRefusedNamingTheHeader(value: String) {
        let message = NATSMessage(subject: "s", headers: Self.headers(Self.core + [("ce-subject", value)]))
        #expect {
            try Self.decode(message)
        } throws: { error in
            "\(error)".contains("'ce-subject'")
        }
    }

    @Test func valuesArePercentDecodedExactlyOnce() throws {
        let message = NATSMessage(
            subject: "s",
            headers: Self.headers([
                ("ce-specversion", "1.0"), ("ce-id", "%e2%82%ac"), ("ce-source", "/a%2520b"), ("ce-type", "\"quoted t\""),
                ("ce-subject", "Euro%20%E2%82%AC%20%F0%9F%98%80"), ("ce-plus", "a+b")
            ]))
        let event = try Self.decode(message)
        #expect(event.id == "€")
        #expect(event.source == "/a%20b")
        #expect(event.type == "quoted t")
        #expect(event.subject == "Euro € 😀")
        #expect(event.extensions["plus"] == "a+b", "+ is not a space")
    }

    @Test func aMessageWithoutHeadersIsStructuredJSON() throws {
        let json = #"{"specversion":"1.0","id":"1","source":"/s","type":"t","data":{"a":1}}"#
        let message = NATSMessage(subject: "s", payload: Array(json.utf8))
        #expect(NATSMessageReader.detectMode(message) == .structured)
        #expect(NATSMessageReader(message).structuredContent?.mediaType == "application/cloudevents+json")
        let event = try Self.decode(message)
        #expect(event.id == "1")
        #expect(event.data == .json(try RawJSON(validating: #"{"a":1}"#)))
        // Not JSON: a clear format error, not a crash.
        #expect(throws: MessageError.self) { try Self.decode(NATSMessage(subject: "s", payload: [0xFF, 0x00])) }
        // Empty headers are headers: binary (and this message has no attributes).
        #expect(NATSMessageReader.detectMode(NATSMessage(subject: "s", headers: NATSHeaders())) == .binary)
    }

    @Test(arguments: ["application/cloudevents+protobuf", "APPLICATION/CloudEvents+Protobuf", " application/cloudevents+protobuf"]
    )
    func structuredProtobufIsDecodedWithTheFormatItsContentTypeNames(contentType: String) throws {
        let event = CloudEvent(id: "1", source: "/s", type: "t", data: .binary([1, 2]))
        let message = NATSMessage(
            subject: "s", headers: Self.headers([("content-type", contentType)] + Self.core.map { ($0.0, "ignored") }),
            payload: try ProtobufEventFormat().encode(event))
        #expect(NATSMessageReader.detectMode(message) == .structured)
        let formats = EventFormatRegistry.standard.adding(ProtobufEventFormat())
        #expect(try Self.decode(message, formats: formats) == event, "the payload wins over ce- headers")
        #expect(NATSMessageReader(message).metadata.keys.sorted() == [":subject"], "no ce- or Content-Type metadata")
    }

    @Test func anUnknownStructuredFormatIsAClearError() throws {
        let message = NATSMessage(
            subject: "s", headers: Self.headers([("Content-Type", "application/cloudevents+avro")]), payload: [0])
        #expect(throws: MessageError(.unsupportedFormat("application/cloudevents+avro"))) { try Self.decode(message) }
        // The message itself can still be forwarded as it is.
        #expect(try NATSMessageReader(message).message().structuredContent?.mediaType == "application/cloudevents+avro")
    }

    @Test(arguments: ["application/cloudevents-batch+json", "Application/CloudEvents-Batch+JSON; charset=utf-8"])
    func aBatchContentTypeIsRefused(contentType: String) {
        let message = NATSMessage(subject: "s", headers: Self.headers([("Content-Type", contentType)]), payload: Array("[]".utf8))
        #expect(NATSMessageReader.detectMode(message) == .structured)
        #expect(throws: MessageError(.batchNotSupported)) { try NATSMessageReader(message).event() }
        #expect(throws: MessageError(.batchNotSupported)) { try NATSMessageReader(message).message() }
    }

    @Test func emptyPayloadIsNoDataWithoutDataContentTypeAndEmptyDataWithIt() throws {
        let none = NATSMessage(subject: "s", headers: Self.headers(Self.core))
        #expect(try Self.decode(none).data == nil)
        let empty = NATSMessage(subject: "s", headers: Self.headers(Self.core + [("ce-datacontenttype", "text/plain")]))
        #expect(try Self.decode(empty).data == .text(""))
        let bytes = NATSMessage(subject: "s", headers: Self.headers(Self.core), payload: [0, 1])
        #expect(try Self.decode(bytes).data == .binary([0, 1]))
    }

    @Test func aBinaryContentTypeHeaderIsNotAnAttributeButMetadata() throws {
        let message = NATSMessage(
            subject: "s", headers: Self.headers(Self.core + [("Content-Type", "text/plain")]), payload: Array("x".utf8))
        #expect(NATSMessageReader.detectMode(message) == .binary)
        let event = try Self.decode(message)
        #expect(event.dataContentType == nil)
        #expect(event.data == .binary(Array("x".utf8)))
        #expect(NATSMessageReader(message).metadata["content-type"] == "text/plain")
    }

    @Test func metadataHoldsSubjectReplyAndForeignHeadersLowercased() throws {
        var headers = Self.headers(
            Self.core + [
                ("Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"), ("tracestate", "a=1"),
                ("X-App", "1"), ("x-app", "2"), ("ce-", "not an attribute")
            ])
        headers.status = 503
        headers.statusDescription = "No Responders"
        let message = NATSMessage(subject: "orders.new", replyTo: "_INBOX.a.b", headers: headers)
        let expected = [
            ":subject": "orders.new", ":reply": "_INBOX.a.b",
            "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate": "a=1", "x-app": "1, 2",
            "ce-": "not an attribute"
        ]
        #expect(NATSMessageReader(message).metadata == expected)
        #expect(try NATSMessageReader(message).message().metadata == expected)
        #expect(NATSMessageReader.MetadataKey.subject == ":subject")
        #expect(NATSMessageReader.MetadataKey.replyTo == ":reply")
        let noReply = NATSMessage(subject: "s", payload: Array(#"{}"#.utf8))
        #expect(NATSMessageReader(noReply).metadata == [":subject": "s"])
    }

    @Test func missingAndInvalidAttributesAreNamed() {
        #expect(throws: MessageError(.missingSpecVersion)) {
            try Self.decode(NATSMessage(subject: "s", headers: Self.headers([("ce-id", "1")])))
        }
        #expect(throws: MessageError(.unsupportedSpecVersion("2.0"))) {
            try Self.decode(NATSMessage(subject: "s", headers: Self.headers([("ce-specversion", "2.0")])))
        }
        let badTime = NATSMessage(subject: "s", headers: Self.headers(Self.core + [("ce-time", "yesterday")]))
        #expect {
            try Self.decode(badTime)
        } throws: { error in
            (error as? MessageError)?.violations.contains { $0.attribute == "time" } == true
        }
        let noType = NATSMessage(subject: "s", headers: Self.headers(Array(Self.core.prefix(3))))
        #expect {
            try Self.decode(noType)
        } throws: { error in
            (error as? MessageError)?.violations.contains { $0.attribute == "type" } == true
        }
    }

    @Test func extensionTypesApplyToHeaderStrings() throws {
        let message = NATSMessage(subject: "s", headers: Self.headers(Self.core + [("ce-n", "5"), ("ce-flag", "true")]))
        let types = ExtensionTypes(["n": .integer, "flag": .boolean])
        let event = try NATSMessageReader(message).event(extensionTypes: types)
        #expect(event.extensions["n"] == .integer(5))
        #expect(event.extensions["flag"] == .boolean(true))
        #expect(try NATSMessageReader(message).message().event(extensionTypes: types) == event)
        let wrong = NATSMessage(subject: "s", headers: Self.headers(Self.core + [("ce-n", "five")]))
        #expect(throws: MessageError.self) { try NATSMessageReader(wrong).event(extensionTypes: types) }
    }

    @Test func atMostMaximumAttributeCountAttributeHeadersAreRead() throws {
        let limit = NATSMessageReader.maximumAttributeCount
        #expect(limit == 1024)
        let extensions = (0..<(limit - Self.core.count)).map { ("ce-x\($0)", "v") }
        let full = NATSMessage(subject: "s", headers: Self.headers(Self.core + extensions + [("x-foreign", "f")]))
        #expect(try Self.decode(full).extensions.count == limit - Self.core.count)
        #expect(try NATSMessageReader(full).message().metadata["x-foreign"] == "f")
        let over = NATSMessage(subject: "s", headers: Self.headers(Self.core + extensions + [("CE-ONEMORE", "v")]))
        #expect {
            try Self.decode(over)
        } throws: { error in
            "\(error)".contains("more than 1024 attribute headers")
        }
        #expect(throws: MessageError.self) { try NATSMessageReader(over).message() }
        // However many, the answer comes at once: the count is checked as the headers are read.
        let flood = NATSMessage(
            subject: "s", headers: Self.headers(Self.core + (0..<50_000).map { ("ce-y\($0)", "v") } + [("ce-time", "x")]))
        #expect(throws: MessageError.self) { try Self.decode(flood) }
    }

    @Test func aForeignHeaderRepeatedManyTimesIsJoinedInOrder() throws {
        let repeated = (0..<20_000).map { ("X-Rep", "\($0)") }
        let reader = NATSMessageReader(NATSMessage(subject: "s", headers: Self.headers(Self.core + repeated)))
        let expected = (0..<20_000).map(String.init).joined(separator: ", ")
        #expect(reader.metadata["x-rep"] == expected)
        #expect(try reader.message().metadata["x-rep"] == expected)
    }

    @Test func specVersion03TakesTheGeneralPath() throws {
        let message = NATSMessage(
            subject: "s",
            headers: Self.headers([
                ("ce-specversion", "0.3"), ("ce-id", "1"), ("ce-source", "/s"), ("ce-type", "t"), ("ce-schemaurl", "/x")
            ]))
        let event = try Self.decode(message)
        #expect(event.specVersion == .v0_3)
        #expect(event.dataSchema == "/x")
    }
}
