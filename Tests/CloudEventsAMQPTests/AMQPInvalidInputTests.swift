import CloudEvents
import CloudEventsAMQP
import CloudEventsConformance
import CloudEventsProtobuf
import CloudEventsTestSupport
import CloudEventsTransports
import Foundation
import Testing

/// The corpus's invalid AMQP messages (`Conformance/Cases/invalid/amqp.json`: mixed
/// prefixes, a long `time`, an Integer beyond 32 bits, a missing specversion, an amqp-value
/// body, a batch content type, ...), written by the conformance module's own AMQP encoder.
@Suite("Invalid AMQP messages")
struct AMQPInvalidInputTests {
    static let formats = EventFormatRegistry.standardWithProtobuf

    /// What reading `bytes` as an event gives: the event, or the error's description.
    enum Reading {
        case event(CloudEvent)
        case refused(String)
    }

    static func read(_ bytes: [UInt8]) -> Reading {
        do {
            let message = try bytes.withUnsafeBytes { raw throws(TransportError) in try AMQPMessageCodec.decode(raw) }
            return .event(try message.event(formats: formats, extensionTypes: .none))
        } catch {
            return .refused("\(error)")
        }
    }

    @Test func theCorpusHasTheCasesTheIssueNames() {
        let names = InvalidInputs.amqp.map(\.name)
        for needed in ["mixed", "time as an AMQP long", "above the 32-bit range", "no specversion", "amqp-value", "batch"] {
            #expect(names.contains { $0.contains(needed) }, "no case about '\(needed)'")
        }
    }

    /// Each case, as bytes on the wire, is refused by the mapping with its error.
    @Test(arguments: InvalidInputs.amqp)
    func eachCaseIsATypedErrorNamingWhatIsWrong(_ item: InvalidInputs.AMQPCase) throws {
        #expect(try RawAMQPMessage(parsing: item.bytes) == item.message)
        switch Self.read(item.bytes) {
        case .event(let event): Issue.record("\(item.name): decoded as \(event)")
        case .refused(let error): #expect(error.contains(item.error), "\(item.name): got: \(error)")
        }
    }
}
