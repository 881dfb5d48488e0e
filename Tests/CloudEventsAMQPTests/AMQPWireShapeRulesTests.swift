import CloudEvents
import CloudEventsAMQP
import CloudEventsConformance
import CloudEventsProtobuf
import Testing

/// Every corpus event, as the mapping and proton write it (no broker), read back by the
/// conformance module's own AMQP decoder, meets the wire-shape rules the AMQP wire rows
/// check (REFERENCE §3.3); and a message proton writes with a wrong shape breaks them,
/// so the rows can fail.
@Suite("AMQP wire-shape rules on the mapping's output")
struct AMQPWireShapeRulesTests {
    static let formats = EventFormatRegistry.standardWithProtobuf

    static func violations(_ event: CloudEvent, mode: ContentMode, format: any EventFormat) throws -> [String] {
        let bytes = try AMQPMessageCodec.encode(try AMQPMessage(event, mode: mode, format: format))
        let raw = try RawAMQPMessage(parsing: bytes)
        return WireShape.violations(of: .amqp(raw), event: event, mode: mode, format: format).map(\.description)
    }

    @Test(arguments: ["binary", "structured json", "structured protobuf"])
    func everyCorpusEventMeetsTheRules(cell: String) throws {
        let parts = cell.split(separator: " ")
        let mode = ContentMode(rawValue: String(parts[0]))!
        let format = try #require(Self.formats.format(named: parts.count > 1 ? String(parts[1]) : "json"))
        for testCase in Corpus.events {
            let found = try Self.violations(testCase.event, mode: mode, format: format)
            #expect(found == [], "\(testCase.name): \(found)")
        }
    }

    /// What RabbitMQ 3.10 delivers for a binary-mode message sent without a body (an event
    /// without data): it appends one empty data section (`00 53 75 a0 00`), since AMQP 1.0
    /// requires a body. Without a content-type that is no data (REFERENCE §5 edge case 21, as
    /// HTTP reads an empty body without Content-Type), or the AMQP row through RabbitMQ loses
    /// every event without data. Captured with python-qpid-proton against `Scripts/brokers`.
    @Test func anEmptyDataSectionWithoutAContentTypeIsNoData() throws {
        let headers = RawAMQPMessage.make(properties: [
            ("cloudEvents_specversion", .string("1.0")), ("cloudEvents_id", .string("1")),
            ("cloudEvents_source", .string("/s")), ("cloudEvents_type", .string("t"))
        ])
        let bytes = headers.encoded + [0x00, 0x53, 0x75, 0xA0, 0x00]
        let message = try bytes.withUnsafeBytes { buffer throws(TransportError) in try AMQPMessageCodec.decode(buffer) }
        // The binding's receiver reads the protocol-independent message; both paths must agree.
        let direct = try message.event(formats: Self.formats)
        let throughMessage = try message.message().event(formats: Self.formats, extensionTypes: .none)
        #expect(direct.data == nil, "AMQPMessage.event(): \(String(describing: direct.data))")
        #expect(throughMessage.data == nil, "AMQPMessage.message().event(): \(String(describing: throughMessage.data))")
    }

    @Test func theColonPrefixAndAnIntTypedIntegerAreViolations() throws {
        let event = CloudEvent(
            id: "1", source: "/s", type: "t", extensions: ["count": .integer(3)])
        var message = try AMQPMessage(event, mode: .binary, prefix: .colon)
        let colon = WireShape.violations(
            of: .amqp(try RawAMQPMessage(parsing: AMQPMessageCodec.encode(message))), event: event, mode: .binary,
            format: nil
        ).map(\.description)
        #expect(colon.contains { $0.hasPrefix("application property 'cloudEvents:id': the sender writes 'cloudEvents_'") })
        message = try AMQPMessage(event, mode: .binary)
        message.applicationProperties = message.applicationProperties.map {
            $0.name == "cloudEvents_count" ? AMQPApplicationProperty($0.name, .int(3)) : $0
        }
        let int = WireShape.violations(
            of: .amqp(try RawAMQPMessage(parsing: AMQPMessageCodec.encode(message))), event: event, mode: .binary,
            format: nil
        ).map(\.description)
        #expect(int == ["application property 'cloudEvents_count': Integer must be sent as long(3) (REFERENCE §3.3), was int(3)"])
    }
}
