import CloudEvents
import CloudEventsConformance
import CloudEventsNATS
import CloudEventsProtobuf
import Testing

/// Every corpus event, as the NATS mapping writes it (no server), framed as the wire carries
/// it and read back by the conformance module's own raw parser, meets the wire-shape rules the
/// NATS wire rows check (REFERENCE §3.4); and a message in another binding's shape breaks them.
@Suite("NATS wire-shape rules on the mapping's output")
struct ConformanceWireShapeRulesTests {
    static let formats = EventFormatRegistry.standardWithProtobuf

    /// The message as a raw subscriber reads it: the mapping's header fields through the
    /// conformance module's header-block writer and parser.
    static func raw(_ message: NATSMessage) throws -> RawWireMessage {
        let headers = message.headers.map { $0.fields.map { RawNATSHeader(name: $0.name, value: $0.value) } }
        var wire = RawNATSMessage(subject: message.subject, headers: headers, payload: message.payload).publishCommand
        // PUB/HPUB and MSG/HMSG frame the same way: rewrite the verb, add a subscription id.
        let verb = headers == nil ? "PUB " : "HPUB "
        wire.removeFirst(verb.utf8.count)
        let subjectEnd = try #require(wire.firstIndex(of: UInt8(ascii: " ")))
        wire.insert(contentsOf: Array(" 1".utf8), at: subjectEnd)
        wire.insert(contentsOf: Array((headers == nil ? "MSG " : "HMSG ").utf8), at: 0)
        guard case .message(_, let parsed)? = try RawNATSProtocol.frame(&wire) else {
            throw RawFramingFailed()
        }
        return .nats(parsed)
    }

    struct RawFramingFailed: Error {}

    @Test(arguments: ["binary", "structured json", "structured protobuf"])
    func everyCorpusEventMeetsTheRules(cell: String) throws {
        let parts = cell.split(separator: " ")
        let mode = try #require(ContentMode(rawValue: String(parts[0])))
        let format = try #require(Self.formats.format(named: parts.count > 1 ? String(parts[1]) : "json"))
        for testCase in Corpus.events {
            let message = try NATSMessage(subject: "ce.rules", event: testCase.event, mode: mode, format: format)
            let found = WireShape.violations(
                of: try Self.raw(message), event: testCase.event, mode: mode, format: mode == .binary ? nil : format)
            #expect(found.isEmpty, "\(testCase.name): \(found)")
        }
    }

    /// HTTP's shape (datacontenttype as Content-Type) and a header in uppercase are caught.
    @Test func anHTTPShapedMessageBreaksTheRules() throws {
        let event = CloudEvent(
            id: "1", source: "/s", type: "t", dataContentType: "text/plain", data: .text("hi"))
        var message = try NATSMessage(subject: "ce.rules", event: event, mode: .binary)
        var fields = try #require(message.headers).fields.filter { $0.name != "ce-datacontenttype" }
        fields.append(NATSHeaders.Field(name: "Content-Type", value: "text/plain"))
        fields = fields.map { $0.name == "ce-id" ? NATSHeaders.Field(name: "CE-ID", value: $0.value) : $0 }
        message.headers = NATSHeaders(fields)
        let found = WireShape.violations(of: try Self.raw(message), event: event, mode: .binary, format: nil).map(
            \.description)
        #expect(
            found.sorted() == [
                "header 'CE-ID': attribute headers are written in lowercase (REFERENCE §3.4)",
                "header 'Content-Type': must not be sent in binary mode: datacontenttype travels as ce-datacontenttype (REFERENCE §3.4)",
                "header 'ce-datacontenttype': must be datacontenttype 'text/plain' exactly, was 'absent'"
            ], "\(found)")
    }
}
