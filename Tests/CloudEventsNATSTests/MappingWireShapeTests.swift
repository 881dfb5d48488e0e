import CloudEvents
import CloudEventsNATS
import CloudEventsProtobuf
import Testing

/// What the NATS mapping writes, checked against REFERENCE §3.4 (not only by reading it
/// back): exact lowercase `ce-` names, `ce-datacontenttype` and no `Content-Type` in binary
/// mode, HTTP's percent-encoding, `Content-Type` and the encoded event in structured mode.
@Suite struct MappingWireShapeTests {
    static let event: CloudEvent = {
        var event = CloudEvent(id: "A234-1234-1234", source: "/a%20b", type: "com.example.sample")
        event.time = try! Timestamp(rfc3339: "2018-04-05T19:31:00.123+02:00")
        event.subject = "grüße ✓ \"q\" 100%"
        event.dataSchema = "https://example.com/schema"
        event.dataContentType = "application/json; charset=utf-8"
        event.extensions = ["flag": true, "n": -5, "bin": .binary([1, 2, 0xFF]), "note": "a b:c+/="]
        event.data = .json(try! RawJSON(validating: #"{"a":1}"#))
        return event
    }()

    /// The headers as `name: value` text lines, in order.
    static func lines(_ message: NATSMessage) -> [String] {
        (message.headers ?? NATSHeaders()).map { "\($0.name): \(String(decoding: $0.value, as: UTF8.self))" }
    }

    static let expectedBinaryLines = [
        "ce-specversion: 1.0",
        "ce-id: A234-1234-1234",
        "ce-source: /a%2520b",
        "ce-type: com.example.sample",
        "ce-datacontenttype: application/json;%20charset=utf-8",
        "ce-dataschema: https://example.com/schema",
        "ce-subject: gr%C3%BC%C3%9Fe%20%E2%9C%93%20%22q%22%20100%25",
        "ce-time: 2018-04-05T19:31:00.123+02:00",
        "ce-flag: true",
        "ce-n: -5",
        "ce-bin: AQL/",
        "ce-note: a%20b:c+/="
    ]

    @Test func binaryModeWritesEveryAttributeAsALowercaseCEHeader() throws {
        let message = try NATSMessage(subject: "orders.new", event: Self.event)
        #expect(message.subject == "orders.new")
        #expect(message.replyTo == nil)
        #expect(Self.lines(message) == Self.expectedBinaryLines)
        #expect(message.headers?["content-type"] == nil, "no Content-Type in binary mode")
        #expect(message.headers?.status == nil)
        #expect(message.payload == Array(#"{"a":1}"#.utf8))
    }

    @Test func theWriterAndTheFastPathWriteTheSameHeaders() throws {
        var writer = NATSMessageWriter(subject: "s", replyTo: "r")
        try Self.event.write(to: &writer, mode: .binary)
        #expect(Self.lines(writer.natsMessage) == Self.expectedBinaryLines)
        #expect(writer.natsMessage.replyTo == "r")
        #expect(writer.natsMessage == (try NATSMessage(subject: "s", replyTo: "r", event: Self.event)))
        // Through the protocol-independent message too.
        let viaMessage = try NATSMessage(subject: "s", replyTo: "r", message: try Message(Self.event))
        #expect(viaMessage == writer.natsMessage)
    }

    @Test func impliedJSONContentTypeIsWrittenAndNoDataIsAnEmptyPayload() throws {
        var event = CloudEvent(id: "1", source: "/s", type: "t")
        let bare = try NATSMessage(subject: "s", event: event)
        #expect(Self.lines(bare) == ["ce-specversion: 1.0", "ce-id: 1", "ce-source: /s", "ce-type: t"])
        #expect(bare.payload.isEmpty)
        event.data = .json(try RawJSON(validating: "[1]"))
        let json = try NATSMessage(subject: "s", event: event)
        #expect(Self.lines(json).last == "ce-datacontenttype: application/json")
        #expect(json.payload == Array("[1]".utf8))
        event.data = .binary([0, 1])
        let binary = try NATSMessage(subject: "s", event: event)
        #expect(binary.headers?["ce-datacontenttype"] == nil, "data_base64-only data gets no content type")
        #expect(binary.payload == [0, 1])
    }

    @Test func nonASCIIAndEscapesArePercentEncodedExactlyAsHTTP() throws {
        var event = CloudEvent(id: "€ 1", source: "/s", type: "t")
        event.extensions["quote"] = "\"x\""
        event.extensions["pct"] = "%20"
        event.extensions["nbsp"] = "a\u{A0}é"
        let message = try NATSMessage(subject: "s", event: event)
        #expect(message.headers?["ce-id"] == "%E2%82%AC%201")
        #expect(message.headers?["ce-quote"] == "%22x%22")
        #expect(message.headers?["ce-pct"] == "%2520")
        #expect(message.headers?["ce-nbsp"] == "a%C2%A0%C3%A9")
        for field in message.headers ?? NATSHeaders() {
            #expect(field.value.allSatisfy { $0 > 0x20 && $0 < 0x7F }, "\(field.name) is printable ASCII without spaces")
        }
    }

    @Test(arguments: [false, true])
    func structuredModeWritesOneContentTypeAndTheEncodedEvent(protobuf: Bool) throws {
        let format: any EventFormat = protobuf ? ProtobufEventFormat() : JSONEventFormat()
        let message = try NATSMessage(subject: "s", event: Self.event, mode: .structured, format: format)
        let expectedType = protobuf ? "application/cloudevents+protobuf" : "application/cloudevents+json"
        #expect(Self.lines(message) == ["Content-Type: \(expectedType)"])
        #expect(message.payload == (try format.encode(Self.event)))
    }

    @Test func aServerWithoutHeadersGetsStructuredJSONWithoutHeaders() throws {
        let message = try NATSMessage(subject: "s", event: Self.event, mode: .structured, serverSupportsHeaders: false)
        #expect(message.headers == nil)
        #expect(message.payload == (try JSONEventFormat().encode(Self.event)))
        #expect(throws: MessageError.self) {
            try NATSMessage(subject: "s", event: Self.event, mode: .binary, serverSupportsHeaders: false)
        }
        #expect(throws: MessageError.self) {
            try NATSMessage(
                subject: "s", event: Self.event, mode: .structured, format: ProtobufEventFormat(), serverSupportsHeaders: false)
        }
        // A binary Message is transcoded to structured JSON for such a server.
        let transcoded = try NATSMessage(subject: "s", message: try Message(Self.event), serverSupportsHeaders: false)
        #expect(transcoded.headers == nil)
        #expect(try CloudEvent(natsMessage: transcoded) == (try JSONEventFormat().decode(transcoded.payload)))
    }

    @Test func batchIsRefusedBecauseNATSHasNoBatchMode() throws {
        #expect(throws: MessageError(.batchNotSupported)) { try NATSMessage(subject: "s", event: Self.event, mode: .batch) }
        let batch = try Message(batch: [Self.event])
        #expect(throws: MessageError(.batchNotSupported)) { try NATSMessage(subject: "s", message: batch) }
        var writer = NATSMessageWriter(subject: "s")
        #expect(throws: MessageError(.batchNotSupported)) {
            try writer.writeBatch(StructuredContent(mediaType: "application/cloudevents-batch+json", body: []))
        }
        #expect(MessageError(.batchNotSupported).description.contains("no batch mode"))
    }

    @Test func theWriterRefusesDuplicatesAndNamesThatCannotBeHeaderNames() throws {
        var writer = NATSMessageWriter(subject: "s")
        try writer.writeAttribute("id", .string("1"))
        #expect(throws: MessageError(.duplicateAttribute("ID"))) { try writer.writeAttribute("ID", .string("2")) }
        for name in ["", "a b", "a:b", "é", "a\r\nb"] {
            #expect(throws: MessageError.self, "\(name.debugDescription)") { try writer.writeAttribute(name, .string("x")) }
        }
        try writer.writeAttribute("Ext", .string("x"))
        #expect(Self.lines(writer.natsMessage) == ["ce-id: 1", "ce-ext: x"], "always written lowercase")
        // Past the linear search's reach, a duplicate is still found.
        var many = NATSMessageWriter(subject: "s")
        for index in 0..<100 { try many.writeAttribute("x\(index)", .string("v")) }
        #expect(throws: MessageError(.duplicateAttribute("x7"))) { try many.writeAttribute("x7", .string("w")) }
        #expect(throws: MessageError(.duplicateAttribute("X99"))) { try many.writeAttribute("X99", .string("w")) }
        try many.writeAttribute("x100", .string("v"))
        #expect(many.natsMessage.headers?.count == 101)
        var structured = NATSMessageWriter(subject: "s")
        #expect(throws: MessageError.self) {
            try structured.writeStructured(StructuredContent(mediaType: "application/cloudevents+json\r\nX: y", body: []))
        }
    }

    @Test func traceContextFromMetadataBecomesHeaders() throws {
        var message = try Message(Self.event)
        message.metadata = [
            "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate": "a=1",
            "other": "stays behind", ":subject": "old"
        ]
        let nats = try NATSMessage(subject: "s", message: message)
        #expect(
            Self.lines(nats).suffix(2) == [
                "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate: a=1"
            ])
        #expect(nats.headers?["other"] == nil)
        #expect(nats.subject == "s")
        // Structured too; a value that would break the header block is left out.
        var structured = try Message(Self.event, mode: .structured)
        structured.metadata = ["traceparent": "x\r\nce-id: evil", "tracestate": "b=2"]
        let structuredNATS = try NATSMessage(subject: "s", message: structured)
        #expect(Self.lines(structuredNATS) == ["Content-Type: application/cloudevents+json", "tracestate: b=2"])
    }
}
