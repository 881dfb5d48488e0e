import CloudEvents
import CloudEventsConformance
import CloudEventsNATS
import CloudEventsProtobuf
import Testing

/// Random and mutated NATS messages through the reader (bounded, seeded): every one either
/// decodes to a valid event or is refused with a `MessageError` that says what is wrong,
/// the same whether read directly (the fast path) or through the generic message; none traps.
@Suite struct MappingFuzzTests {
    static let names = [
        "ce-specversion", "ce-id", "CE-ID", "ce-source", "ce-type", "Ce-Type", "ce-time", "ce-subject", "ce-dataschema",
        "ce-datacontenttype", "CE-DATACONTENTTYPE", "ce-ext", "ce-Ext", "ce-", "ce-data", "ce-é", "Content-Type",
        "content-type", "traceparent", "x-id", ""
    ]
    static let values: [[UInt8]] =
        [
            "1.0", "0.3", "2.0", "", "x", "/s", "https://e.com", "2020-01-01T00:00:00Z", "not a time", "%zz", "%", "%2",
            "%e2%82%ac", "%ED%A0%80", "%C0%A0", "\"quoted\"", "\"open", "a%20b", "%01", "%EF%BF%BD", "text/plain",
            "application/json", "application/cloudevents+json", "APPLICATION/CLOUDEVENTS+PROTOBUF",
            "application/cloudevents+avro", "application/cloudevents-batch+json", String(repeating: "z", count: 300)
        ].map { Array($0.utf8) } + [[0xFF], [0x61, 0xC3], [0xEF, 0xBF, 0xBD], [0x00]]

    static let formats = EventFormatRegistry.standard.adding(ProtobufEventFormat())

    /// Checks that `message` decodes the same both ways, and says whether it decoded.
    @discardableResult
    static func check(_ message: NATSMessage, extensionTypes: ExtensionTypes = .none) -> Bool {
        let reader = NATSMessageReader(message)
        let direct = Result { () throws(MessageError) in try reader.event(formats: formats, extensionTypes: extensionTypes) }
        let generic = Result { () throws(MessageError) in
            try reader.message().event(formats: formats, extensionTypes: extensionTypes)
        }
        if reader.contentMode == .binary, let message = try? reader.message() {
            // The message in one pass vs. the visitor and the metadata property.
            var general = Message()
            #expect(throws: Never.self) { try reader.readBinary(into: &general) }
            general.metadata = reader.metadata
            #expect(message == general, "the message both ways from \(message)")
        }
        switch (direct, generic) {
        case (.success(let event), .success(let same)):
            #expect(event == same, "both ways decode the same event from \(message)")
            #expect(throws: Never.self, "a decoded event is valid: \(message)") { try event.validate() }
            return true
        case (.failure(let error), .failure(let same)):
            #expect(!error.description.isEmpty, "the error says what is wrong: \(message)")
            #expect(error == same, "the same error both ways: \(message)")
            return false
        default:
            Issue.record("read directly: \(direct); through the generic message: \(generic); for \(message)")
            return false
        }
    }

    @Test(arguments: 0..<4)
    func randomMessagesDecodeOrFailWithATypedError(seed: UInt64) {
        var random = SeededRandom(seed: 0x4E41_5453 &+ seed)
        var decoded = 0
        var refused = 0
        for _ in 0..<2_000 {
            var fields = (0..<Int.random(in: 0...5, using: &random)).map { _ in
                NATSHeaders.Field(
                    name: Self.names.randomElement(using: &random)!, value: Self.values.randomElement(using: &random)!)
            }
            if Bool.random(using: &random) {
                // A valid core, so that what comes after it decides.
                fields.insert(
                    contentsOf: [("ce-specversion", "1.0"), ("ce-id", "1"), ("ce-source", "/s"), ("ce-type", "t")].map {
                        NATSHeaders.Field(name: $0.0, value: $0.1)
                    }, at: 0)
            }
            var payload = (0..<Int.random(in: 0...40, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            if Bool.random(using: &random) {
                // A structured event, cut anywhere or whole (from 68 bytes on).
                payload = Array(#"{"specversion":"1.0","id":"1","source":"/s","type":"t","data":[1,2]}"#.utf8)
                    .prefix(Int.random(in: 0...80, using: &random)).map { $0 }
            }
            let headers: NATSHeaders? =
                Int.random(in: 0..<4, using: &random) == 0
                ? nil : NATSHeaders(fields, status: Bool.random(using: &random) ? 503 : nil)
            let message = NATSMessage(
                subject: "s", replyTo: Bool.random(using: &random) ? "r" : nil, headers: headers, payload: payload)
            if Self.check(message) { decoded += 1 } else { refused += 1 }
        }
        #expect(refused > 0, "some random messages are refused")
        #expect(decoded > 0, "some random messages are valid events")
    }

    @Test(arguments: 0..<2)
    func mutatedCorpusMessagesDecodeOrFailWithATypedError(seed: UInt64) throws {
        var random = SeededRandom(seed: 0x4D55_5441 &+ seed)
        var decoded = 0
        var refused = 0
        for testCase in Corpus.events {
            let original = try NATSMessage(subject: "s", event: testCase.event)
            for _ in 0..<8 {
                var message = original
                var fields = message.headers?.fields ?? []
                guard !fields.isEmpty else { continue }
                let index = Int.random(in: fields.indices, using: &random)
                switch Int.random(in: 0..<5, using: &random) {
                case 0:  // flip a byte of a value
                    if !fields[index].value.isEmpty {
                        let byte = Int.random(in: fields[index].value.indices, using: &random)
                        fields[index].value[byte] = UInt8.random(in: 0...255, using: &random)
                    }
                case 1:  // the same header again, in another case
                    fields.append(NATSHeaders.Field(name: fields[index].name.uppercased(), value: fields[index].value))
                case 2:  // drop a header
                    fields.remove(at: index)
                case 3:  // change a name's case
                    fields[index].name = fields[index].name.uppercased()
                default:  // cut the payload
                    message.payload = Array(message.payload.prefix(Int.random(in: 0...message.payload.count, using: &random)))
                }
                message.headers?.fields = fields
                if Self.check(message, extensionTypes: Corpus.extensionTypes) { decoded += 1 } else { refused += 1 }
            }
        }
        #expect(refused > 0)
        #expect(decoded > 0)
    }
}
