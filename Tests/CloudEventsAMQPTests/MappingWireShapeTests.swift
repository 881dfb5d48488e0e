import CQpidProton
import CloudEvents
import CloudEventsAMQP
import CloudEventsProtobuf
import Testing

/// The AMQP mapping's wire shape against REFERENCE 3.3: exact keys, AMQP types on the
/// `AMQPValue` and, after a proton encode, as raw proton sees them.
@Suite struct AMQPMappingWireShapeTests {
    static let event: CloudEvent = {
        var event = CloudEvent(id: "A234-1234-1234", source: "https://example.com/source", type: "com.example.sample")
        event.time = try! Timestamp(rfc3339: "2018-04-05T19:31:00.123+02:00")
        event.subject = "grüße ✓ 🎉"
        event.dataSchema = "https://example.com/schema"
        event.dataContentType = "application/json"
        event.extensions = [
            "flag": true, "n": -5, "bin": .binary([1, 2, 0xFF]), "ref": .uriReference("/relative"),
            "site": .uri("https://example.com"), "note": "a b:c %20 \"q\""
        ]
        event.data = .json(try! RawJSON(validating: #"{"a":1}"#))
        return event
    }()

    /// 2018-04-05T17:31:00.123Z in milliseconds since the epoch.
    static let timeMilliseconds: Int64 = 1_522_949_460_123

    static let expected: [String: AMQPValue] = [
        "cloudEvents_specversion": .string("1.0"), "cloudEvents_id": .string("A234-1234-1234"),
        "cloudEvents_source": .string("https://example.com/source"), "cloudEvents_type": .string("com.example.sample"),
        "cloudEvents_time": .timestamp(timeMilliseconds), "cloudEvents_subject": .string("grüße ✓ 🎉"),
        "cloudEvents_dataschema": .string("https://example.com/schema"), "cloudEvents_flag": .boolean(true),
        "cloudEvents_n": .long(-5), "cloudEvents_bin": .binary([1, 2, 0xFF]), "cloudEvents_ref": .string("/relative"),
        "cloudEvents_site": .string("https://example.com"), "cloudEvents_note": .string("a b:c %20 \"q\"")
    ]

    @Test func binaryModeWritesTypedPrefixedApplicationProperties() throws {
        let message = try AMQPMessage(Self.event)
        #expect(message.contentType == "application/json")
        #expect(message.body == .data(Array(#"{"a":1}"#.utf8)))
        let properties = Dictionary(uniqueKeysWithValues: message.applicationProperties.map { ($0.name, $0.value) })
        #expect(properties.count == message.applicationProperties.count, "no key twice")
        #expect(properties == Self.expected)
        #expect(properties["cloudEvents_datacontenttype"] == nil, "datacontenttype travels as content-type only")
        #expect(message.durable)
    }

    @Test func theTypesSurviveProtonAsRawProtonSeesThem() throws {
        let raw = try RawProtonView(try AMQPMessageCodec.encode(try AMQPMessage(Self.event)))
        #expect(raw.contentType?.type == PN_SYMBOL, "content-type is a symbol")
        #expect(raw.contentType?.text == "application/json")
        #expect(raw.sectionCodes.filter { $0 == 0x75 }.count == 1, "one data section")
        #expect(raw.dataSections == [Array(#"{"a":1}"#.utf8)])
        let expectedTypes: [String: pn_type_t] = [
            "cloudEvents_specversion": PN_STRING, "cloudEvents_id": PN_STRING, "cloudEvents_source": PN_STRING,
            "cloudEvents_type": PN_STRING, "cloudEvents_time": PN_TIMESTAMP, "cloudEvents_subject": PN_STRING,
            "cloudEvents_dataschema": PN_STRING, "cloudEvents_flag": PN_BOOL, "cloudEvents_n": PN_LONG,
            "cloudEvents_bin": PN_BINARY, "cloudEvents_ref": PN_STRING, "cloudEvents_site": PN_STRING,
            "cloudEvents_note": PN_STRING
        ]
        #expect(Set(raw.applicationProperties.map(\.key)) == Set(expectedTypes.keys))
        for (key, type) in expectedTypes {
            #expect(raw.type(of: key) == type, "\(key)")
        }
        #expect(raw.text(of: "cloudEvents_time") == String(Self.timeMilliseconds))
        #expect(raw.text(of: "cloudEvents_n") == "-5")
        #expect(raw.text(of: "cloudEvents_flag") == "true")
        // The codec reads back what raw proton saw.
        let decoded = try AMQPMessageCodec.encode(try AMQPMessage(Self.event)).withUnsafeBytes { buffer in
            try AMQPMessageCodec.decode(buffer)
        }
        #expect(Dictionary(uniqueKeysWithValues: decoded.applicationProperties.map { ($0.name, $0.value) }) == Self.expected)
    }

    @Test func theColonPrefixIsConfigurable() throws {
        let message = try AMQPMessage(Self.event, prefix: .colon)
        #expect(
            Set(message.applicationProperties.map(\.name)) == Set(Self.expected.keys.map { "cloudEvents:\($0.dropFirst(12))" }))
        #expect(message[property: "cloudEvents:id"] == .string("A234-1234-1234"))
        let raw = try RawProtonView(try AMQPMessageCodec.encode(message))
        #expect(raw.type(of: "cloudEvents:time") == PN_TIMESTAMP)
    }

    @Test func aSubMillisecondTimeTravelsAsItsCanonicalString() throws {
        var event = Self.event
        event.time = try Timestamp(rfc3339: "2018-04-05T17:31:00.123456789Z")
        let message = try AMQPMessage(event)
        #expect(message[property: "cloudEvents_time"] == .string("2018-04-05T17:31:00.123456789Z"))
        #expect(try message.event().time == event.time, "the instant arrives intact")
        event.time = try Timestamp(rfc3339: "2016-12-31T23:59:60Z")
        #expect(try AMQPMessage(event)[property: "cloudEvents_time"] == .string("2016-12-31T23:59:60Z"), "a leap second")
    }

    @Test func aTimeReadAsAStringByAHeaderBindingIsWrittenAsATimestamp() throws {
        let fromHTTP = Message(
            content: .binary(
                attributes: [
                    BinaryAttribute(name: "specversion", value: .string("1.0")),
                    BinaryAttribute(name: "id", value: .string("1")), BinaryAttribute(name: "source", value: .string("/s")),
                    BinaryAttribute(name: "type", value: .string("t")),
                    BinaryAttribute(name: "time", value: .string("2018-04-05T19:31:00.123+02:00"))
                ], data: nil))
        #expect(try AMQPMessage(fromHTTP)[property: "cloudEvents_time"] == .timestamp(Self.timeMilliseconds))
        let fine = Message(
            content: .binary(attributes: [BinaryAttribute(name: "time", value: .string("2018-04-05T17:31:00.1234Z"))], data: nil))
        #expect(try AMQPMessage(fine)[property: "cloudEvents_time"] == .string("2018-04-05T17:31:00.1234Z"))
        let broken = Message(content: .binary(attributes: [BinaryAttribute(name: "time", value: .string("soon"))], data: nil))
        #expect(try AMQPMessage(broken)[property: "cloudEvents_time"] == .string("soon"), "forwarded; the receiver refuses it")
    }

    @Test func aMillisecondTimeKeepsItsInstantButNotItsOffset() throws {
        let decoded = try AMQPMessage(Self.event).event()
        #expect(decoded.time?.isSameInstant(as: Self.event.time!) == true)
        #expect(decoded.time?.description == "2018-04-05T17:31:00.123Z")
        var early = Self.event
        early.time = try Timestamp(rfc3339: "1969-12-31T23:59:59.999Z")
        #expect(try AMQPMessage(early)[property: "cloudEvents_time"] == .timestamp(-1))
        #expect(try AMQPMessage(early).event().time == early.time)
    }

    @Test func noDataIsNoBodyAndEmptyDataIsAnEmptyDataSection() throws {
        let bare = CloudEvent(id: "1", source: "/s", type: "t")
        let none = try AMQPMessage(bare)
        #expect(none.body == .none)
        #expect(none.contentType == nil)
        #expect(try none.event().data == nil)
        var empty = bare
        empty.dataContentType = "application/octet-stream"
        empty.data = .binary([])
        let message = try AMQPMessage(empty)
        #expect(message.body == .data([]))
        #expect(try message.event().data == .binary([]))
    }

    @Test(arguments: [false, true])
    func structuredModeCarriesTheFormatMediaTypeAndOneDataSection(protobuf: Bool) throws {
        let format: any EventFormat = protobuf ? ProtobufEventFormat() : JSONEventFormat()
        let message = try AMQPMessage(Self.event, mode: .structured, format: format)
        #expect(message.contentType == format.mediaType)
        #expect(message.body == .data(try format.encode(Self.event)))
        #expect(message.applicationProperties.isEmpty)
        let raw = try RawProtonView(try AMQPMessageCodec.encode(message))
        #expect(raw.contentType?.text == format.mediaType)
        #expect(raw.dataSections.count == 1)
    }

    @Test func thereIsNoBatchMode() throws {
        #expect(throws: MessageError(.batchNotSupported)) { try AMQPMessage(Self.event, mode: .batch) }
        #expect(throws: MessageError(.batchNotSupported)) { try AMQPMessage(try Message(batch: [Self.event])) }
    }

    @Test func aMessageCarriesItsTraceContextAsPlainProperties() throws {
        var message = try Message(Self.event)
        message.metadata = [
            "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate": "a=b", "other": "x"
        ]
        let amqp = try AMQPMessage(message)
        #expect(amqp[property: "traceparent"] == .string("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"))
        #expect(amqp[property: "tracestate"] == .string("a=b"))
        #expect(amqp[property: "other"] == nil, "other metadata is the source protocol's")
        let back = AMQPMessageReader(amqp, address: "q1")
        #expect(back.metadata["traceparent"] == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        #expect(back.metadata[AMQPMessageReader.MetadataKey.address] == "q1")
        #expect(try amqp.message(address: "q1").metadata == back.metadata)
    }

    @Test func aStructuredMessagePassesThroughUntouched() throws {
        let body = Array(#"{"specversion":"1.0","id":"1","source":"/s","type":"t","x":"kept as sent"}"#.utf8)
        let message = Message(
            content: .structured(StructuredContent(mediaType: "application/cloudevents+json; charset=utf-8", body: body)))
        let amqp = try AMQPMessage(message)
        #expect(amqp.body == .data(body))
        #expect(amqp.contentType == "application/cloudevents+json; charset=utf-8")
        #expect(try amqp.message() == message)
    }
}
