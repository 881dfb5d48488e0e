import CloudEvents
import CloudEventsConformance
import CloudEventsMQTT
import CloudEventsProtobuf
import Testing

/// Random PUBLISH packets through the reader: every one either decodes to a valid event or
/// is refused with a `MessageError` that says what is wrong, the same whether read directly
/// or through the generic message; none crashes, and reading never throws before decoding.
@Suite struct MQTTFuzzTests {
    static let names = [
        "specversion", "id", "source", "type", "time", "subject", "dataschema", "datacontenttype",
        "ext", "n", "ID", "Trace-Id", "", "data", "é"
    ]
    static let values = [
        "1.0", "0.3", "2.0", "", "x", "/s", "https://e.com", "2020-01-01T00:00:00Z", "not a time",
        "\u{1}", String(Unicode.Scalar(0xFDD0)!), "a b", "%zz", String(repeating: "z", count: 300)
    ]
    static let contentTypes: [String?] = [
        nil, "application/json", "text/plain", "application/cloudevents+json",
        "APPLICATION/CLOUDEVENTS+PROTOBUF", "application/cloudevents+avro",
        "application/cloudevents-batch+json", ""
    ]

    @Test(arguments: 0..<4)
    func randomMessagesDecodeOrFailWithATypedError(seed: UInt64) {
        var random = SeededRandom(seed: 0x4D51_5454 &+ seed)
        let formats = EventFormatRegistry.standard.adding(ProtobufEventFormat())
        var decoded = 0
        var refused = 0
        var structuredDecoded = 0
        for _ in 0..<2_000 {
            var properties = (0..<Int.random(in: 0...4, using: &random)).map { _ in
                MQTTUserProperty(Self.names.randomElement(using: &random)!, Self.values.randomElement(using: &random)!)
            }
            if Bool.random(using: &random) {
                // A valid core, so that what comes after it decides.
                properties.insert(
                    contentsOf: [.init("specversion", "1.0"), .init("id", "1"), .init("source", "/s"), .init("type", "t")], at: 0)
            }
            var payload = (0..<Int.random(in: 0...40, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            if Bool.random(using: &random) {
                // A structured event, cut anywhere or whole (from 66 bytes on).
                payload = Array(#"{"specversion":"1.0","id":"1","source":"/s","type":"t","data":[1,2]}"#.utf8)
                    .prefix(Int.random(in: 0...80, using: &random)).map { $0 }
            }
            let message = MQTTMessage(
                topic: "t", payload: payload, contentType: Self.contentTypes.randomElement(using: &random)!,
                userProperties: properties)
            for version in MQTTProtocolVersion.allCases {
                let reader = MQTTMessageReader(message, protocolVersion: version)
                // Both ways of reading it: straight from the PUBLISH, and through the generic
                // message. `throws(MessageError)` pins the error type; what is checked here is
                // what the outcome says.
                let direct = Result { () throws(MessageError) in try reader.event(formats: formats) }
                let generic = Result { () throws(MessageError) in try reader.message().event(formats: formats) }
                switch (direct, generic) {
                case (.success(let event), .success(let same)):
                    decoded += 1
                    if reader.contentMode == .structured { structuredDecoded += 1 }
                    #expect(event == same, "both ways decode the same event from \(message)")
                    #expect(throws: Never.self, "a decoded event is valid: \(message)") { try event.validate() }
                case (.failure(let error), .failure(let same)):
                    refused += 1
                    #expect(!error.description.isEmpty, "the error says what is wrong: \(message)")
                    #expect(!same.description.isEmpty, "the error says what is wrong: \(message)")
                default:
                    Issue.record("read directly: \(direct); through the generic message: \(generic); for \(message)")
                }
            }
        }
        #expect(refused > 0, "some random messages are refused")
        #expect(decoded > 0, "some random messages are valid events")
        #expect(structuredDecoded > 0, "some are valid structured events")
    }
}
