import CloudEventsTestSupport
import Foundation
import Testing

/// The mosquitto of `Scripts/brokers` that the `ce over MQTT` tests send through (its
/// addresses come from the environment).
///
/// Whether those tests run is decided here, once, by ``requirement`` (see
/// ``BrokerRequirement``): with `CE_TEST_BROKERS=1` or `CI=true` a missing or unreachable
/// broker fails them; only without either (and without a configured broker) do they skip,
/// and the skip line says how to run them.
enum Broker {
    static let environment = ProcessInfo.processInfo.environment

    /// The listeners the tests use, by the variable that gives each port.
    static let listeners = [(variable: "CE_TEST_MQTT_PORT", listener: "plain"), ("CE_TEST_MQTT_TLS_PORT", "TLS")]

    /// What the skip line of the broker-backed suite says.
    static let skipComment = BrokerRequirement.mqttSkipComment

    /// What the broker-backed suite does in this process (decided once).
    static let requirement = requirement(in: environment)

    /// What the broker-backed suite does given `environment`: probes every listener of
    /// ``listeners`` on loopback when the brokers are required or configured.
    static func requirement(in environment: [String: String]) -> BrokerRequirement {
        BrokerRequirement.mqtt(listeners: listeners, in: environment)
    }

    /// The suite's condition over `requirement` (see ``BrokerRequirement/gate(skipComment:_:)``).
    static func gate(_ requirement: @escaping @Sendable () -> BrokerRequirement) -> ConditionTrait {
        BrokerRequirement.gate(skipComment: skipComment, requirement)
    }
}

extension Trait where Self == ConditionTrait {
    /// The gate of the suites that need the mosquitto of `Scripts/brokers`: runs them when
    /// the broker answers, fails every test when the broker is required (`CE_TEST_BROKERS=1`
    /// or `CI=true`) but missing, and otherwise skips them with a line saying how to run them.
    static var mqttBroker: Self { Broker.gate { Broker.requirement } }
}
