import CloudEvents
import CloudEventsConformance
import CloudEventsNATS
import Testing

/// nats-server forwards a publisher's header block as it came (checked: nats-server 2.9 relays
/// `GARBAGE\r\n\r\n` to subscribers). A malformed block is then that one message's fault: it
/// arrives as a delivery whose `event()` names the bad block, the connection stays up (no
/// reconnect, nothing in flight lost), and the next event arrives.
@Suite("A malformed header block from another publisher", NATSBroker.gate, .timeLimit(.minutes(2)))
struct MalformedHeaderBlockTests {
    @Test func isRefusedAsThatMessageAloneAndTheConnectionStaysUp() async throws {
        let subject = NATSBroker.uniqueSubject()
        var configuration = NATSClientConfiguration(host: NATSBroker.host, port: NATSBroker.port)
        configuration.operationTimeout = .seconds(30)
        try await NATSClient.withClient(configuration: configuration) { client in
            let receiver = try await NATSEventReceiver.subscribe(client: client, subject: subject)
            var deliveries = receiver.deliveries().makeAsyncIterator()
            try await RawNATSConnection.withConnection(
                host: NATSBroker.host, port: NATSBroker.port, timeout: .seconds(30)
            ) { raw in
                let malformed: [(RawNATSMessage, names: String)] = [
                    (
                        RawNATSMessage(subject: subject, statusLine: "GARBAGE", headers: [], payload: Array("x".utf8)),
                        "does not start with 'NATS/1.0'"
                    ),
                    (
                        RawNATSMessage(subject: subject, headers: [RawNATSHeader("bad name", "v")], payload: []),
                        "header name has whitespace"
                    )
                ]
                for (message, names) in malformed {
                    try raw.publish(message)
                    try await raw.flush()
                    let delivery = try #require(try await deliveries.next())
                    do {
                        let event = try delivery.event()
                        Issue.record("decoded as \(event)")
                    } catch {
                        #expect("\(error)".contains("bad header block") && "\(error)".contains(names), "\(error)")
                    }
                    _ = delivery.reject(reason: "bad header block", condition: .invalidMessage)
                }
            }
            let valid = CloudEvent(id: "after-the-bad-blocks", source: "/malformed", type: "com.example.valid")
            try await NATSEventSender(client: client, subject: subject).send(valid)
            let delivery = try #require(try await deliveries.next())
            #expect(try delivery.event() == valid)
            _ = delivery.accept()
            #expect(client.statistics.reconnects == 0, "a bad header block dropped the connection")
        }
    }
}
