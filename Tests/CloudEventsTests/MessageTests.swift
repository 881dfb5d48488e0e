import CloudEvents
import CloudEventsConformance
import Testing

@Suite("Message layer")
struct MessageTests {
    let event = CloudEvent(
        id: "1", source: "/s", type: "t", dataContentType: "application/json", subject: "sub",
        time: try! Timestamp(rfc3339: "2018-04-05T17:31:00+02:00"), extensions: ["count": 5, "flag": false],
        data: .json(try! RawJSON(validating: #"{"a":1}"#)))

    @Test func binaryMessageCarriesTypedAttributesAndBody() throws {
        let message = try Message(event, mode: .binary)
        guard case .binary(let attributes, let data) = message.content else {
            Issue.record("not binary")
            return
        }
        #expect(
            attributes.map(\.name) == [
                "specversion", "id", "source", "type", "datacontenttype", "subject", "time", "count", "flag"
            ])
        #expect(attributes.first { $0.name == "time" }?.value.type == .timestamp)
        #expect(attributes.first { $0.name == "count" }?.value == .integer(5))
        #expect(data == Array(#"{"a":1}"#.utf8))
        #expect(try message.event() == event)
    }

    @Test func structuredMessageCarriesTheEncodedEvent() throws {
        let message = try Message(event, mode: .structured)
        #expect(message.structuredContent?.mediaType == "application/cloudevents+json")
        #expect(message.structuredContent?.body == (try JSONEventFormat().encode(event)))
        #expect(try message.event() == event)
    }

    @Test func batchMessage() throws {
        let message = try Message(batch: [event, event])
        #expect(message.contentMode == .batch)
        #expect(try message.events() == [event, event])
        #expect(throws: MessageError(.isBatch)) { try message.event() }
    }

    @Test func unknownStructuredFormatIsATypedError() throws {
        let message = Message(content: .structured(StructuredContent(mediaType: "application/cloudevents+avro", body: [1])))
        #expect(throws: MessageError(.unsupportedFormat("application/cloudevents+avro"))) { try message.event() }
    }

    @Test func structuredMediaTypeMatchesCaseInsensitivelyWithParameters() throws {
        let body = try JSONEventFormat().encode(event)
        let message = Message(
            content: .structured(StructuredContent(mediaType: "Application/CloudEvents+JSON; charset=UTF-8", body: body)))
        #expect(try message.event() == event)
    }

    @Test func binaryWithoutSpecVersionOrWithDuplicates() throws {
        var missing = Message()
        try missing.writeAttribute("id", "1")
        #expect(throws: MessageError(.missingSpecVersion)) { try missing.event() }

        var duplicate = try Message(CloudEvent(id: "1", source: "/s", type: "t"), mode: .binary)
        try duplicate.writeAttribute("id", "2")
        #expect(throws: MessageError(.duplicateAttribute("id"))) { try duplicate.event() }
    }

    @Test func binaryAttributesAsStringsAreParsedForCoreAttributes() throws {
        var message = Message()
        for (name, value) in [
            ("specversion", "1.0"), ("id", "1"), ("source", "/s"), ("type", "t"),
            ("time", "2018-04-05T17:31:00Z"), ("count", "5")
        ] {
            try message.writeAttribute(name, .string(value))
        }
        let event = try message.event()
        #expect(event.time == (try Timestamp(rfc3339: "2018-04-05T17:31:00Z")))
        // Header bindings carry no types: an unknown extension stays a String (edge 13).
        #expect(event.extensions["count"] == .string("5"))
    }

    @Test func binaryMessageReportsEveryViolation() throws {
        var message = Message()
        try message.writeAttribute("specversion", "1.0")
        try message.writeAttribute("source", "")
        try message.writeAttribute("time", "yesterday")
        try message.writeAttribute("Bad", "x")
        let error = try #require(throws: MessageError.self) { try message.event() }
        #expect(Set(error.violations.map(\.attribute)) == ["id", "type", "source", "time", "Bad"])
    }

    @Test(arguments: [
        (EventData.json(try! RawJSON(validating: #""s""#)), nil as String?, #""s""#, "application/json" as String?),
        (.text("plain"), "text/plain", "plain", "text/plain"),
        (.text("quoted"), nil, #""quoted""#, "application/json"),
        (.binary([1, 2]), nil, "\u{1}\u{2}", nil)
    ])
    func binaryBodyFollowsTheContentType(data: EventData, contentType: String?, body: String, written: String?) throws {
        let event = CloudEvent(id: "1", source: "/s", type: "t", dataContentType: contentType, data: data)
        let content = try Message(event, mode: .binary).content
        guard case .binary(let attributes, let bytes) = content else {
            Issue.record("expected binary content, got \(content)")
            return
        }
        #expect(bytes == Array(body.utf8))
        #expect(attributes.first { $0.name == "datacontenttype" }?.value.canonicalString == written)
    }

    @Test func bodiesAreClassifiedByContentType() {
        #expect(EventData(bytes: Array("{}".utf8), contentType: "application/json") == .json(try! RawJSON(validating: "{}")))
        #expect(EventData(bytes: Array("not json".utf8), contentType: "application/json") == .binary(Array("not json".utf8)))
        #expect(EventData(bytes: Array("hi".utf8), contentType: "text/plain; charset=utf-8") == .text("hi"))
        #expect(EventData(bytes: [0xFF], contentType: "text/plain") == .binary([0xFF]))
        #expect(EventData(bytes: Array("hi".utf8), contentType: "text/plain; charset=iso-8859-1") == .binary(Array("hi".utf8)))
        #expect(EventData(bytes: Array("hi".utf8), contentType: nil) == .binary(Array("hi".utf8)))
    }
}

@Suite("Transcoding")
struct TranscoderTests {
    let transcoder = MessageTranscoder()
    let event = CloudEvent(id: "1", source: "/s", type: "t", extensions: ["n": 1], data: .json(try! RawJSON(validating: "[1]")))

    /// A writer that records what it was asked to do.
    struct RecordingWriter: MessageWriter {
        var calls: [String] = []
        var message = Message()

        mutating func writeAttribute(_ name: String, _ value: AttributeValue) throws(MessageError) {
            calls.append("attribute \(name)")
            try message.writeAttribute(name, value)
        }

        mutating func writeData(_ bytes: [UInt8]) throws(MessageError) {
            calls.append("data")
            try message.writeData(bytes)
        }

        mutating func writeStructured(_ content: StructuredContent) throws(MessageError) {
            calls.append("structured")
            try message.writeStructured(content)
        }
    }

    @Test func structuredPassesThroughUntouched() throws {
        // Bytes no encoder of ours would produce (spacing, member order) survive exactly.
        let body = Array(#"{ "type" : "t", "id":"1","source":"/s", "specversion":"1.0" }"#.utf8)
        let source = Message(content: .structured(StructuredContent(mediaType: "application/cloudevents+json", body: body)))
        var writer = RecordingWriter()
        try transcoder.transcode(source, to: &writer)
        #expect(writer.calls == ["structured"])
        #expect(writer.message.structuredContent?.body == body)
    }

    @Test func binaryToBinaryCopiesAttributesWithoutDecoding() throws {
        // Not a valid event (no id): a copy that built a CloudEvent would fail.
        var source = Message()
        try source.writeAttribute("specversion", "1.0")
        try source.writeAttribute("custom", .integer(3))
        try source.writeData([1, 2, 3])
        var writer = RecordingWriter()
        try transcoder.transcode(source, to: &writer)
        #expect(writer.calls == ["attribute specversion", "attribute custom", "data"])
    }

    @Test func binaryToStructuredAndBack() throws {
        var structured = RecordingWriter()
        try transcoder.transcode(try Message(event, mode: .binary), to: &structured, mode: .structured)
        #expect(structured.calls == ["structured"])
        var binary = RecordingWriter()
        try transcoder.transcode(structured.message, to: &binary, mode: .binary)
        #expect(
            try binary.message.event()
                == {
                    var expected = event
                    expected.dataContentType = "application/json"  // made explicit when leaving JSON
                    return expected
                }())
    }

    @Test func batchToSingleEventBindingIsRefused() throws {
        var writer = RecordingWriter()
        #expect(throws: MessageError(.batchNotSupported)) {
            try transcoder.transcode(try Message(batch: [event]), to: &writer)
        }
    }

    @Test func everyCorpusEventSurvivesEveryModeChange() throws {
        for item in Corpus.events {
            for from in [ContentMode.binary, .structured] {
                for to in [ContentMode.binary, .structured] {
                    var writer = Message()
                    try transcoder.transcode(try Message(item.event, mode: from), to: &writer, mode: to)
                    let back = try writer.event(extensionTypes: Corpus.extensionTypes)
                    let differences = (from == .binary || to == .binary ? Equivalence.headers : .exact)
                        .differences(item.event, back)
                    #expect(differences.isEmpty, "\(item.name) \(from)→\(to): \(differences)")
                }
            }
        }
    }
}
