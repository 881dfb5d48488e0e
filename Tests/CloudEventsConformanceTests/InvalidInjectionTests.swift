import CloudEvents
import CloudEventsConformance
import CloudEventsHTTP
import CloudEventsMQTT
import CloudEventsProtobuf
import CloudEventsTestSupport
import CloudEventsTransports
import Foundation
import Logging
import Testing

/// Every invalid native input of the corpus (`invalid/http.json`, `invalid/mqtt5.json`),
/// injected as a raw native message over the real binding, gives its named error on the
/// receiving side, is refused (never a crash), and the next valid event is still delivered.
/// `CorpusInvalidInputTests` checks the same cases at the mapping level; these check what a
/// receiver started through the ``BindingRegistry`` does with them on the wire.
enum InvalidInjection {
    static let formats = EventFormatRegistry.standardWithProtobuf

    static func registry() throws -> BindingRegistry {
        try BindingRegistry([InProcessBinding(), HTTPBinding(drainTimeout: .seconds(1)), MQTTBinding()])
    }

    /// The valid event sent after the invalid input at `index`.
    static func validEvent(after index: Int) -> CloudEvent {
        var event = CloudEvent(id: "valid-after-\(index)", source: "/injection", type: "com.example.injection.valid")
        event.dataContentType = "text/plain"
        event.data = .text("still here \(index)")
        return event
    }
}

@Suite("Invalid inputs injected over HTTP")
struct InvalidInjectionHTTPTests {
    /// The status the receiver answers `item` with when it refuses it before any delivery
    /// exists: 415 for a structured or batched media type with no registered format, 400 for
    /// any other invalid event.
    static func refusalStatus(_ item: InvalidInputs.HTTPCase) -> Int {
        item.error.hasPrefix("no event format is registered for media type") ? 415 : 400
    }

    /// All cases against one receiver, in order, each on its own connection written byte
    /// by byte (`POST`, `Host`, the case's fields exactly as given, `Content-Length`, body):
    /// the exact status, the error in the response body and in the receiver's `.warning`
    /// refusal log; then a valid binary-mode event through the registry's sender is
    /// accepted (202) and decodes.
    @Test func everyInvalidRequestIsRefusedWithItsErrorAndTheNextEventIsDelivered() async throws {
        let logs = CapturedLogs()
        let options = BindingOptions(
            formats: InvalidInjection.formats, timeout: .seconds(30), retries: 0, logger: logs.logger(label: "injection"))
        let registry = try InvalidInjection.registry()
        let cases = InvalidInputs.http
        var refusedBeforeDelivery = 0
        var deliveredAndRejected = 0
        var statuses: [Int: Int] = [:]

        try await registry.withReceiver(
            for: Endpoint("http://127.0.0.1:0/injection", allowingPortZero: true), options: options
        ) { receiver in
            let port = try #require(receiver.endpoint.port)
            let consumer = InjectionConsumer()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await consumer.consume(receiver) }
                defer { group.cancelAll() }
                let target = try Endpoint("http://127.0.0.1:\(port)/injection?mode=binary")
                try await registry.withSender(for: target, options: options) { sender in
                    for (index, item) in cases.enumerated() {
                        let deliveriesBefore = consumer.count
                        let logsBefore = logs.all.count
                        let request = RawHTTPClient.post(
                            path: "/injection", host: "127.0.0.1:\(port)",
                            fields: item.headers.map { ($0.name, $0.value) }, body: item.body)
                        let response = try await RawHTTPClient.exchange(request, port: port)
                        statuses[response.status, default: 0] += 1

                        let delivered = consumer.received(from: deliveriesBefore)
                        if delivered.isEmpty {
                            refusedBeforeDelivery += 1
                            #expect(response.status == Self.refusalStatus(item), "\(item.name): \(response)")
                            let refusals = logs.all.dropFirst(logsBefore).filter { $0.message == "refused an HTTP request" }
                            let logged = try #require(refusals.first, "\(item.name): no refusal logged")
                            #expect(refusals.count == 1 && logged.level == .warning, "\(item.name): \(refusals)")
                            #expect(logged.metadata["status"] == String(response.status), "\(item.name): \(logged.metadata)")
                            #expect(
                                logged.metadata["reason"]?.contains(item.error) == true,
                                "\(item.name): logged \(logged.metadata["reason"] ?? "-")")
                        } else {
                            // Turned into a delivery: the consumer's decoding must fail with the
                            // error, and its rejection is the 400.
                            deliveredAndRejected += 1
                            #expect(delivered.count == 1, "\(item.name): \(delivered)")
                            guard case .refused(let error) = delivered[0] else {
                                Issue.record("\(item.name): delivered and decoded: \(delivered[0])")
                                continue
                            }
                            #expect(error.contains(item.error), "\(item.name): got: \(error)")
                            #expect(consumer.settlement(at: deliveriesBefore) == .rejected(reason: error))
                            #expect(response.status == 400, "\(item.name): \(response)")
                        }
                        #expect(response.bodyText.contains(item.error), "\(item.name): got: \(response)")
                        #expect(response.field("Content-Type")?.hasPrefix("text/plain") == true, "\(item.name)")

                        // The receiver goes on: the next valid event is delivered and decodes.
                        let valid = InvalidInjection.validEvent(after: index)
                        let outcome = try await sender.send(valid)
                        #expect(outcome.summary.hasPrefix("202"), "after \(item.name): \(outcome.summary)")
                        let next = try await consumer.waitForRecord(at: deliveriesBefore + delivered.count)
                        guard case .event(let event) = next else {
                            Issue.record("after \(item.name): expected the valid event, got \(String(describing: next))")
                            continue
                        }
                        #expect(event == valid, "after \(item.name)")
                    }
                }
            }
        }
        print(
            "HTTP injection: \(cases.count) cases ran: \(refusedBeforeDelivery) refused before any delivery, "
                + "\(deliveredAndRejected) delivered and rejected by the consumer; statuses: "
                + statuses.sorted { $0.key < $1.key }.map { "\($0.value) × \($0.key)" }.joined(separator: ", "))
        #expect(refusedBeforeDelivery + deliveredAndRejected == cases.count)
        #expect(cases.count >= 40)
    }
}

/// The MQTT broker the suite publishes through (mosquitto of `Scripts/brokers`), gated by
/// ``BrokerRequirement``: with `CE_TEST_BROKERS=1` or `CI=true` a missing broker fails.
enum InjectionBroker {
    static let environment = ProcessInfo.processInfo.environment
    static let requirement = BrokerRequirement.decide(
        broker: "the MQTT broker (mosquitto of Scripts/brokers)",
        listeners: [(variable: "CE_TEST_MQTT_PORT", listener: "plain")], hostVariable: "CE_TEST_MQTT_HOST",
        in: environment)
    static let gate = BrokerRequirement.gate(
        skipComment: BrokerRequirement.skipComment(broker: "MQTT broker", variable: "CE_TEST_MQTT_PORT")
    ) { requirement }

    static var host: String { environment["CE_TEST_MQTT_HOST"] ?? "127.0.0.1" }
    static var port: Int { Int(environment["CE_TEST_MQTT_PORT"] ?? "") ?? 1883 }
}

@Suite("Invalid inputs injected over MQTT 5", InjectionBroker.gate)
struct InvalidInjectionMQTT5Tests {
    /// Why `mosquitto_pub` cannot carry `item` at all, or `nil`.
    static func inexpressible(_ item: InvalidInputs.MQTT5Case) -> String? {
        let strings = [item.contentType ?? ""] + item.userProperties.flatMap { [$0.name, $0.value] }
        if strings.contains(where: { $0.unicodeScalars.contains("\u{0}") }) {
            return "a NUL cannot be passed in a command-line argument (MQTT 5 §1.5.4 forbids U+0000 in a UTF-8 string)"
        }
        return nil
    }

    /// Whether `item` has a code point that MQTT 5 §1.5.4 lets a receiver treat as malformed
    /// (a control character or a noncharacter) in a UTF-8 string: mosquitto closes the
    /// publisher's connection for it, so the PUBLISH cannot reach any subscriber.
    static func brokerMayRefuse(_ item: InvalidInputs.MQTT5Case) -> Bool {
        let strings = [item.contentType ?? ""] + item.userProperties.flatMap { [$0.name, $0.value] }
        return strings.contains { string in
            string.unicodeScalars.contains { scalar in
                let value = scalar.value
                return value < 0x20 || (0x7F...0x9F).contains(value) || (0xFDD0...0xFDEF).contains(value)
                    || value & 0xFFFE == 0xFFFE
            }
        }
    }

    /// Each case published by `mosquitto_pub` to one subscription of the real binding: it
    /// arrives as a delivery whose `event()` throws the case's error, the consumer rejects
    /// it (logged as a refusal), and a valid event published by our sender is delivered next.
    /// A case that `mosquitto_pub` or the broker cannot carry is counted and printed, never
    /// dropped silently.
    @Test func everyInvalidPublishIsRejectedWithItsErrorAndTheNextEventIsDelivered() async throws {
        let publisher = try #require(
            MosquittoPub.locate(host: InjectionBroker.host, port: InjectionBroker.port),
            "mosquitto_pub is not installed (Debian's mosquitto-clients; Scripts/bootstrap installs it)")
        let logs = CapturedLogs()
        let options = BindingOptions(
            formats: InvalidInjection.formats, timeout: .seconds(30), logger: logs.logger(label: "injection"))
        let registry = try InvalidInjection.registry()
        let topic = "ce-injection/\(UInt32.random(in: 0...UInt32.max))"
        let base = "mqtt://\(InjectionBroker.host):\(InjectionBroker.port)/\(topic)?version=5&qos=1"
        let cases = InvalidInputs.mqtt5
        var ran = 0
        var skipped: [(name: String, reason: String)] = []

        try await registry.withReceiver(for: Endpoint(base), options: options) { receiver in
            let consumer = InjectionConsumer()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await consumer.consume(receiver) }
                defer { group.cancelAll() }
                try await registry.withSender(for: Endpoint(base + "&mode=binary"), options: options) { sender in
                    for (index, item) in cases.enumerated() {
                        if let reason = Self.inexpressible(item) {
                            skipped.append((item.name, reason))
                            continue
                        }
                        let deliveriesBefore = consumer.count
                        let logsBefore = logs.all.count
                        let published = try await publisher.publish(
                            topic: topic, contentType: item.contentType,
                            userProperties: item.userProperties.map { ($0.name, $0.value) }, payload: item.payload)
                        if published.status != 0 {
                            let why = published.standardError.trimmingCharacters(in: .whitespacesAndNewlines)
                            if Self.brokerMayRefuse(item) {
                                skipped.append(
                                    (
                                        item.name,
                                        "mosquitto refused the PUBLISH (a code point MQTT 5 §1.5.4 lets it "
                                            + "treat as malformed): mosquitto_pub exit \(published.status): \(why)"
                                    ))
                                continue
                            }
                            Issue.record("\(item.name): mosquitto_pub exit \(published.status): \(why)")
                            continue
                        }
                        ran += 1
                        let received = try await consumer.waitForRecord(at: deliveriesBefore)
                        switch received {
                        case .refused(let error):
                            #expect(error.contains(item.error), "\(item.name): got: \(error)")
                            #expect(consumer.settlement(at: deliveriesBefore) == .rejected(reason: error))
                            let rejections = logs.all.dropFirst(logsBefore).filter {
                                $0.level == .warning && $0.message.hasPrefix("MQTT delivery rejected")
                            }
                            #expect(rejections.map { $0.metadata["reason"] } == [error], "\(item.name)")
                        case .event(let event):
                            Issue.record("\(item.name): delivered and decoded as \(event)")
                        case nil:
                            Issue.record("\(item.name): no delivery within 5 s")
                        }

                        let valid = InvalidInjection.validEvent(after: index)
                        _ = try await sender.send(valid)
                        let next = try await consumer.waitForRecord(
                            at: consumer.count > deliveriesBefore ? deliveriesBefore + 1 : deliveriesBefore)
                        guard case .event(let event) = next else {
                            Issue.record("after \(item.name): expected the valid event, got \(String(describing: next))")
                            continue
                        }
                        #expect(event == valid, "after \(item.name)")
                    }
                }
            }
        }
        print("MQTT 5 injection: \(ran) of \(cases.count) cases ran, \(skipped.count) skipped:")
        for skip in skipped { print("  skipped '\(skip.name)': \(skip.reason)") }
        #expect(ran + skipped.count == cases.count)
        #expect(ran >= 40, "too few cases reached the receiver: \(ran)")
    }
}
