import CloudEvents
import CloudEventsConformance
import CloudEventsMQTT
import CloudEventsTestSupport
import Foundation
import Synchronization
import Testing

/// The test broker that `Scripts/brokers` starts (its addresses come from the environment).
///
/// Whether the broker-backed suites run is decided here, once, by ``requirement`` (see
/// ``BrokerRequirement``): with `CE_TEST_BROKERS=1` (which `Scripts/brokers env` exports, so
/// `Scripts/test` and CI always have it) or `CI=true`, a missing or unreachable broker fails
/// every test of those suites; only without either (and without a configured broker) do they
/// skip, and the skip line says how to run them.
enum Broker {
    static let environment = ProcessInfo.processInfo.environment

    /// The listeners of the mosquitto of `Scripts/brokers` that the suites use, by the
    /// variable that gives each port.
    static let listeners = [
        (variable: "CE_TEST_MQTT_PORT", listener: "plain"), ("CE_TEST_MQTT_AUTH_PORT", "password"),
        ("CE_TEST_MQTT_TLS_PORT", "TLS"), ("CE_TEST_MQTT_MTLS_PORT", "mutual TLS")
    ]

    /// What the skip line of a broker-backed suite says.
    static let skipComment = BrokerRequirement.mqttSkipComment

    /// What the broker-backed suites do in this process (decided once).
    static let requirement = requirement(in: environment)

    /// What the broker-backed suites do given `environment`: probes every listener of
    /// ``listeners`` on loopback when the brokers are required or configured.
    static func requirement(in environment: [String: String]) -> BrokerRequirement {
        BrokerRequirement.mqtt(listeners: listeners, in: environment)
    }

    /// The suites' condition over `requirement` (see ``BrokerRequirement/gate(skipComment:_:)``).
    static func gate(_ requirement: @escaping @Sendable () -> BrokerRequirement) -> ConditionTrait {
        BrokerRequirement.gate(skipComment: skipComment, requirement)
    }

    static var host: String { environment["CE_TEST_MQTT_HOST"] ?? "127.0.0.1" }
    static func port(_ name: String = "CE_TEST_MQTT_PORT") -> Int { Int(environment[name] ?? "") ?? 1883 }

    /// A configuration for the plain listener, with a client id of its own.
    static func configuration(
        _ version: MQTTProtocolVersion = .v5, clientID: String = uniqueID("client"), cleanStart: Bool = true
    ) -> MQTTClientConfiguration {
        MQTTClientConfiguration(
            host: host, port: port(), protocolVersion: version, clientID: clientID, cleanStart: cleanStart,
            keepAlive: .seconds(5), reconnect: .exponential(initial: .milliseconds(50), maximum: .seconds(1)),
            operationTimeout: .seconds(30))
    }

    /// A topic no other test uses.
    static func uniqueTopic(_ name: String = #function) -> String {
        "ce-tests/\(uniqueID(name.filter { $0.isLetter || $0.isNumber }))"
    }

    static func uniqueID(_ prefix: String) -> String {
        "\(prefix.prefix(12))-\(UInt32.random(in: 0...UInt32.max))"
    }
}

/// The sample event of the benchmarks and the JSON tests: every attribute type.
let sampleEvent: CloudEvent = {
    var event = CloudEvent(id: "A234-1234-1234", source: "https://example.com/source", type: "com.example.sample")
    event.time = try! Timestamp(rfc3339: "2018-04-05T19:31:00.123456789+02:00")
    event.subject = "grüße ✓ 🎉"
    event.dataSchema = "https://example.com/schema"
    event.dataContentType = "application/json"
    event.extensions = [
        "flag": true, "n": -5, "bin": .binary([1, 2, 0xFF]), "ref": .uriReference("/relative"),
        "site": .uri("https://example.com"), "note": "a b:c %20 \"q\""
    ]
    event.data = .json(try! RawJSON(validating: #"{"a":1,"text":"hello"}"#))
    return event
}()

/// The User Properties that carry ``sampleEvent`` in MQTT 5 binary mode: every attribute
/// but `datacontenttype` (the Content Type property), named as the attribute, no prefix;
/// extensions as canonical strings, UTF-8 as it is (no percent-encoding in MQTT).
let sampleUserProperties: [String: String] = [
    "specversion": "1.0", "id": "A234-1234-1234", "source": "https://example.com/source",
    "type": "com.example.sample", "time": "2018-04-05T19:31:00.123456789+02:00",
    "subject": "grüße ✓ 🎉", "dataschema": "https://example.com/schema",
    "flag": "true", "n": "-5", "bin": "AQL/", "ref": "/relative", "site": "https://example.com",
    "note": "a b:c %20 \"q\""
]

/// The next `count` deliveries from `stream`, or those that came before `timeout` passed.
func collect(_ count: Int, from stream: DeliveryStream, timeout: Duration = .seconds(60)) async throws -> [Delivery] {
    let collected = Collected()
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            for try await delivery in stream {
                if collected.append(delivery) >= count { return }
            }
        }
        group.addTask { try await Task.sleep(for: timeout) }
        try await group.next()
        group.cancelAll()
    }
    return collected.deliveries.withLock { $0 }
}

private final class Collected: Sendable {
    let deliveries = Mutex<[Delivery]>([])

    func append(_ delivery: Delivery) -> Int {
        deliveries.withLock {
            $0.append(delivery)
            return $0.count
        }
    }
}

/// A command line tool running beside the test (`mosquitto_sub`, `mosquitto_pub`, a
/// private `mosquitto`).
final class CommandLineTool {
    private let process: ChildProcess
    private let pipe: Pipe

    init(_ executable: String, _ arguments: [String]) throws {
        process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.standardError
        try process.run()
    }

    /// Waits for the process to exit (it must end by itself: give it a `-W`/`-C` bound)
    /// and returns its status and standard output.
    /// Waits on a thread of its own, never on the cooperative pool.
    func finish() async -> (status: Int32, output: String) {
        let (pipe, process) = (pipe, process)
        return await onOwnThread {
            let output = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: output, as: UTF8.self))
        }
    }
}

/// Finds a tool on the PATH.
func tool(_ name: String) -> String {
    for directory in ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"] {
        let path = directory + "/" + name
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return name
}

/// What differs between `expected` and `actual` once both are read as the spec allows a
/// header binding, JSON or Protobuf can carry them (extension types that JSON and headers
/// cannot carry compared as canonical strings; timestamps by instant, since Protobuf's are UTC).
func differences(_ expected: CloudEvent, _ actual: CloudEvent?) -> [String] {
    guard let actual else { return ["no event"] }
    return carried.differences(expected, actual)
}

let carried = Equivalence(
    timestampsByInstant: true, extensionsByCanonicalString: true, dataByBytes: true, impliedJSONContentType: true)

extension Trait where Self == ConditionTrait {
    /// The gate of every suite that needs the mosquitto of `Scripts/brokers`: runs it when
    /// the broker answers, fails every test when the broker is required (`CE_TEST_BROKERS=1`
    /// or `CI=true`) but missing, and otherwise skips it with a line saying how to run it.
    static var mqttBroker: Self { Broker.gate { Broker.requirement } }
}
