import CloudEvents
import CloudEventsConformance
import CloudEventsHTTP
import CloudEventsMQTT
import CloudEventsProtobuf
import CloudEventsTransports
import Foundation
import Testing

/// The conformance runner over the binding registry: the standard rows are full, and a
/// binding that corrupts events fails its cells, naming the event and the difference.
@Suite("Conformance runner")
struct ConformanceRunnerTests {
    static let registry = try! BindingRegistry([InProcessBinding(), HTTPBinding(), MQTTBinding()])

    /// In-process and HTTP always; MQTT 5 and 3.1.1 with the brokers' environment, which
    /// `Scripts/test` and CI always export (`CE_TEST_BROKERS=1`): there, MQTT rows missing
    /// from the run are a failure, not a skip.
    @Test func everyCellOfTheStandardRowsIsFull() async throws {
        let environment = ProcessInfo.processInfo.environment
        let list = ConformanceTarget.fromEnvironment()
        if environment["CE_TEST_BROKERS"] == "1" || ["true", "1"].contains(environment["CI"]?.lowercased()) {
            #expect(list.notRun.isEmpty, "the brokers are required in this run, but: \(list.notRun)")
        }
        let runner = ConformanceRunner(registry: Self.registry, formats: .standardWithProtobuf)
        let matrix = await runner.run(targets: list.targets, notRun: list.notRun)

        #expect(matrix.isFull, "\(matrix.table())")
        for cell in matrix.cells {
            #expect(cell.total == Corpus.events.count && cell.passed == cell.total, "\(cell.binding) \(cell.mode)")
        }
        // Each row has the cells its binding's modes and formats call for, no fewer.
        let both: [(String, String?)] = [
            ("binary", nil), ("structured", "json"), ("structured", "protobuf"), ("batch", "json"),
            ("batch", "protobuf")
        ]
        // Targets with a native wire repeat them as wire-shape rows, read by their raw peer.
        let wire = { (cells: [(String, String?)]) in cells + cells.map { ("\($0.0) (wire)", $0.1) } }
        var expected: [String: [(String, String?)]] = ["in-process": both, "HTTP": wire(both)]
        if list.targets.contains(where: { $0.name == "MQTT 5" }) {
            expected["MQTT 5"] = wire([("binary", nil), ("structured", "json"), ("structured", "protobuf")])
            expected["MQTT 3.1.1"] = wire([("structured", "json")])
        }
        #expect(matrix.notRun.contains { $0.hasPrefix("in-process wire-shape rows: no native wire") }, "\(matrix.notRun)")
        for (binding, cells) in expected {
            let ran = matrix.cells.filter { $0.binding == binding }.map { "\($0.mode) \($0.format ?? "-")" }
            #expect(ran == cells.map { "\($0.0) \($0.1 ?? "-")" }, "\(binding)")
        }
        #expect(matrix.cells.contains { $0.binding == "formats" && $0.mode == "json → protobuf → json" && $0.isFull })
        // Header bindings carry extension values as strings: the cells say so.
        let httpBinary = try #require(matrix.cells.first { $0.binding == "HTTP" && $0.mode == "binary" })
        #expect(httpBinary.notes.contains { $0.note.contains("extension values") }, "\(httpBinary.notes)")
    }

    /// A binding whose sender drops an extension, changes an id and loses an event: the
    /// runner fails those events in every cell, naming each event and what differed, and
    /// the intact event still passes.
    @Test func aCorruptingBindingFailsItsCellsNamingTheEventAndTheDifference() async throws {
        let registry = try BindingRegistry([CorruptingBinding()])
        let cases = [
            Corpus.Case(name: "intact", event: CloudEvent(id: "intact", source: "/s", type: "t")),
            Corpus.Case(
                name: "loses an extension",
                event: CloudEvent(id: "drop", source: "/s", type: "t", extensions: ["dropme": .string("x")])),
            Corpus.Case(name: "mangled id", event: CloudEvent(id: "mangle", source: "/s", type: "t")),
            Corpus.Case(name: "never arrives", event: CloudEvent(id: "lose", source: "/s", type: "t"))
        ]
        let runner = ConformanceRunner(
            registry: registry, formats: .standard, cases: cases, extensionTypes: .none, timeout: .milliseconds(500))
        let target = ConformanceTarget(name: "corrupting", receiverEndpoint: "corrupting://runner-test-{cell}")
        let matrix = await runner.run(targets: [target], crossFormat: false)

        #expect(!matrix.isFull)
        #expect(matrix.cells.map { "\($0.mode) \($0.format ?? "-")" } == ["binary -", "structured json"])
        for cell in matrix.cells {
            #expect(cell.passed == 1 && cell.total == 4 && !cell.isFull, "\(cell)")
            let byEvent = Dictionary(uniqueKeysWithValues: cell.failures.map { ($0.event, $0.difference) })
            #expect(byEvent.keys.sorted() == ["loses an extension", "mangled id", "never arrives"])
            #expect(byEvent["loses an extension"]?.contains("extension names") == true, "\(byEvent)")
            #expect(byEvent["mangled id"]?.contains("id: expected mangle, got mangle-mangled") == true, "\(byEvent)")
            #expect(byEvent["never arrives"]?.hasPrefix("no delivery within") == true, "\(byEvent)")
        }
        let table = matrix.table()
        #expect(table.contains("1/4 ✗"), "\(table)")
        #expect(table.contains("corrupting binary: 'mangled id': id: expected mangle, got mangle-mangled"), "\(table)")
        #expect(matrix.summary.hasPrefix("2 of 2 cells not full, 6 failures"), "\(matrix.summary)")
    }

    /// The matrix is written as Markdown and JSON, each with the failures.
    @Test func theMatrixIsWrittenAsMarkdownAndJSON() throws {
        let failure = ConformanceFailure(
            event: "minimal", binding: "HTTP", mode: "structured", format: "json", difference: "id: expected 1, got 2")
        let matrix = ConformanceMatrix(
            formats: ["json"],
            cells: [
                ConformanceCell(binding: "HTTP", mode: "binary", format: nil, passed: 2, total: 2),
                ConformanceCell(binding: "HTTP", mode: "structured", format: "json", passed: 1, total: 2, failures: [failure])
            ], notRun: ["MQTT rows not run: no broker"], seconds: 1.25)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("conformance-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let paths = try matrix.write(to: directory)
        #expect(paths.map { ($0 as NSString).lastPathComponent } == ["matrix.md", "matrix.json"])

        let markdown = try String(contentsOfFile: paths[0], encoding: .utf8)
        #expect(markdown.contains("| binding | mode | no format | json |"), "\(markdown)")
        #expect(markdown.contains("| HTTP | binary | 2/2 | – |"), "\(markdown)")
        #expect(markdown.contains("| HTTP | structured | – | 1/2 ✗ |"), "\(markdown)")
        #expect(markdown.contains("- HTTP structured json: 'minimal': id: expected 1, got 2"), "\(markdown)")
        #expect(markdown.contains("Not run: MQTT rows not run: no broker"), "\(markdown)")

        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: paths[1]))) as? [String: Any])
        #expect(document["passed"] as? Bool == false)
        let decoded = try JSONDecoder().decode(
            ConformanceMatrix.self,
            from: try JSONSerialization.data(withJSONObject: try #require(document["matrix"])))
        #expect(decoded == matrix)
    }

    @Test func theStandardTargetsComeFromTheEnvironmentAndSayWhatIsLeftOut() {
        let without = ConformanceTarget.fromEnvironment([:])
        #expect(without.targets.map(\.name) == ["in-process", "HTTP"])
        #expect(without.notRun.count == 1 && without.notRun[0].contains("CE_TEST_MQTT_PORT is not set"), "\(without.notRun)")

        let with = ConformanceTarget.fromEnvironment(["CE_TEST_MQTT_HOST": "127.0.0.1", "CE_TEST_MQTT_PORT": "18830"])
        #expect(with.targets.map(\.name) == ["in-process", "HTTP", "MQTT 5", "MQTT 3.1.1"])
        #expect(with.notRun.isEmpty)
        #expect(with.targets[3].receiverEndpoint == "mqtt://127.0.0.1:18830/ce-conformance/{cell}?version=3.1.1&qos=1")
    }

    /// The modes and formats come from each binding, for the endpoint (MQTT's `version=`).
    @Test func bindingsStateTheirContentModesAndFormats() throws {
        let mqtt5 = try Endpoint("mqtt://127.0.0.1:1883/t?version=5")
        let mqtt311 = try Endpoint("mqtt://127.0.0.1:1883/t?version=3.1.1")
        #expect(MQTTBinding().contentModes(for: mqtt5) == [.binary, .structured])
        #expect(MQTTBinding().formatNames(for: mqtt5) == nil)
        #expect(MQTTBinding().contentModes(for: mqtt311) == [.structured])
        #expect(MQTTBinding().formatNames(for: mqtt311) == ["json"])
        let http = try Endpoint("http://127.0.0.1:8080/e")
        #expect(HTTPBinding().contentModes(for: http) == [.binary, .structured, .batch])
        #expect(InProcessBinding().contentModes(for: try Endpoint("memory://x")) == [.binary, .structured, .batch])
    }
}

/// A test-only binding over the in-process channel (`corrupting://name`) whose sender drops
/// the extension `dropme`, appends `-mangled` to the id `mangle`, and never sends the event
/// with id `lose` (while reporting success).
struct CorruptingBinding: EventBinding {
    var name: String { "corrupting" }
    var schemes: [String] { ["corrupting"] }
    var acknowledgement: AcknowledgementGuarantee { .consumerSettlement }
    var endpointOptions: [EndpointOption] { [.mode, .format] }
    var isInProcess: Bool { true }

    static func channelEndpoint(_ endpoint: Endpoint) -> Endpoint {
        var channel = endpoint
        channel.scheme = "memory"
        return channel
    }

    func withSender<Result: Sendable>(
        for endpoint: Endpoint, options: BindingOptions, _ body: (any BoundSender) async throws -> Result
    ) async throws -> Result {
        try await InProcessBinding().withSender(for: Self.channelEndpoint(endpoint), options: options) { sender in
            try await body(Sender(endpoint: endpoint, inner: sender))
        }
    }

    func withReceiver<Result: Sendable>(
        for endpoint: Endpoint, options: BindingOptions, _ body: (any BoundReceiver) async throws -> Result
    ) async throws -> Result {
        try await InProcessBinding().withReceiver(for: Self.channelEndpoint(endpoint), options: options) { receiver in
            try await body(Receiver(endpoint: endpoint, inner: receiver))
        }
    }

    struct Sender: BoundSender {
        let endpoint: Endpoint
        let inner: any BoundSender

        func send(_ event: CloudEvent) async throws -> SendOutcome {
            if event.id == "lose" { return SendOutcome(summary: "lost on purpose") }
            var event = event
            event.extensions["dropme"] = nil
            if event.id == "mangle" { event.id += "-mangled" }
            return try await inner.send(event)
        }

        func send(_ message: Message) async throws -> SendOutcome { try await inner.send(message) }
    }

    struct Receiver: BoundReceiver {
        let endpoint: Endpoint
        let inner: any BoundReceiver
        var readyMessage: String? { nil }
        func deliveries() -> DeliveryStream { inner.deliveries() }
    }
}

/// `Scripts/brokers start` then `ce conformance`: the brokers are found through the file the
/// script writes when the environment does not name them.
@Suite struct BrokersEnvironmentFileTests {
    @Test func exportLinesAreRead() {
        let text = """
            # Generated by Scripts/brokers start
            export CE_TEST_BROKERS=1
            export CE_TEST_MQTT_HOST=127.0.0.1
            export CE_TEST_MQTT_PORT=41234
            export CE_TEST_MQTT_PASSWORD='a b'
            not an export=1
            """
        let variables = ConformanceTarget.brokersEnvironment(text)
        #expect(variables["CE_TEST_MQTT_PORT"] == "41234")
        #expect(variables["CE_TEST_MQTT_HOST"] == "127.0.0.1")
        #expect(variables["CE_TEST_MQTT_PASSWORD"] == "a b")
        #expect(variables["not an export"] == nil && variables.count == 4)
        let list = ConformanceTarget.fromEnvironment(variables)
        #expect(list.targets.map(\.name) == ["in-process", "HTTP", "MQTT 5", "MQTT 3.1.1"])
        #expect(list.notRun.isEmpty)
    }
}
