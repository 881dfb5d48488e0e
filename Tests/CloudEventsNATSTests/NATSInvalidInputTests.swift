import CloudEvents
import CloudEventsConformance
import CloudEventsNATS
import CloudEventsProtobuf
import Testing

/// The corpus's invalid NATS messages (`Conformance/Cases/invalid/nats.json`) read by the
/// mapping alone, no server: each must give its case's error, from the event path and from
/// the protocol-independent message, and never a crash.
@Suite("Invalid NATS messages read by the mapping")
struct NATSInvalidInputTests {
    static let formats = EventFormatRegistry.standardWithProtobuf

    /// A case as the binding's client hands it over: the header fields' bytes as sent.
    static func natsMessage(_ item: InvalidInputs.NATSCase, subject: String = "ce-invalid") -> NATSMessage {
        let headers = item.headers.map { NATSHeaders($0.map { NATSHeaders.Field(name: $0.name, value: $0.value) }) }
        return NATSMessage(subject: subject, headers: headers, payload: item.payload)
    }

    @Test func theSetHasFortyCasesOrMore() {
        #expect(InvalidInputs.nats.count >= 40)
    }

    @Test(arguments: InvalidInputs.nats)
    func eachCaseGivesItsError(_ item: InvalidInputs.NATSCase) {
        let reader = NATSMessageReader(Self.natsMessage(item))
        #expect {
            _ = try reader.event(formats: Self.formats)
        } throws: { error in
            "\(error)".contains(item.error)
        }
        #expect {
            _ = try reader.message().event(formats: Self.formats, extensionTypes: .none)
        } throws: { error in
            "\(error)".contains(item.error)
        }
    }
}
