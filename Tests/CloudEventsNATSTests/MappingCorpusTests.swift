import CloudEvents
import CloudEventsConformance
import CloudEventsNATS
import CloudEventsProtobuf
import Testing

/// Every corpus event through the NATS mapping: binary (headers) and structured (JSON and
/// Protobuf), read back directly and through the protocol-independent message; and the
/// binary-mode fast paths against the general writer and reader on every case.
@Suite struct MappingCorpusTests {
    static let formats = EventFormatRegistry.standard.adding(ProtobufEventFormat())

    @Test func theCorpusRoundTripsInBinaryMode() throws {
        #expect(!Corpus.events.isEmpty)
        for testCase in Corpus.events {
            let message = try NATSMessage(subject: "corpus", event: testCase.event)
            let headers = try #require(message.headers, "\(testCase)")
            #expect(headers.allSatisfy { $0.name.hasPrefix("ce-") && $0.name == $0.name.lowercased() }, "\(testCase)")
            #expect(headers["content-type"] == nil, "\(testCase)")
            #expect(NATSMessageReader.detectMode(message) == .binary, "\(testCase)")
            let decoded = try CloudEvent(natsMessage: message, extensionTypes: Corpus.extensionTypes)
            #expect(Equivalence.headers.differences(testCase.event, decoded) == [], "\(testCase)")
            let viaMessage = try NATSMessageReader(message).message().event(extensionTypes: Corpus.extensionTypes)
            #expect(viaMessage == decoded, "\(testCase) via Message")
        }
    }

    @Test(arguments: [false, true])
    func theCorpusRoundTripsInStructuredMode(protobuf: Bool) throws {
        let format: any EventFormat = protobuf ? ProtobufEventFormat() : JSONEventFormat()
        for testCase in Corpus.events {
            let message = try NATSMessage(subject: "corpus", event: testCase.event, mode: .structured, format: format)
            #expect(message.headers?["Content-Type"] == format.mediaType, "\(testCase)")
            let decoded = try CloudEvent(natsMessage: message, formats: Self.formats, extensionTypes: Corpus.extensionTypes)
            let equivalence: Equivalence = protobuf ? .typedUTC : .exact
            #expect(equivalence.differences(testCase.event, decoded) == [], "\(testCase) as \(format.mediaType)")
            let viaMessage = try NATSMessageReader(message).message()
                .event(formats: Self.formats, extensionTypes: Corpus.extensionTypes)
            #expect(viaMessage == decoded, "\(testCase) via Message")
        }
    }

    @Test func theCorpusRoundTripsAsStructuredJSONWithoutHeaders() throws {
        for testCase in Corpus.events {
            let message = try NATSMessage(
                subject: "corpus", event: testCase.event, mode: .structured, serverSupportsHeaders: false)
            #expect(message.headers == nil)
            let decoded = try CloudEvent(natsMessage: message, extensionTypes: Corpus.extensionTypes)
            #expect(Equivalence.exact.differences(testCase.event, decoded) == [], "\(testCase)")
        }
    }

    @Test func theFastPathsProduceWhatTheGeneralPathsProduce() throws {
        for testCase in Corpus.events {
            // Encode: the event straight to headers vs. the message writer.
            let fast = try NATSMessage(subject: "corpus", event: testCase.event)
            var writer = NATSMessageWriter(subject: "corpus")
            try testCase.event.write(to: &writer, mode: .binary)
            #expect(fast == writer.natsMessage, "\(testCase)")
            // Decode: the reader's event (fast path) vs. the builder over the generic message.
            let reader = NATSMessageReader(fast)
            for types in [ExtensionTypes.none, Corpus.extensionTypes] {
                let direct = try reader.event(extensionTypes: types)
                var builder = CloudEventBuilder(extensionTypes: types)
                try reader.readBinary(into: &builder)
                #expect(direct == (try builder.build()), "\(testCase)")
            }
            // The message in one pass vs. the visitor and the metadata property.
            var general = Message()
            try reader.readBinary(into: &general)
            general.metadata = reader.metadata
            #expect(try reader.message() == general, "\(testCase)")
        }
    }

    @Test func aBinaryMessageIsForwardedToAnotherBindingUnchanged() throws {
        for testCase in Corpus.events {
            let original = try Message(testCase.event, mode: .binary)
            let forwarded = try NATSMessageReader(try NATSMessage(subject: "s", message: original)).message()
            let decoded = try forwarded.event(extensionTypes: Corpus.extensionTypes)
            #expect(Equivalence.headers.differences(testCase.event, decoded) == [], "\(testCase)")
        }
    }
}
