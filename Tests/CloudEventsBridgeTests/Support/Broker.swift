import CloudEventsTestSupport
import Foundation
import Testing

/// The mosquitto of `Scripts/brokers` that the bridge's fault tests publish through (its
/// address comes from the environment).
///
/// Whether those suites run is decided here, once, by ``requirement`` (see
/// ``BrokerRequirement``): with `CE_TEST_BROKERS=1` or `CI=true` a missing or unreachable
/// broker fails them; only without either (and without a configured broker) do they skip,
/// and the skip line says how to run them.
enum Broker {
    static let environment = ProcessInfo.processInfo.environment

    /// The listener the suites use: the plain, anonymous one.
    static let listeners = [(variable: "CE_TEST_MQTT_PORT", listener: "plain")]

    /// What the suites do in this process (decided once).
    static let requirement = BrokerRequirement.mqtt(listeners: listeners, in: environment)

    /// The broker's host.
    static var host: String { environment["CE_TEST_MQTT_HOST"] ?? "127.0.0.1" }

    /// The plain listener's port.
    static var port: Int { Int(environment["CE_TEST_MQTT_PORT"] ?? "") ?? 1883 }

    /// A topic prefix no other test uses (a test's events go to `<prefix>/…`).
    static func uniqueTopic(_ name: String) -> String {
        "ce-bridge-tests/\(uniqueID(name))"
    }

    /// `name` (letters and digits, at most 12) and a random number: a client id or id prefix
    /// of this test alone, short enough for any MQTT server (23 characters).
    static func uniqueID(_ name: String) -> String {
        "\(name.filter { $0.isLetter || $0.isNumber }.prefix(12))-\(UInt32.random(in: 0...UInt32.max))"
    }
}

extension Trait where Self == ConditionTrait {
    /// The gate of the suites that need the mosquitto of `Scripts/brokers`: runs them when the
    /// broker answers, fails every test when it is required (`CE_TEST_BROKERS=1` or
    /// `CI=true`) but missing, and otherwise skips them with a line saying how to run them.
    static var mqttBroker: Self {
        BrokerRequirement.gate(skipComment: BrokerRequirement.mqttSkipComment) { Broker.requirement }
    }
}
