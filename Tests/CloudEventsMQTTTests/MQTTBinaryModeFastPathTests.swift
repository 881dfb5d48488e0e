import CloudEvents
import CloudEventsConformance
import CloudEventsProtobuf
import Testing

@testable import CloudEventsMQTT

/// The binary-mode fast path (`CloudEvent.decodeMQTTBinaryMode`, behind
/// `MQTTMessageReader.event` and every delivery) against the general path through the
/// message layer (``MQTTMessageReader/readBinary(into:)`` with ``CloudEventBuilder``): the
/// same events, extensions in the same order, and, through the reader, the same errors.
@Suite("MQTT binary mode fast path")
struct MQTTBinaryModeFastPathTests {
    static let formats = EventFormatRegistry.standard.adding(ProtobufEventFormat())

    /// Checks `message` both ways and says which: `true` when the fast path decoded it.
    ///
    /// The fast path alone either declines or gives the general path's event (extension order
    /// included); the reader's `event` (fast path, then the general path) gives the general
    /// path's event or its error.
    @discardableResult
    static func expectSameDecoding(
        _ message: MQTTMessage, version: MQTTProtocolVersion = .v5, extensionTypes: ExtensionTypes = .none,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> Bool {
        let reader = MQTTMessageReader(message, protocolVersion: version)
        let general = Result { () throws(MessageError) in
            try reader.generalEvent(formats: formats, extensionTypes: extensionTypes)
        }
        let throughReader = Result { () throws(MessageError) in
            try reader.event(formats: formats, extensionTypes: extensionTypes)
        }
        #expect(throughReader == general, "\(message)", sourceLocation: sourceLocation)
        // Through the protocol-independent message (what a delivery's message decodes to).
        if reader.messageAndConflict().conflict == nil {
            let viaMessage = Result { () throws(MessageError) in
                try reader.message().event(formats: formats, extensionTypes: extensionTypes)
            }
            #expect(viaMessage == general, "via Message: \(message)", sourceLocation: sourceLocation)
        }
        guard let fast = reader.binaryModeEvent(extensionTypes: extensionTypes) else { return false }
        switch general {
        case .success(let event):
            #expect(fast == event, "\(message)", sourceLocation: sourceLocation)
            #expect(
                fast.extensions.names == event.extensions.names, "extension order: \(message)", sourceLocation: sourceLocation)
            #expect(fast.data == event.data, "\(message)", sourceLocation: sourceLocation)
        case .failure(let error):
            Issue.record(
                "the fast path decoded what the general path refuses (\(error)): \(message)", sourceLocation: sourceLocation)
        }
        return true
    }

    /// The corpus's extension types and a few more, for the generated property sets.
    static let extensionTypes = Corpus.extensionTypes.merging(
        ["exbool": .boolean, "exint": .integer, "exuri": .uri, "ext": .timestamp])

    static let required: [MQTTUserProperty] = [
        .init("specversion", "1.0"), .init("id", "1"), .init("source", "/s"), .init("type", "t")
    ]

    static let edgeEvents: [CloudEvent] = [
        CloudEvent(id: "A 234", source: "/mycontext/%20x", type: "t", subject: "Euro € 😀 \"q\" 100%"),
        CloudEvent(id: "1", source: "/s", type: "t", dataContentType: "text/plain; charset=utf-8", data: .text("hi")),
        CloudEvent(id: "1", source: "/s", type: "t", data: .text("no content type")),
        CloudEvent(id: "1", source: "/s", type: "t", data: .binary([0, 1, 2])),
        CloudEvent(id: "1", source: "/s", type: "t", data: .binary([])),
        CloudEvent(id: "1", source: "/s", type: "t", specVersion: .v0_3, dataSchema: "schema/rel"),
        CloudEvent(id: "1", source: "/s", type: "t", dataSchema: "https://example.com/s%20chema"),
        CloudEvent(
            id: "~!", source: "urn:x", type: "\u{A0}nbsp",
            extensions: [
                "flag": true, "count": -7, "blob": .binary([0xFF, 0x00]), "link": .uri("https://e.com/a%2Fb"),
                "ref": .uriReference("../x%20y"), "schemaurl": "an extension in 1.0",
                "at": .timestamp(try! Timestamp(rfc3339: "2020-01-01T00:00:00.5-00:00"))
            ]),
        CloudEvent(id: "1", source: "/s", type: "t", dataContentType: "Application/JSON", data: .text("t")),
        CloudEvent(id: "1", source: "/s", type: "t", dataContentType: "application/json", data: .binary(Array("{".utf8)))
    ]

    static let invalidEvents: [CloudEvent] = [
        CloudEvent(id: "", source: "", type: "t"),
        CloudEvent(id: "bell\u{7}", source: "/s", type: "t"),
        CloudEvent(id: "c1\u{85}", source: "not a uri", type: "t"),
        CloudEvent(id: "1", source: "/s", type: "t", dataContentType: "text/plain;\tx=\u{1}"),
        CloudEvent(id: "1", source: "/s", type: "t", dataContentType: "text/plain; p=\u{9F}"),
        CloudEvent(id: "1", source: "/s", type: "t", subject: "non\u{FFFE}character"),
        CloudEvent(id: "1", source: "/s", type: "t", subject: ""),
        CloudEvent(id: "1", source: "/s", type: "t", dataSchema: "relative"),
        CloudEvent(id: "1", source: "/s", type: "t", extensions: ["Bad": "x"]),
        CloudEvent(id: "1", source: "/s", type: "t", extensions: ["ok": "\u{0}"]),
        CloudEvent(id: "1", source: "/s", type: "t", extensions: ["ok": .uri("relative")]),
        CloudEvent(id: "1", source: "/s", type: "t", extensions: ["id": "x"]),
        CloudEvent(id: "1", source: "/s", type: "t", extensions: ["datacontenttype": "text/plain"])
    ]

    // MARK: Encoding

    /// The general path's PUBLISH: the event through ``MQTTMessageWriter``.
    static func generalMessage(_ event: CloudEvent) throws(MessageError) -> MQTTMessage {
        var writer = MQTTMessageWriter(MQTTMessage(topic: "t", qos: .exactlyOnce, retain: true))
        try event.write(to: &writer, mode: .binary)
        return writer.mqttMessage
    }

    @Test func theCorpusEncodesTheSameBothWays() throws {
        for event in Corpus.events.map(\.event) + Self.edgeEvents + [sampleEvent] {
            let fast = try event.mqttMessage(topic: "t", qos: .exactlyOnce, retain: true)
            // Equal messages: the same User Properties in the same order, Content Type, payload.
            #expect(fast == (try Self.generalMessage(event)), "\(event)")
        }
    }

    @Test(arguments: invalidEvents)
    func encodingRefusesWhatTheGeneralPathRefuses(event: CloudEvent) {
        let fast = Result { () throws(MessageError) in try event.mqttMessage(topic: "t", qos: .exactlyOnce, retain: true) }
        let general = Result { () throws(MessageError) in try Self.generalMessage(event) }
        #expect(throws: MessageError.self) { try fast.get() }
        #expect(fast == general)
    }

    /// The sample event's exact wire shape (the benchmark's PUBLISH).
    @Test func theSampleEventsWireShape() throws {
        let message = try sampleEvent.mqttMessage(topic: "t")
        #expect(message.contentType == "application/json")
        #expect(
            message.userProperties.map(\.name) == [
                "specversion", "id", "source", "type", "dataschema", "subject", "time", "flag", "n", "bin", "ref", "site",
                "note"
            ])
        #expect(message.userProperties.first { $0.name == "bin" }?.value == "AQL/")
        #expect(message.userProperties.first { $0.name == "time" }?.value == "2018-04-05T19:31:00.123456789+02:00")
    }

    // MARK: The corpus

    @Test func theCorpusDecodesTheSameBothWays() throws {
        var fast = 0
        for testCase in Corpus.events {
            let message = try testCase.event.mqttMessage(topic: "corpus", mode: .binary)
            for types in [ExtensionTypes.none, testCase.extensionTypes, Corpus.extensionTypes] {
                let tookFastPath = Self.expectSameDecoding(message, extensionTypes: types)
                if tookFastPath { fast += 1 }
                // Every 1.0 event that decodes takes the fast path: only 0.3 is left to the
                // general one (and a case under another case's extension types, if it fails).
                let decodes = (try? MQTTMessageReader(message).generalEvent(formats: Self.formats, extensionTypes: types)) != nil
                #expect(tookFastPath == (testCase.event.specVersion == .v1_0 && decodes), "\(testCase)")
            }
        }
        #expect(fast > 0)
    }

    @Test(arguments: edgeEvents + [sampleEvent])
    func edgeEventsDecodeTheSameBothWays(event: CloudEvent) throws {
        let message = try event.mqttMessage(topic: "t", mode: .binary)
        let tookFastPath = Self.expectSameDecoding(message)
        #expect(tookFastPath == (event.specVersion == .v1_0))
        Self.expectSameDecoding(message, extensionTypes: Corpus.extensionTypes)
        // Foreign User Properties among the attributes change nothing.
        var withForeign = message
        withForeign.userProperties.insert(.init("Trace-Id", "abc"), at: 1)
        withForeign.userProperties.append(.init("x_app", "1"))
        #expect(Self.expectSameDecoding(withForeign) == tookFastPath)
    }

    /// The conformance corpus's invalid PUBLISH property sets: the fast path declines every
    /// one, and the reader's error is the general path's (which names what is wrong).
    @Test func theInvalidCorpusIsLeftToTheGeneralPath() {
        #expect(!InvalidInputs.mqtt5.isEmpty)
        for testCase in InvalidInputs.mqtt5 {
            let message = MQTTMessage(
                topic: "t", payload: testCase.payload, contentType: testCase.contentType,
                userProperties: testCase.userProperties.map { MQTTUserProperty($0.name, $0.value) })
            #expect(!Self.expectSameDecoding(message), "\(testCase)")
            #expect(throws: MessageError.self, "\(testCase)") { try CloudEvent(mqttMessage: message, formats: Self.formats) }
        }
    }

    // MARK: The reader's rules, one by one

    @Test(
        arguments: [
            // Order, foreign names, extensions.
            [.init("type", "t"), .init("source", "/s"), .init("id", "1"), .init("specversion", "1.0")],
            required + [.init("ID", "foreign"), .init("Trace-Id", "x"), .init("", "empty name"), .init("ext", "v")],
            required + [.init("ext", "1"), .init("ext", "2")],
            required + [.init("ext", "1"), .init("Ext", "2")],
            required + [.init("id", "2")],
            required + [.init("specversion", "1.0")],
            required + [.init("time", "2018-04-05T17:31:00Z"), .init("time", "2018-04-05T17:31:00Z")],
            // The datacontenttype User Property: alone, repeated, agreeing or not (Content Type
            // set by the arguments of the test below).
            required + [.init("datacontenttype", "text/plain")],
            required + [.init("datacontenttype", "text/plain"), .init("datacontenttype", "text/plain")],
            required + [.init("datacontenttype", "text/plain"), .init("datacontenttype", "application/json")],
            required + [.init("datacontenttype", "application/cloudevents+json")],
            // Versions and missing attributes.
            [.init("specversion", "0.3"), .init("id", "1"), .init("source", "/s"), .init("type", "t"), .init("schemaurl", "x")],
            [.init("specversion", "1.0.2"), .init("id", "1"), .init("source", "/s"), .init("type", "t")],
            [.init("specversion", "1.0"), .init("source", "/s")],
            Array(required.dropFirst()),
            // Attribute rules.
            required + [.init("time", "2018-04-05T17:31:00Z")],
            required + [.init("time", "2018-04-05 17:31:00Z")],
            required + [.init("time", "2018-04-05t17:31:00.1234567891z")],
            required + [.init("dataschema", "https://e.com/s")],
            required + [.init("dataschema", "relative")],
            required + [.init("dataschema", "")],
            required + [.init("subject", "")],
            required + [.init("schemaurl", "relative"), .init("datacontentencoding", "base64")],
            required + [.init("data", "reserved")],
            [.init("specversion", "1.0"), .init("id", "1"), .init("source", "not a uri"), .init("type", "t")],
            [.init("specversion", "1.0"), .init("id", ""), .init("source", ""), .init("type", "")],
            // The String type's characters: fine beyond ASCII, refused for controls and noncharacters.
            required + [.init("subject", "grüße ✓ 🎉"), .init("ext", "\u{A0}")],
            required + [.init("subject", "bell\u{7}")],
            required + [.init("ext", "\u{0}")],
            required + [.init("ext", "non\u{FFFE}character")],
            required + [.init("ext", "c1\u{85}")],
            // Typed extensions (under `extensionTypes`).
            required + [.init("exbool", "true"), .init("exint", "42"), .init("exuri", "https://e.com")],
            required + [.init("exbool", "yes"), .init("exint", "4.2")]
        ] as [[MQTTUserProperty]])
    func propertySetsDecodeTheSameBothWays(properties: [MQTTUserProperty]) {
        for contentType in [nil, "application/json", "text/plain", "Text/Plain; charset=utf-8", "not a media type", "text/\u{1}"]
        {
            for payload in [[], Array(#"{"a":1}"#.utf8), [0xFF, 0x00]] as [[UInt8]] {
                let message = MQTTMessage(topic: "t", payload: payload, contentType: contentType, userProperties: properties)
                Self.expectSameDecoding(message)
                Self.expectSameDecoding(message, extensionTypes: Self.extensionTypes)
                Self.expectSameDecoding(message, version: .v311)
            }
        }
    }

    @Test func aContradictingDatacontenttypeIsStillReportedAsAContradiction() {
        let message = MQTTMessage(
            topic: "t", payload: [1], contentType: "text/plain",
            userProperties: Self.required + [.init("datacontenttype", "application/json")])
        #expect(!Self.expectSameDecoding(message))
        #expect { try CloudEvent(mqttMessage: message) } throws: { error in "\(error)".contains("contradicts") }
    }

    /// The ordinary message is decoded by the fast path itself (not handed on), and a
    /// structured or MQTT 3.1.1 message never is.
    @Test func theSampleMessageTakesTheFastPath() throws {
        let message = try sampleEvent.mqttMessage(topic: "t")
        let reader = MQTTMessageReader(message)
        let fast = try #require(reader.binaryModeEvent(extensionTypes: .none))
        #expect(fast == (try reader.generalEvent(formats: .standard, extensionTypes: .none)))
        let structured = try sampleEvent.mqttMessage(topic: "t", mode: .structured)
        #expect(MQTTMessageReader(structured).binaryModeEvent(extensionTypes: .none) == nil)
        #expect(MQTTMessageReader(message, protocolVersion: .v311).binaryModeEvent(extensionTypes: .none) == nil)
    }

    // MARK: Generated property sets

    static let names = [
        "specversion", "id", "source", "type", "time", "subject", "dataschema", "datacontenttype", "schemaurl",
        "datacontentencoding", "data", "ext", "exbool", "exint", "n", "ID", "Id", "Trace-Id", "", "é", "ce_id", "ce-id"
    ]
    static let values = [
        "1.0", "0.3", "", "x", "/s", "https://e.com", "not a uri", "2020-01-01T00:00:00Z", "2020-01-01T00:00:00.5+01:00",
        "not a time", "true", "42", "\u{1}", "\u{7F}", String(Unicode.Scalar(0xFDD0)!), "a b", "é€😀", "%zz",
        "text/plain", "application/json", "application/cloudevents+json", String(repeating: "z", count: 300)
    ]
    static let contentTypes: [String?] = [
        nil, "application/json", "text/plain", "text/plain; charset=latin1", "application/cloudevents+json",
        "APPLICATION/CLOUDEVENTS+PROTOBUF", "application/cloudevents-batch+json", "", "bad"
    ]

    @Test(arguments: 0..<4)
    func generatedPropertySetsDecodeTheSameBothWays(seed: UInt64) {
        var random = SeededRandom(seed: 0x4D51_4650 &+ seed)
        var fast = 0
        var general = 0
        for _ in 0..<1_500 {
            var properties = (0..<Int.random(in: 0...5, using: &random)).map { _ in
                MQTTUserProperty(Self.names.randomElement(using: &random)!, Self.values.randomElement(using: &random)!)
            }
            if Int.random(in: 0..<4, using: &random) != 0 {
                // A valid core at a random place, so that what is around it decides.
                let core = Self.required.shuffled(using: &random)
                properties.insert(contentsOf: core, at: Int.random(in: 0...properties.count, using: &random))
            }
            let payload: [UInt8] =
                switch Int.random(in: 0..<4, using: &random) {
                case 0: []
                case 1: Array(#"{"a":[1,2.5,"x"]}"#.utf8).prefix(Int.random(in: 0...17, using: &random)).map { $0 }
                case 2: Array("plain text é".utf8)
                default: (0..<Int.random(in: 1...20, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                }
            let message = MQTTMessage(
                topic: "t", payload: payload, contentType: Self.contentTypes.randomElement(using: &random)!,
                userProperties: properties)
            for types in [ExtensionTypes.none, Self.extensionTypes] {
                if Self.expectSameDecoding(message, extensionTypes: types) { fast += 1 } else { general += 1 }
            }
        }
        #expect(fast > 0, "some generated messages take the fast path")
        #expect(general > 0, "some are left to the general path")
    }
}
