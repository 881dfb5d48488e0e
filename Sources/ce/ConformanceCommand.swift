import ArgumentParser
import CloudEvents
import CloudEventsConformance
import CloudEventsTransports
import Foundation
import Logging

/// `ce conformance`: runs the conformance matrix (every corpus event × format × binding ×
/// content mode) and prints it.
struct ConformanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conformance",
        abstract: "Round-trip every corpus event through every format × binding × content mode and print the matrix.",
        discussion: """
            Each cell (binding × mode × format) opens a receiver and a sender through the binding \
            registry, sends every valid corpus event, and compares what arrives with what was sent \
            by the spec's equivalence. Cells show passed/total; lossy rules a cell relied on \
            (timestamps by instant, extension values as strings, ...) are listed under the table. \
            The wire-shape rows ("binary (wire)", ...) send every event through the binding's \
            sender to a raw peer (an HTTP capture on loopback, a raw MQTT subscriber, a bare proton \
            link whose bytes an AMQP decoder of the conformance module's own reads, a raw NATS \
            subscriber) and check \
            the native message as it was on the wire, without our decoders: header and property \
            names and prefixes, AMQP types, where datacontenttype goes, percent-encoding, media types. \
            In-process has no native wire, and the matrix says so.
            The cross-format row (not run with --binding) takes each event from JSON through each other format and back.
            Without --endpoint, the rows are in-process and HTTP (loopback, any free port), and \
            MQTT 5 and MQTT 3.1.1 through the broker at CE_TEST_MQTT_HOST:CE_TEST_MQTT_PORT when \
            CE_TEST_MQTT_PORT is set (eval "$(Scripts/brokers env)"); if it is not, a line says \
            the MQTT rows were not run. AMQP runs peer to peer (a listener on loopback) always, and \
            through RabbitMQ at CE_TEST_AMQP_HOST:CE_TEST_AMQP_PORT (CE_TEST_AMQP_USERNAME and \
            CE_TEST_AMQP_PASSWORD, a queue per cell) when CE_TEST_AMQP_PORT is set. NATS runs through \
            the nats-server at CE_TEST_NATS_HOST:CE_TEST_NATS_PORT (a subject per cell; its wire rows \
            read by a raw NATS subscriber that parses the header block itself) when CE_TEST_NATS_PORT \
            is set. With --endpoint, the rows are those receiver endpoints: \
            write {cell} where each cell's unique name goes (memory://conformance-{cell}, \
            http://127.0.0.1:0/c/{cell}, mqtt://127.0.0.1:1883/ce/{cell}?version=5, \
            amqp://guest:guest@127.0.0.1:5672//queue/ce-{cell}, amqp://127.0.0.1:0/{cell}?listen=true, \
            nats://127.0.0.1:4222/ce.{cell}).
            The matrix is also written as matrix.md and matrix.json in --output.
            Exit codes: 0 every cell full; 1 a cell not full, or invalid arguments.
            """
    )

    @Option(
        help:
            "Run only the rows of this binding: a row name (\"MQTT 5\", \"AMQP peer\"), a binding name (HTTP, MQTT, AMQP, NATS, in-process) or a scheme (memory, http, mqtt, amqp, nats)."
    )
    var binding: String?

    @Option(help: "Run only this format's structured and batch columns (binary rows always run).")
    var format: FormatName?

    @Flag(help: "Print the matrix as JSON instead of a table.")
    var json = false

    @Option(
        parsing: .upToNextOption,
        help: "Receiver endpoints to test instead of the standard rows; {cell} is replaced by each cell's name.")
    var endpoint: [String] = []

    @Option(help: "Where to write matrix.md and matrix.json.")
    var output = ".build/conformance"

    @Option(help: "Seconds one event may take to be sent and arrive.")
    var timeout: Double = 10

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if timeout <= 0 { throw ValidationError("--timeout must be positive") }
    }

    func run() async throws {
        var list: ConformanceTargetList
        if endpoint.isEmpty {
            list = ConformanceTarget.fromEnvironment()
            let amqp = ConformanceTarget.amqpFromEnvironment(
                ConformanceTarget.brokersEnvironment(), wireProbe: .rawAMQP(ProtonRawAMQPReceiver()))
            list.targets += amqp.targets
            list.notRun += amqp.notRun
            let nats = ConformanceTarget.natsFromEnvironment(ConformanceTarget.brokersEnvironment())
            list.targets += nats.targets
            list.notRun += nats.notRun
        } else {
            list = ConformanceTargetList(targets: try endpoint.map(target(for:)), notRun: [])
            var seen: [String: Int] = [:]
            for index in list.targets.indices {
                let name = list.targets[index].name
                seen[name, default: 0] += 1
                if seen[name]! > 1 { list.targets[index].name = "\(name) #\(seen[name]!)" }
            }
        }
        if let binding {
            list.targets = list.targets.filter { matches($0, binding) }
            guard !list.targets.isEmpty else {
                let why = list.notRun.isEmpty ? "" : " (\(list.notRun.joined(separator: "; ")))"
                throw Console.fail("no row matches --binding '\(binding)'\(why)", ExitStatus.invalidInput)
            }
        }
        let runner = ConformanceRunner(
            registry: Bindings.registry, formats: Formats.registry, timeout: .seconds(timeout),
            logger: logging.logger(quiet: .error))
        let matrix = await runner.run(
            targets: list.targets, formatNames: format.map { [$0.name] }, crossFormat: binding == nil,
            notRun: list.notRun)
        let written: [String]
        do {
            written = try matrix.write(to: output)
        } catch {
            throw Console.fail("cannot write the matrix to \(output): \(error)", ExitStatus.invalidInput)
        }
        if json {
            Console.write(try matrix.json())
        } else {
            Console.write(Array(matrix.table().utf8))
            Console.line("wrote \(written.joined(separator: " and "))")
        }
        if !matrix.isFull { throw ExitCode(1) }
    }

    /// A target for an `--endpoint` URL, named after its binding.
    private func target(for text: String) throws -> ConformanceTarget {
        let probe = try Bindings.endpoint(
            text.replacingOccurrences(of: ConformanceTarget.cellPlaceholder, with: "probe"), listening: true)
        let binding = try Bindings.binding(for: probe)
        return ConformanceTarget(
            name: binding.name, receiverEndpoint: text,
            wireProbe: WireProbe.standard(forBindingNamed: binding.name, amqp: ProtonRawAMQPReceiver()))
    }

    /// Whether `target` is one of `name`'s rows: its own name, its binding's name or one of
    /// the binding's schemes, case-insensitive.
    private func matches(_ target: ConformanceTarget, _ name: String) -> Bool {
        let name = name.lowercased()
        if target.name.lowercased() == name { return true }
        guard let probe = try? target.receiverEndpoint(cell: "probe", formats: Formats.registry),
            let binding = try? Bindings.registry.binding(for: probe)
        else { return false }
        return binding.name.lowercased() == name || binding.schemes.contains(name)
    }
}
