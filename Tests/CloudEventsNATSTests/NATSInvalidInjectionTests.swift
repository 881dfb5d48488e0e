import CloudEvents
import CloudEventsConformance
import CloudEventsNATS
import CloudEventsProtobuf
import CloudEventsTransports
import Testing

/// The corpus's invalid NATS messages injected through the real nats-server by a raw
/// connection (the conformance module's `RawNATSConnection`: `HPUB`/`PUB` with the corpus's
/// header bytes unchanged) into the binding's receiver: each arrives as a delivery whose
/// `event()` throws the case's error (a typed ``MessageError``), and a valid event sent next
/// through the binding's sender still arrives: bad input never takes the subscription down.
@Suite("Invalid NATS messages injected", NATSBroker.gate, .timeLimit(.minutes(3)))
struct NATSInvalidInjectionTests {
    enum Record: Sendable {
        case event(CloudEvent)
        case refused(String)
    }

    static let options = BindingOptions(formats: .standardWithProtobuf, timeout: .seconds(30), retries: 0)

    @Test func eachIsRefusedWithItsErrorAndTheNextValidEventArrives() async throws {
        let registry = try BindingRegistry([NATSBinding()])
        let subject = NATSBroker.uniqueSubject()
        let endpoint = try NATSBroker.endpoint(subject: subject)
        let inbox = ConformanceInbox<Record>()
        try await registry.withReceiver(for: endpoint, options: Self.options) { receiver in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await delivery in receiver.deliveries() {
                        // `event()` throws a typed MessageError: the type is the check.
                        do throws(MessageError) {
                            let event = try delivery.event()
                            _ = delivery.accept()
                            inbox.post(.event(event))
                        } catch {
                            _ = delivery.reject(reason: "\(error)", condition: .invalidMessage)
                            inbox.post(.refused("\(error)"))
                        }
                    }
                }
                defer { group.cancelAll() }
                try await RawNATSConnection.withConnection(
                    host: NATSBroker.host, port: NATSBroker.port, timeout: .seconds(30)
                ) { raw in
                    try await registry.withSender(for: endpoint, options: Self.options) { sender in
                        for (index, item) in InvalidInputs.nats.enumerated() {
                            try raw.publish(item.message(subject: subject))
                            try await raw.flush()
                            switch await inbox.next(before: .now + .seconds(30)) {
                            case .refused(let error)?:
                                #expect(error.contains(item.error), "\(item.name): got: \(error)")
                            case .event(let event)?: Issue.record("\(item.name): delivered and decoded as \(event)")
                            case nil: Issue.record("\(item.name): no delivery within 30 s")
                            }
                            var valid = CloudEvent(
                                id: "valid-after-\(index)", source: "/injection", type: "com.example.injection.valid")
                            valid.dataContentType = "text/plain"
                            valid.data = .text("still here \(index)")
                            _ = try await sender.send(valid)
                            guard case .event(let event)? = await inbox.next(before: .now + .seconds(30)) else {
                                Issue.record("after \(item.name): the valid event did not arrive")
                                continue
                            }
                            #expect(event == valid, "after \(item.name)")
                        }
                        #expect(raw.errors.isEmpty, "\(raw.errors)")
                    }
                }
            }
        }
    }
}
