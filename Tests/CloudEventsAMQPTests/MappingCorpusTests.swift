import CloudEvents
import CloudEventsAMQP
import CloudEventsConformance
import CloudEventsProtobuf
import Testing

/// Every corpus event through the AMQP mapping and proton's codec, binary (both prefixes)
/// and structured (JSON and Protobuf).
@Suite struct AMQPMappingCorpusTests {
    /// What AMQP binary mode preserves: timestamps by instant (UTC milliseconds, or the
    /// canonical string when finer), data by bytes, and the implied JSON content type written
    /// out. Extensions compare exactly: with the corpus's extension types, the URI and
    /// URI-reference extensions that AMQP carries as strings are typed again on receipt.
    static let binaryEquivalence = Equivalence(
        timestampsByInstant: true, extensionsByCanonicalString: false, dataByBytes: true, impliedJSONContentType: true)

    private func throughProton(_ message: AMQPMessage) throws -> AMQPMessage {
        try AMQPMessageCodec.encode(message).withUnsafeBytes { buffer in try AMQPMessageCodec.decode(buffer) }
    }

    @Test(arguments: [AMQPPropertyPrefix.underscore, .colon])
    func theCorpusRoundTripsInBinaryMode(prefix: AMQPPropertyPrefix) throws {
        #expect(!Corpus.events.isEmpty)
        for testCase in Corpus.events {
            let message = try throughProton(try AMQPMessage(testCase.event, mode: .binary, prefix: prefix))
            #expect(message.applicationProperties.allSatisfy { $0.name.hasPrefix(prefix.rawValue) }, "\(testCase)")
            let decoded = try CloudEvent(amqpMessage: message, extensionTypes: Corpus.extensionTypes)
            #expect(Self.binaryEquivalence.differences(testCase.event, decoded) == [], "\(testCase)")
            // And through the protocol-independent message, as a receiver hands it out.
            let viaMessage = try message.message().event(extensionTypes: Corpus.extensionTypes)
            #expect(Self.binaryEquivalence.differences(testCase.event, viaMessage) == [], "\(testCase) via Message")
        }
    }

    @Test(arguments: [false, true])
    func theCorpusRoundTripsInStructuredMode(protobuf: Bool) throws {
        let format: any EventFormat = protobuf ? ProtobufEventFormat() : JSONEventFormat()
        let formats = EventFormatRegistry.standard.adding(ProtobufEventFormat())
        for testCase in Corpus.events {
            let message = try throughProton(try AMQPMessage(testCase.event, mode: .structured, format: format))
            #expect(message.contentType == format.mediaType)
            let decoded = try CloudEvent(amqpMessage: message, formats: formats, extensionTypes: Corpus.extensionTypes)
            let equivalence: Equivalence = protobuf ? .typedUTC : .exact
            #expect(equivalence.differences(testCase.event, decoded) == [], "\(testCase) as \(format.mediaType)")
        }
    }

    @Test func aBinaryMessageIsForwardedToAnotherBindingUnchanged() throws {
        for testCase in Corpus.events {
            let original = try Message(testCase.event, mode: .binary)
            let forwarded = try throughProton(try AMQPMessage(original)).message()
            let decoded = try forwarded.event(extensionTypes: Corpus.extensionTypes)
            #expect(Self.binaryEquivalence.differences(testCase.event, decoded) == [], "\(testCase)")
        }
    }
}
