import CloudEventsTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The decision of ``Broker/requirement``, without a broker: when the brokers are required,
/// a broker that is down is a failure, never a skip.
@Suite struct BrokerRequirementTests {
    static let variables = ["CE_TEST_MQTT_PORT", "CE_TEST_MQTT_AUTH_PORT", "CE_TEST_MQTT_TLS_PORT", "CE_TEST_MQTT_MTLS_PORT"]

    /// Every listener variable pointing at `port` on loopback, plus `extra`.
    static func environment(port: Int?, _ extra: [String: String]) -> [String: String] {
        var environment = extra
        environment["CE_TEST_MQTT_HOST"] = "127.0.0.1"
        if let port {
            for variable in variables { environment[variable] = String(port) }
        }
        return environment
    }

    @Test(arguments: [["CE_TEST_BROKERS": "1"], ["CI": "true"], ["CE_TEST_BROKERS": "1", "CI": "true"], [:]])
    func aBrokerThatIsDownFailsTheSuiteInsteadOfSkippingIt(extra: [String: String]) async throws {
        let port = try LoopbackSocket.closedPort()
        let requirement = Broker.requirement(in: Self.environment(port: port, extra))
        guard case .fail(let reason) = requirement else {
            Issue.record("expected a failure, got \(requirement)")
            return
        }
        #expect(reason.contains("MQTT broker"), "names the broker: \(reason)")
        for variable in Self.variables {
            #expect(reason.contains("127.0.0.1:\(port) (\(variable)"), "names \(variable): \(reason)")
        }
        #expect(reason.contains(#"eval "$(Scripts/brokers env)""#), "\(reason)")
        // Through the suites' own trait: an error (recorded as an issue on every test), not `false` (a skip).
        await #expect(throws: BrokerUnavailable(description: reason)) {
            _ = try await Broker.gate { requirement }.evaluate()
        }
    }

    @Test(arguments: [["CE_TEST_BROKERS": "1"], ["CI": "true"], ["CI": "TRUE"]])
    func requiredWithoutAnyBrokerVariableFailsNamingThem(extra: [String: String]) throws {
        let requirement = Broker.requirement(in: Self.environment(port: nil, extra))
        guard case .fail(let reason) = requirement else {
            Issue.record("expected a failure, got \(requirement)")
            return
        }
        #expect(reason.contains("required"), "\(reason)")
        for variable in Self.variables {
            #expect(reason.contains("\(variable) is not set"), "names \(variable): \(reason)")
        }
    }

    @Test func aPortThatIsNotANumberFails() {
        var environment = Self.environment(port: 1, ["CE_TEST_BROKERS": "1"])
        environment["CE_TEST_MQTT_TLS_PORT"] = "tls"
        let requirement = Broker.requirement(in: environment)
        guard case .fail(let reason) = requirement else {
            Issue.record("expected a failure, got \(requirement)")
            return
        }
        #expect(reason.contains("CE_TEST_MQTT_TLS_PORT=tls is not a port"), "\(reason)")
    }

    @Test(arguments: [[:], ["CE_TEST_BROKERS": "", "CI": "false"], ["CE_TEST_BROKERS": "0"]])
    func neitherRequiredNorConfiguredSkipsSayingHowToRunThem(extra: [String: String]) async throws {
        let requirement = Broker.requirement(in: Self.environment(port: nil, extra))
        #expect(requirement == .skip)
        let gate = Broker.gate { requirement }
        #expect(try await gate.evaluate() == false)
        let comment = try #require(gate.comments.first?.rawValue)
        #expect(comment.contains(#"eval "$(Scripts/brokers env)""#), "\(comment)")
    }

    @Test(arguments: [["CE_TEST_BROKERS": "1"], [:]])
    func everyListenerAcceptingRuns(extra: [String: String]) async throws {
        let listener = try LoopbackSocket.listening()
        defer { close(listener.fd) }
        let requirement = Broker.requirement(in: Self.environment(port: listener.port, extra))
        #expect(requirement == .run)
        #expect(try await Broker.gate { requirement }.evaluate())
    }
}
