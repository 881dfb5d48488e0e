public import CloudEvents

/// An `mqtt://` or `mqtts://` endpoint read as client settings, a topic or filter, and the
/// binding's options:
///
/// `mqtt(s)://[user:password@]host[:port]/topic?version=5|3.1.1&qos=0|1|2&mode=binary|structured&format=json|protobuf&retain=true|false&clientid=…&cleanstart=true|false`
///
/// The topic is the URL path, percent-decoded once, so a `#` wildcard is written `%23`
/// (`mqtt://localhost:1883/sensors/%23`) and `$share/group/filter` is written as it is.
/// Defaults: MQTT 5, QoS 1, binary mode (structured in MQTT 3.1.1, which has no other),
/// JSON, no retain, port 1883 (8883 for `mqtts`).
public struct MQTTEndpoint: Sendable {
    /// The client settings (host, port, version, credentials, TLS for `mqtts`).
    public var configuration: MQTTClientConfiguration
    /// The topic to publish to, or the filter to subscribe to.
    public var topic: String
    /// The `qos=` option: the QoS to publish or subscribe with (1 unless given).
    public var qos: MQTTQoS
    /// The `mode=` option: binary (MQTT 5's default) or structured (MQTT 3.1.1's only mode).
    public var mode: ContentMode
    /// The `format=` option (`json` unless given).
    public var formatName: String
    /// The `retain=` option: whether to publish with the retain flag (`false` unless given).
    public var retain: Bool

    /// Reads `endpoint`.
    ///
    /// - Parameter tls: the TLS settings for `mqtts` (the system's trust store by default).
    /// - Throws: ``TransportError`` `.invalidEndpoint` naming the option that is wrong.
    public init(_ endpoint: Endpoint, tls: TLSSettings = TLSSettings()) throws(TransportError) {
        func fail(_ why: String) -> TransportError {
            TransportError(.invalidEndpoint, "\(endpoint): \(why)")
        }
        guard endpoint.scheme == "mqtt" || endpoint.scheme == "mqtts" else { throw fail("expected mqtt:// or mqtts://") }
        guard !endpoint.host.isEmpty else { throw fail("missing host") }
        guard !endpoint.path.isEmpty else { throw fail("missing topic: give it as the URL path (a '#' is written %23)") }
        let known: Set<String> = ["version", "qos", "mode", "format", "retain", "clientid", "cleanstart"]
        if let unknown = endpoint.options.first(where: { !known.contains($0.name) }) {
            throw fail("unknown option '\(unknown.name)' (known: \(known.sorted().joined(separator: ", ")))")
        }
        let version: MQTTProtocolVersion
        switch endpoint.option("version") {
        case nil, "5", "5.0": version = .v5
        case "3.1.1", "311", "4": version = .v311
        case let other?: throw fail("version must be 5 or 3.1.1, not '\(other)'")
        }
        guard let qos = MQTTQoS(rawValue: Int(endpoint.option("qos") ?? "1") ?? -1) else {
            throw fail("qos must be 0, 1 or 2, not '\(endpoint.option("qos") ?? "")'")
        }
        let mode = endpoint.contentMode ?? (version == .v5 ? .binary : .structured)
        guard mode != .batch else { throw fail("MQTT has no batch mode (use binary or structured)") }
        guard version == .v5 || mode == .structured else { throw fail("MQTT 3.1.1 has no binary mode: use mode=structured") }
        formatName = endpoint.formatName ?? "json"
        guard version == .v5 || formatName == "json" else { throw fail("MQTT 3.1.1 carries the JSON format only") }
        func flag(_ name: String, default value: Bool) throws(TransportError) -> Bool {
            switch endpoint.option(name) {
            case nil: return value
            case "true", "1": return true
            case "false", "0": return false
            case let other?: throw fail("\(name) must be true or false, not '\(other)'")
            }
        }
        retain = try flag("retain", default: false)
        var configuration = MQTTClientConfiguration(
            host: endpoint.host, port: endpoint.port, protocolVersion: version,
            cleanStart: try flag("cleanstart", default: false), username: endpoint.user, password: endpoint.password,
            tls: endpoint.scheme == "mqtts" ? tls : nil)
        if let clientID = endpoint.option("clientid") { configuration.clientID = clientID }
        self.configuration = configuration
        self.topic = endpoint.path
        self.qos = qos
        self.mode = mode
    }
}
