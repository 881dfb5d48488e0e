import CloudEvents
import Testing

@testable import CloudEventsConformance

/// The raw AMQP decoder on bytes proton wrote, and the AMQP wire-shape rules (REFERENCE
/// §3.3) on handcrafted messages, good and bad.
@Suite("Wire shape: AMQP")
struct WireShapeAMQPTests {
    /// What python-qpid-proton 0.40 encoded for a message with a symbol content-type,
    /// typed application properties (string, string, small long 42, true, timestamp,
    /// binary) and a 7-byte Data section: `Message(inferred=True, ...).encode()`.
    static let protonBytes = hex(
        "005370c0020141005373c01907404040404040a3106170706c69636174696f6e2f6a736f6e005374d1000000870000000c"
            + "a117636c6f75644576656e74735f7370656376657273696f6ea103312e30a10e636c6f75644576656e74735f6964a1027831"
            + "a10d636c6f75644576656e74735f6e552aa10d636c6f75644576656e74735f6241a110636c6f75644576656e74735f74696d65"
            + "830000019ae38c50d3a10f636c6f75644576656e74735f62696ea00200ff005375a0077b2261223a317d")

    static func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }

    @Test func protonsEncodingParsesWithEveryType() throws {
        let message = try RawAMQPMessage(parsing: Self.protonBytes)
        #expect(message.sections.map(\.kind) == [.header, .properties, .applicationProperties, .data])
        #expect(message.contentTypeField == .symbol("application/json"))
        #expect(message.applicationProperties(named: "cloudEvents_specversion") == [.string("1.0")])
        #expect(message.applicationProperties(named: "cloudEvents_n") == [.long(42)])
        #expect(message.applicationProperties(named: "cloudEvents_b") == [.boolean(true)])
        #expect(message.applicationProperties(named: "cloudEvents_time") == [.timestamp(1_764_754_215_123)])
        #expect(message.applicationProperties(named: "cloudEvents_bin") == [.binary([0x00, 0xFF])])
        #expect(message.dataSections == [Array(#"{"a":1}"#.utf8)])
    }

    @Test func anAMQPValueBodyFromProtonParses() throws {
        // Message(body="text value").encode(): empty header and properties lists, amqp-value.
        let message = try RawAMQPMessage(parsing: Self.hex("0053704500537345005377a10a746578742076616c7565"))
        #expect(message.sections(.amqpValue) == [.string("text value")])
        #expect(message.dataSections.isEmpty && message.contentType == nil)
    }

    @Test func encodingRoundTripsThroughTheParser() throws {
        let message = RawAMQPMessage.make(
            contentType: .symbol("text/plain"),
            properties: [
                ("cloudEvents_id", .string("1")), ("big", .long(-5_000_000_000)),
                ("f", .double(bitPattern: 0x4009_21FB_5444_2D18)),
                ("u", .uuid(Array(0..<16))), ("list", .list([.int(-1), .ubyte(7), .null]))
            ],
            body: [RawAMQPSection(.data, .binary([1, 2])), RawAMQPSection(.data, .binary([]))])
        let parsed = try RawAMQPMessage(parsing: message.encoded)
        #expect(parsed == message)
        #expect(parsed.dataSections == [[1, 2], []])
    }

    @Test(arguments: [
        ("0053", "1 bytes needed, 0 left"),
        ("00a3047465737445", "is not a message section"),
        ("a10141", "is not a message section"),
        ("005375b0000000ff00", "255 bytes needed"),
        ("00537799", "unknown AMQP format code 0x99"),
        ("005377a102c328", "string is not valid UTF-8"),
        ("005377c0050240", "compound size 5 runs past the end")
    ])
    func malformedBytesAreTypedErrors(bytes: String, reason: String) {
        #expect {
            _ = try RawAMQPMessage(parsing: Self.hex(bytes))
        } throws: { error in
            (error as? RawAMQPDecodingError).map { "\($0)".contains(reason) } ?? false
        }
    }

    // MARK: Rules

    static let time = try! Timestamp(rfc3339: "2026-12-03T09:30:15.123Z")
    static let event = CloudEvent(
        id: "1", source: "/s", type: "t", dataContentType: "text/plain", subject: "Euro € 😀", time: time,
        extensions: ["count": .integer(3), "flag": .boolean(true), "blob": .binary([9, 8]), "link": .uri("https://x/y")],
        data: .text("hi"))

    static let goodProperties: [(String, RawAMQPValue)] = [
        ("cloudEvents_specversion", .string("1.0")), ("cloudEvents_id", .string("1")), ("cloudEvents_source", .string("/s")),
        ("cloudEvents_type", .string("t")), ("cloudEvents_subject", .string("Euro € 😀")),
        ("cloudEvents_time", .timestamp(1_796_290_215_123)), ("cloudEvents_count", .long(3)),
        ("cloudEvents_flag", .boolean(true)), ("cloudEvents_blob", .binary([9, 8])),
        ("cloudEvents_link", .string("https://x/y"))
    ]

    static func binary(
        _ properties: [(String, RawAMQPValue)] = goodProperties, contentType: RawAMQPValue? = .symbol("text/plain"),
        body: [RawAMQPSection] = [RawAMQPSection(.data, .binary(Array("hi".utf8)))]
    ) -> RawWireMessage {
        .amqp(RawAMQPMessage.make(contentType: contentType, properties: properties, body: body))
    }

    static func violations(
        _ message: RawWireMessage, event: CloudEvent = event, mode: ContentMode = .binary, format: (any EventFormat)? = nil
    ) -> [String] {
        WireShape.violations(of: message, event: event, mode: mode, format: format).map(\.description)
    }

    @Test func aGoodBinaryMessageHasNoViolations() {
        #expect(Self.violations(Self.binary()) == [])
        #expect(WireShape.eventID(of: Self.binary()) == "1")
    }

    @Test(arguments: [
        (6, RawAMQPValue.string("3"), "Integer must be sent as long(3)"),
        (6, .int(3), "Integer must be sent as long(3) (REFERENCE §3.3), was int(3)"),
        (5, .string("2026-12-03T09:30:15.123Z"), "Timestamp must be sent as timestamp(1796290215123 ms)"),
        (5, .timestamp(1_796_290_215_000), "was timestamp(1796290215000 ms)"),
        (7, .string("true"), "Boolean must be sent as boolean(true)"),
        (8, .string("CQg="), "Binary must be sent as binary(2 bytes)"),
        (9, .symbol("https://x/y"), "URI must be sent as string(\"https://x/y\")"),
        (1, .string("2"), "String must be sent as string(\"1\")")
    ])
    func aWronglyTypedValueIsNamedWithItsType(index: Int, value: RawAMQPValue, rule: String) {
        var properties = Self.goodProperties
        properties[index].1 = value
        let found = Self.violations(Self.binary(properties))
        #expect(found.count == 1 && found[0].hasPrefix("application property '\(properties[index].0)': "), "\(found)")
        #expect(found.first?.contains(rule) == true, "\(found)")
    }

    @Test func aSubMillisecondTimestampMayBeItsCanonicalString() {
        let time = try! Timestamp(rfc3339: "2026-12-03T09:30:15.123456Z")
        var event = Self.event
        event.time = time
        var properties = Self.goodProperties
        properties[5].1 = .string("2026-12-03T09:30:15.123456Z")
        #expect(Self.violations(Self.binary(properties), event: event) == [])
        properties[5].1 = .timestamp(1_796_290_215_123)
        #expect(Self.violations(Self.binary(properties), event: event) == [])
        properties[5].1 = .string("2026-12-03T09:30:15.123Z")
        #expect(Self.violations(Self.binary(properties), event: event).count == 1)
    }

    @Test func aColonPrefixMixedInIsNamed() {
        var properties = Self.goodProperties
        properties[1].0 = "cloudEvents:id"
        let found = Self.violations(Self.binary(properties))
        #expect(found.contains { $0.hasPrefix("application property 'cloudEvents:id': the sender writes 'cloudEvents_'") })
        #expect(found.contains { $0.hasPrefix("application property 'cloudEvents_id': missing") }, "\(found)")
    }

    @Test func aMiscasedPrefixAndDatacontenttypeAsAPropertyAreNamed() {
        var properties = Self.goodProperties
        properties[2].0 = "cloudevents_source"
        properties.append(("cloudEvents_datacontenttype", .string("text/plain")))
        let found = Self.violations(Self.binary(properties))
        #expect(found.contains { $0.hasPrefix("application property 'cloudevents_source': the prefix is 'cloudEvents_'") })
        #expect(found.contains { $0.hasPrefix("application property 'cloudEvents_datacontenttype': must not be sent") })
        #expect(found.contains { $0.hasPrefix("application property 'cloudEvents_source': missing") }, "\(found)")
    }

    @Test func aRepeatedPropertyIsNamed() {
        let found = Self.violations(Self.binary(Self.goodProperties + [("cloudEvents_id", .string("1"))]))
        #expect(found == ["application property 'cloudEvents_id': must appear once"])
    }

    @Test func theContentTypeMustBeASymbolCarryingDatacontenttype() {
        #expect(
            Self.violations(Self.binary(contentType: .string("text/plain")))
                == ["properties.content-type: must be a symbol, was string"])
        let found = Self.violations(Self.binary(contentType: .symbol("text/plain; charset=utf-8")))
        #expect(found.count == 1 && found[0].hasPrefix("properties.content-type: must be datacontenttype 'text/plain'"))
    }

    @Test func theDataMustBeOneDataSection() {
        let split = [RawAMQPSection(.data, .binary(Array("h".utf8))), RawAMQPSection(.data, .binary(Array("i".utf8)))]
        let found = Self.violations(Self.binary(body: split))
        #expect(found.count == 1 && found[0].hasPrefix("body: must be one data section"), "\(found)")
        let value = Self.violations(Self.binary(body: [RawAMQPSection(.amqpValue, .string("hi"))]))
        #expect(value.contains("body: must be a data section, not amqp-value: the binding defines no other"), "\(value)")
        var event = Self.event
        event.data = nil
        event.dataContentType = nil
        #expect(Self.violations(Self.binary(contentType: nil, body: []), event: event) == [])
        // RabbitMQ gives a message sent without a body one empty data section.
        #expect(Self.violations(Self.binary(contentType: nil, body: [RawAMQPSection(.data, .binary([]))]), event: event) == [])
        let empty = Self.violations(Self.binary(contentType: nil), event: event)
        #expect(empty.count == 1 && empty[0].hasPrefix("body: an event without data has no data section"), "\(empty)")
    }

    @Test func structuredCarriesTheFormatsMediaTypeAndOneDataSection() throws {
        let json = JSONEventFormat()
        let body = try json.encode(Self.event)
        let good = Self.binary(
            [], contentType: .symbol("application/cloudevents+json"), body: [RawAMQPSection(.data, .binary(body))])
        #expect(Self.violations(good, mode: .structured, format: json) == [])
        #expect(WireShape.eventID(of: good) == "1")
        let bad = Self.binary(
            [("cloudEvents_id", .string("1"))], contentType: .symbol("application/json"),
            body: [RawAMQPSection(.amqpValue, .binary(body))])
        let found = Self.violations(bad, mode: .structured, format: json)
        #expect(found.contains { $0.hasPrefix("properties.content-type: must be the format's media type") }, "\(found)")
        #expect(found.contains { $0.hasPrefix("application property 'cloudEvents_id': no attribute properties") })
        #expect(found.contains { $0.hasPrefix("body: must be one data section of the encoded event, was 0") })
    }

    @Test func theAMQPTargetsComeFromTheBrokersEnvironment() throws {
        let without = ConformanceTarget.amqpFromEnvironment([:], wireProbe: nil)
        #expect(without.targets.map(\.name) == ["AMQP peer"])
        #expect(without.notRun.count == 1 && without.notRun[0].contains("CE_TEST_AMQP_PORT is not set"), "\(without.notRun)")
        let with = ConformanceTarget.amqpFromEnvironment(
            ["CE_TEST_AMQP_PORT": "5673", "CE_TEST_AMQP_USERNAME": "guest", "CE_TEST_AMQP_PASSWORD": "a b"], wireProbe: nil)
        #expect(with.targets.map(\.name) == ["AMQP", "AMQP peer"] && with.notRun.isEmpty)
        let broker = try with.targets[0].receiverEndpoint(cell: "c1", formats: .standard)
        #expect(broker.host == "127.0.0.1" && broker.port == 5673 && broker.password == "a b")
        #expect(broker.path == "/queue/ce-conformance-c1")
        let peer = try with.targets[1].receiverEndpoint(cell: "c1", formats: .standard)
        #expect(peer.port == 0 && peer.option("listen") == "true" && peer.path == "ce-conformance-c1")
        let bad = ConformanceTarget.amqpFromEnvironment(["CE_TEST_AMQP_PORT": "x"], wireProbe: nil)
        #expect(bad.notRun.first?.contains("'x' is not a port number") == true)
    }

    @Test func unreadableBytesAreOneViolation() {
        #expect(Self.violations(.unreadable(reason: "3 bytes")) == ["message: unreadable: 3 bytes"])
    }
}
