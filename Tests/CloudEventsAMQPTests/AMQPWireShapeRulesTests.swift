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
