import CloudEvents
import CloudEventsMQTT

/// Publishes test events to the broker at QoS 1 through the MQTT binding's
/// ``MQTTEventSender``, in one of the shapes a bridge must read, and raw payloads through the
/// client itself.
final class EventPublisher: Sendable {
    /// How an event goes onto MQTT.
    enum Encoding: Sendable, CaseIterable, CustomStringConvertible {
        /// MQTT 5, attributes as User Properties.
        case mqtt5Binary
        /// MQTT 5, the JSON event as the payload.
        case mqtt5Structured
        /// MQTT 3.1.1 (structured JSON, the only shape it has).
        case mqtt311Structured

        var description: String {
            switch self {
            case .mqtt5Binary: return "MQTT 5 binary"
            case .mqtt5Structured: return "MQTT 5 structured"
            case .mqtt311Structured: return "MQTT 3.1.1 structured"
            }
        }
    }

    private let v5: MQTTClient
    private let v311: MQTTClient

    private init(v5: MQTTClient, v311: MQTTClient) {
        self.v5 = v5
        self.v311 = v311
    }

    /// Connects an MQTT 5 and an MQTT 3.1.1 client to `host:port`, runs `body` with the
    /// publisher, and shuts both down on every path.
    @discardableResult
    static func withPublisher<Result: Sendable>(
        host: String = Broker.host, port: Int = Broker.port, _ body: (EventPublisher) async throws -> Result
    ) async throws -> Result {
        try await MQTTClient.withClient(configuration: configuration(host: host, port: port, version: .v5)) { v5 in
            try await MQTTClient.withClient(configuration: configuration(host: host, port: port, version: .v311)) { v311 in
                try await body(EventPublisher(v5: v5, v311: v311))
            }
        }
    }

    private static func configuration(host: String, port: Int, version: MQTTProtocolVersion) -> MQTTClientConfiguration {
        // A reconnect backoff short enough that a broker restart costs a publish well under a
        // second; an operation timeout long enough to wait through that restart.
        MQTTClientConfiguration(
            host: host, port: port, protocolVersion: version, clientID: Broker.uniqueID("pub\(version == .v5 ? 5 : 3)"),
            cleanStart: true, keepAlive: .seconds(5),
            reconnect: .exponential(initial: .milliseconds(50), maximum: .milliseconds(500)),
            operationTimeout: .seconds(20))
    }

    /// Publishes `event` to `topic` as `encoding` and returns when the broker acknowledged it.
    ///
    /// - Throws: what ``MQTTEventSender`` throws.
    func publish(_ event: CloudEvent, to topic: String, as encoding: Encoding = .mqtt5Binary) async throws {
        switch encoding {
        case .mqtt5Binary: try await MQTTEventSender(client: v5, topic: topic, mode: .binary).send(event)
        case .mqtt5Structured: try await MQTTEventSender(client: v5, topic: topic, mode: .structured).send(event)
        case .mqtt311Structured: try await MQTTEventSender(client: v311, topic: topic, mode: .structured).send(event)
        }
    }

    /// Publishes events `indices` (``TestEvents/event(_:prefix:keys:)``) to `<topic>/<subject>`,
    /// one after the other, each acknowledged before the next, `interval` apart.
    ///
    /// - Returns: the ids published.
    /// - Throws: what ``publish(_:to:as:)`` throws.
    @discardableResult
    func publish(
        _ indices: Range<Int>, prefix: String, topic: String, as encoding: Encoding = .mqtt5Binary, keys: Int = 4,
        interval: Duration = .zero
    ) async throws -> [String] {
        var ids: [String] = []
        for index in indices {
            let event = TestEvents.event(index, prefix: prefix, keys: keys)
            try await publish(event, to: "\(topic)/\(event.subject ?? "none")", as: encoding)
            ids.append(event.id)
            if interval > .zero { try await Task.sleep(for: interval) }
        }
        return ids
    }

    /// Publishes `event` in MQTT 5 binary mode with `userProperties` added after the
    /// attributes' (a `traceparent` the bridge should carry, say).
    ///
    /// - Throws: `MessageError` for an invalid event, or what the client's publish throws.
    func publish(_ event: CloudEvent, to topic: String, userProperties: [MQTTUserProperty]) async throws {
        var message = try event.mqttMessage(topic: topic, qos: .atLeastOnce, mode: .binary)
        message.userProperties += userProperties
        try await v5.publish(message)
    }

    /// Publishes `payload` as it is (no CloudEvents attributes) over MQTT 5 at QoS 1.
    ///
    /// - Throws: what the client's publish throws.
    func publishRaw(_ payload: [UInt8], to topic: String, contentType: String? = nil) async throws {
        try await v5.publish(MQTTMessage(topic: topic, payload: payload, qos: .atLeastOnce, contentType: contentType))
    }
}
