public import CloudEvents
import Foundation

/// One row group of the conformance matrix: a binding to test and the endpoint its
/// receiver listens on, which is all the runner needs from a binding beyond what the
/// ``BindingRegistry`` tells it (the binding's content modes and formats).
///
/// The endpoint is a template: `{cell}` is replaced by a name unique to each cell (content
/// mode, format and run), so that cells never share an in-process channel, an MQTT topic or
/// an HTTP path. A binding's own test target builds its targets with this type, or takes the
/// standard list from ``fromEnvironment(_:)``.
public struct ConformanceTarget: Sendable, Hashable, CustomStringConvertible {
    /// The row's name in the matrix, such as `HTTP` or `MQTT 5`.
    public var name: String
    /// The receiver's endpoint URL, with `{cell}` where each cell's unique name goes
    /// (`memory://conformance-{cell}`, `http://127.0.0.1:0/conformance/{cell}`).
    public var receiverEndpoint: String
    /// The raw peer that reads this binding's native messages for the wire-shape rows
    /// (header and property names, content type, percent-encoding), or `nil` when the
    /// binding has no native wire (in-process): the matrix then says so.
    public var wireProbe: WireProbe?

    /// A target named `name` whose receivers listen on `receiverEndpoint`.
    ///
    /// - Parameters:
    ///   - name: the row's name in the matrix.
    ///   - receiverEndpoint: the receiver's endpoint URL; `{cell}` is replaced by each
    ///     cell's unique name, and port 0 asks a listener for any free port.
    ///   - wireProbe: the raw peer for the wire-shape rows; `nil` for none.
    public init(name: String, receiverEndpoint: String, wireProbe: WireProbe? = nil) {
        self.name = name
        self.receiverEndpoint = receiverEndpoint
        self.wireProbe = wireProbe
    }

    /// `name (receiverEndpoint)`.
    public var description: String { "\(name) (\(receiverEndpoint))" }

    /// The receiver's endpoint for the cell named `cell`.
    ///
    /// - Parameters:
    ///   - cell: the cell's unique name (letters, digits and `-`).
    ///   - formats: the formats a `format=` option in the template may name.
    /// - Throws: ``TransportError`` `.invalidEndpoint` when the template is not a valid URL.
    public func receiverEndpoint(cell: String, formats: EventFormatRegistry) throws(TransportError) -> Endpoint {
        try Endpoint(
            receiverEndpoint.replacingOccurrences(of: Self.cellPlaceholder, with: cell), formats: formats,
            allowingPortZero: true)
    }

    /// `{cell}`, the placeholder in ``receiverEndpoint``.
    public static let cellPlaceholder = "{cell}"

    /// The in-process channel: a channel per cell, `memory://conformance-{cell}`.
    public static let inProcess = ConformanceTarget(name: "in-process", receiverEndpoint: "memory://conformance-{cell}")

    /// HTTP on loopback, any free port: `http://127.0.0.1:0/conformance/{cell}`; its wire
    /// rows post to a ``RawHTTPCapture``.
    public static let http = ConformanceTarget(
        name: "HTTP", receiverEndpoint: "http://127.0.0.1:0/conformance/{cell}", wireProbe: .rawHTTP)

    /// MQTT 5 through the broker at `host:port`, QoS 1, a topic per cell; its wire rows
    /// publish to a ``RawMQTTSubscriber``.
    ///
    /// - Parameters:
    ///   - host: the broker's host.
    ///   - port: the broker's plain MQTT port.
    public static func mqtt5(host: String, port: Int) -> ConformanceTarget {
        ConformanceTarget(
            name: "MQTT 5", receiverEndpoint: "mqtt://\(host):\(port)/ce-conformance/{cell}?version=5&qos=1",
            wireProbe: .rawMQTT)
    }

    /// MQTT 3.1.1 through the broker at `host:port`, QoS 1, a topic per cell; its wire rows
    /// publish to a ``RawMQTTSubscriber``.
    ///
    /// - Parameters:
    ///   - host: the broker's host.
    ///   - port: the broker's plain MQTT port.
    public static func mqtt311(host: String, port: Int) -> ConformanceTarget {
        ConformanceTarget(
            name: "MQTT 3.1.1", receiverEndpoint: "mqtt://\(host):\(port)/ce-conformance/{cell}?version=3.1.1&qos=1",
            wireProbe: .rawMQTT)
    }

    /// AMQP 1.0 through the broker at `host:port` (RabbitMQ's AMQP 1.0 plugin), a queue per
    /// cell (`/queue/ce-conformance-<cell>`, declared on attach), SASL PLAIN with `username`
    /// and `password` (ANONYMOUS without a user).
    ///
    /// - Parameters:
    ///   - host: the broker's host.
    ///   - port: the broker's plain AMQP port.
    ///   - username: the SASL PLAIN user, or `nil`.
    ///   - password: the password.
    ///   - wireProbe: the raw AMQP receiver for the wire rows (``WireProbe/rawAMQP(_:)``), or
    ///     `nil` for none (the matrix says so).
    public static func amqp(
        host: String, port: Int, username: String? = nil, password: String? = nil, wireProbe: WireProbe?
    ) -> ConformanceTarget {
        let encode = { (text: String) in
            text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~")))
                ?? text
        }
        let user = username.map { "\(encode($0)):\(encode(password ?? ""))@" } ?? ""
        return ConformanceTarget(
            name: "AMQP", receiverEndpoint: "amqp://\(user)\(host):\(port)//queue/ce-conformance-{cell}", wireProbe: wireProbe)
    }

    /// AMQP 1.0 peer to peer, no broker: the receiver listens on loopback (any free port,
    /// `listen=true`) and the sender connects to it, an address per cell.
    ///
    /// - Parameter wireProbe: the raw AMQP receiver for the wire rows, or `nil` for none.
    public static func amqpPeer(wireProbe: WireProbe?) -> ConformanceTarget {
        ConformanceTarget(
            name: "AMQP peer", receiverEndpoint: "amqp://127.0.0.1:0/ce-conformance-{cell}?listen=true", wireProbe: wireProbe)
    }

    /// The AMQP targets for the variables in `environment`: peer to peer always; through the
    /// broker when `CE_TEST_AMQP_PORT` is set (`CE_TEST_AMQP_HOST`, `127.0.0.1` by default;
    /// `CE_TEST_AMQP_USERNAME` and `CE_TEST_AMQP_PASSWORD`), as `Scripts/brokers env` exports
    /// them. Only a tool or test that registers the AMQP binding asks for them.
    ///
    /// - Parameters:
    ///   - environment: the variables to read (``brokersEnvironment()`` for the process's).
    ///   - wireProbe: the raw AMQP receiver for the wire rows.
    /// - Returns: the targets, and one sentence per group of rows left out and why.
    public static func amqpFromEnvironment(_ environment: [String: String], wireProbe: WireProbe?)
        -> ConformanceTargetList
    {
        var list = ConformanceTargetList(targets: [], notRun: [])
        let value = { (name: String) in environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        switch value("CE_TEST_AMQP_PORT") {
        case nil:
            list.notRun.append(
                "AMQP rows through the broker not run: CE_TEST_AMQP_PORT is not set (eval \"$(Scripts/brokers env)\" sets it)")
        case let text?:
            guard let port = Int(text), (1...65535).contains(port) else {
                list.notRun.append("AMQP rows through the broker not run: CE_TEST_AMQP_PORT '\(text)' is not a port number")
                break
            }
            list.targets.append(
                .amqp(
                    host: value("CE_TEST_AMQP_HOST") ?? "127.0.0.1", port: port, username: value("CE_TEST_AMQP_USERNAME"),
                    password: value("CE_TEST_AMQP_PASSWORD"), wireProbe: wireProbe))
        }
        list.targets.append(.amqpPeer(wireProbe: wireProbe))
        return list
    }

    /// The standard targets: in-process and HTTP always; MQTT 5 and MQTT 3.1.1 when
    /// `CE_TEST_MQTT_PORT` is set (`CE_TEST_MQTT_HOST`, `127.0.0.1` by default), as
    /// `Scripts/brokers env` exports them.
    ///
    /// - Returns: the targets, and one sentence per group of rows left out and why.
    ///
    /// Without `CE_TEST_MQTT_PORT` in the environment, the brokers that `Scripts/brokers start`
    /// left running are found through the file it writes, `.brokers/env.sh` in the current
    /// directory (or in `CE_BROKERS_DIR`), so `Scripts/brokers start` then `ce conformance`
    /// runs every row.
    public static func fromEnvironment() -> ConformanceTargetList {
        fromEnvironment(brokersEnvironment())
    }

    /// The process environment, with the variables of the file `Scripts/brokers start`
    /// writes (`.brokers/env.sh`, or in `CE_BROKERS_DIR`) added when the environment names no
    /// broker (`CE_TEST_MQTT_PORT`, `CE_TEST_AMQP_PORT` and `CE_TEST_NATS_PORT` all unset).
    public static func brokersEnvironment() -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        let unset = { (name: String) in environment[name].map(\.isEmpty) ?? true }
        if unset("CE_TEST_MQTT_PORT") && unset("CE_TEST_AMQP_PORT") && unset("CE_TEST_NATS_PORT") {
            let directory = environment["CE_BROKERS_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? ".brokers"
            if let text = try? String(contentsOfFile: directory + "/env.sh", encoding: .utf8) {
                environment.merge(brokersEnvironment(text)) { current, _ in current }
            }
        }
        return environment
    }

    /// The variables of a `Scripts/brokers` environment file: its `export NAME=VALUE` lines
    /// (values as written, or in single or double quotes).
    ///
    /// - Parameter text: the file's text.
    /// - Returns: the variables it exports.
    public static func brokersEnvironment(_ text: String) -> [String: String] {
        var variables: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            guard trimmed.hasPrefix("export "), let equals = trimmed.firstIndex(of: "=") else { continue }
            let name = trimmed[trimmed.index(trimmed.startIndex, offsetBy: 7)..<equals].trimmingCharacters(in: .whitespaces)
            var value = String(trimmed[trimmed.index(after: equals)...])
            if value.count >= 2, let first = value.first, first == "'" || first == "\"", value.last == first {
                value = String(value.dropFirst().dropLast())
            }
            if !name.isEmpty { variables[name] = value }
        }
        return variables
    }

    /// The standard targets for the variables in `environment`; see ``fromEnvironment()``.
    ///
    /// - Parameter environment: the variables to read.
    /// - Returns: the targets, and one sentence per group of rows left out and why.
    public static func fromEnvironment(_ environment: [String: String]) -> ConformanceTargetList {
        var list = ConformanceTargetList(targets: [.inProcess, .http], notRun: [])
        let host = environment["CE_TEST_MQTT_HOST"].flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1"
        switch environment["CE_TEST_MQTT_PORT"] {
        case nil, "":
            list.notRun.append(
                "MQTT 5 and MQTT 3.1.1 rows not run: CE_TEST_MQTT_PORT is not set (eval \"$(Scripts/brokers env)\" sets it)")
        case let text?:
            guard let port = Int(text), (1...65535).contains(port) else {
                list.notRun.append("MQTT 5 and MQTT 3.1.1 rows not run: CE_TEST_MQTT_PORT '\(text)' is not a port number")
                break
            }
            list.targets += [.mqtt5(host: host, port: port), .mqtt311(host: host, port: port)]
        }
        return list
    }
}

/// The targets a run covers, and the rows it leaves out, said out loud.
public struct ConformanceTargetList: Sendable, Hashable {
    /// The targets to run.
    public var targets: [ConformanceTarget]
    /// One sentence per group of rows not run, saying why (a missing broker address).
    public var notRun: [String]

    /// A list of `targets`, leaving out what `notRun` says.
    ///
    /// - Parameters:
    ///   - targets: the targets to run.
    ///   - notRun: one sentence per group of rows not run.
    public init(targets: [ConformanceTarget], notRun: [String]) {
        self.targets = targets
        self.notRun = notRun
    }
}
