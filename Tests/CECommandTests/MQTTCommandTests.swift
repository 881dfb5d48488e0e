import CloudEvents
import CloudEventsConformance
import CloudEventsTestSupport
import Foundation
import Testing

/// `ce send mqtt://…` to `ce listen mqtt://…`, both run as subprocesses against the
/// mosquitto of `Scripts/brokers`.
@Suite("ce over MQTT", .mqttBroker)
struct MQTTCommandTests {
    static let environment = Broker.environment
    static var broker: String { "127.0.0.1:\(environment["CE_TEST_MQTT_PORT"] ?? "1883")" }

    /// Starts `ce listen` on `endpoint` and waits until it subscribed.
    static func listen(_ endpoint: String, _ arguments: [String]) async throws -> CEProcess {
        let listener = try CEProcess(["listen", endpoint] + arguments)
        let line = await listener.firstErrorLine()
        guard let line, line.hasPrefix("ce: subscribed to ") else {
            throw ListenerDidNotStart(run: await listener.finish(timeLimit: 1))
        }
        return listener
    }

    @Test func sendsInEveryModeAndQoSToTheListener() async throws {
        let base = "ce-cmd/\(UInt32.random(in: 0...UInt32.max))"
        let listener = try await Self.listen("mqtt://\(Self.broker)/\(base)/%23", ["--count", "3", "--timeout", "90"])
        let sends: [(id: String, url: String)] = [
            ("binary", "mqtt://\(Self.broker)/\(base)/a?qos=1"),
            ("json", "mqtt://\(Self.broker)/\(base)/b?qos=2&mode=structured&format=json"),
            ("protobuf", "mqtt://\(Self.broker)/\(base)/c?qos=0&mode=structured&format=protobuf")
        ]
        for (id, url) in sends {
            let run = try await CE.run(["send", url, "--id", id] + HTTPCommandTests.eventOptions)
            #expect(run.status == 0, "\(id): \(run)")
            #expect(run.outputLines.count == 1 && run.outputLines[0].hasSuffix("acknowledged"), "\(id): \(run.output)")
        }
        let run = await listener.finish()
        #expect(run.status == 0, "\(run)")
        let events = try run.outputLines.map { try JSONEventFormat().decode(Array($0.utf8)) }
        try #require(events.count == 3, "\(run.output)")
        #expect(Equivalence.headers.differences(try HTTPCommandTests.expected(id: "binary"), events[0]) == [])
        #expect(events[1] == (try HTTPCommandTests.expected(id: "json")))
        #expect(Equivalence.typedUTC.differences(try HTTPCommandTests.expected(id: "protobuf"), events[2]) == [])
    }

    @Test func mqtt311StructuredJSON() async throws {
        let topic = "ce-cmd/\(UInt32.random(in: 0...UInt32.max))"
        let listener = try await Self.listen("mqtt://\(Self.broker)/\(topic)?version=3.1.1", ["--count", "1", "--timeout", "90"])
        let send = try await CE.run(
            ["send", "mqtt://\(Self.broker)/\(topic)?version=3.1.1", "--id", "v311"] + HTTPCommandTests.eventOptions)
        #expect(send.status == 0, "\(send)")
        let run = await listener.finish()
        #expect(run.status == 0, "\(run)")
        #expect(
            try run.outputLines.map { try JSONEventFormat().decode(Array($0.utf8)) } == [
                try HTTPCommandTests.expected(id: "v311")
            ])
    }

    @Test func mqttsVerifiesTheBrokerAgainstTheGivenCA() async throws {
        let port = try #require(Self.environment["CE_TEST_MQTT_TLS_PORT"])
        let ca = try #require(Self.environment["CE_TEST_TLS_CA_FILE"])
        let url = "mqtts://localhost:\(port)/ce-cmd/tls"
        let trusted = try await CE.run(["send", url, "--tls-ca", ca, "--id", "1", "--source", "/s", "--type", "t"])
        #expect(trusted.status == 0, "\(trusted)")
        let untrusted = try await CE.run(["send", url, "--id", "1", "--source", "/s", "--type", "t", "--timeout", "5"])
        #expect(untrusted.status == 3, "\(untrusted)")
        #expect(untrusted.stderr.contains("certificate verify failed"), "\(untrusted.stderr)")
    }

    @Test(arguments: [
        ("mqtt://127.0.0.1:1/t", 3, "cannot connect"),
        ("mqtt://127.0.0.1:1883/t?version=3.1.1&mode=binary", 1, "no binary mode"),
        ("mqtt://127.0.0.1:1883/t?qos=5", 1, "qos must be"),
        ("mqtt://127.0.0.1:1883/a/%23", 1, "not an MQTT topic name")
    ])
    func failuresAreOneLineWithTheRightExitStatus(url: String, status: Int32, mentions: String) async throws {
        let url = url.replacingOccurrences(of: "127.0.0.1:1883", with: Self.broker)
        let run = try await CE.run(["send", url, "--id", "1", "--source", "/s", "--type", "t", "--timeout", "5"])
        #expect(run.status == status, "\(run)")
        #expect(run.errorLines.count == 1 && run.stderr.contains(mentions), "\(run.stderr)")
    }
}

/// The decision that gates "ce over MQTT", without a broker: required and down is a failure.
@Suite struct MQTTCommandBrokerRequirementTests {
    @Test(arguments: [["CE_TEST_BROKERS": "1"], ["CI": "true"]])
    func aBrokerThatIsDownFailsTheSuiteInsteadOfSkippingIt(extra: [String: String]) async throws {
        let port = try LoopbackSocket.closedPort()
        var environment = extra
        for (variable, _) in Broker.listeners { environment[variable] = String(port) }
        let requirement = Broker.requirement(in: environment)
        guard case .fail(let reason) = requirement else {
            Issue.record("expected a failure, got \(requirement)")
            return
        }
        #expect(reason.contains("MQTT broker") && reason.contains("127.0.0.1:\(port) (CE_TEST_MQTT_PORT"), "\(reason)")
        await #expect(throws: BrokerUnavailable(description: reason)) {
            _ = try await Broker.gate { requirement }.evaluate()
        }
    }

    @Test func neitherRequiredNorConfiguredSkipsSayingHowToRunThem() async throws {
        let requirement = Broker.requirement(in: ["CI": "false"])
        #expect(requirement == .skip)
        let gate = Broker.gate { requirement }
        #expect(try await gate.evaluate() == false)
        #expect(gate.comments.first?.rawValue.contains(#"eval "$(Scripts/brokers env)""#) == true)
    }
}
