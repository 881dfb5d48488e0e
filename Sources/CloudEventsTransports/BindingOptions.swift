public import CloudEvents
public import Logging

/// What a tool (`ce`, the bridge, the conformance runner) passes to every binding alike,
/// beside the endpoint.
public struct BindingOptions: Sendable {
    /// The formats a `format=` option may name and structured or batched messages may use.
    public var formats: EventFormatRegistry
    /// TLS for the schemes that use it (`https`, `mqtts`, ...): the certificate authorities to
    /// trust and a certificate to present; for a listener, its identity. Bindings ignore it
    /// for plain schemes.
    public var tls: TLSSettings
    /// The time one operation may take: connecting, one send attempt and its
    /// acknowledgement. 30 s by default.
    public var timeout: Duration
    /// Retries after a send failed in a way the binding deems transient (HTTP: a network
    /// error, 5xx, 404, 408, 409, 429, with backoff). 2 by default. Bindings without retries
    /// (MQTT, whose client resends unacknowledged messages itself; the in-process channel)
    /// ignore it.
    public var retries: Int
    /// Where bindings log connections, reconnects and refused messages. A no-op logger by
    /// default.
    public var logger: Logger

    /// Options with the documented defaults.
    ///
    /// - Parameters:
    ///   - formats: the formats endpoints and messages may use; JSON only by default.
    ///   - tls: TLS settings for secure schemes; the system's trust store by default.
    ///   - timeout: the time one operation may take.
    ///   - retries: retries after a transient send failure.
    ///   - logger: where bindings log.
    public init(
        formats: EventFormatRegistry = .standard, tls: TLSSettings = TLSSettings(), timeout: Duration = .seconds(30),
        retries: Int = 2,
        logger: Logger = Logger(label: "cloudevents.transports", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.formats = formats
        self.tls = tls
        self.timeout = timeout
        self.retries = retries
        self.logger = logger
    }

    /// Checks the values that do not depend on an endpoint.
    ///
    /// - Throws: ``TransportError`` `.invalidEndpoint` for a timeout that is not positive or
    ///   a negative retry count.
    public func validate() throws(TransportError) {
        guard timeout > .zero else { throw TransportError(.invalidEndpoint, "the timeout must be positive, got \(timeout)") }
        guard retries >= 0 else { throw TransportError(.invalidEndpoint, "retries must not be negative, got \(retries)") }
    }

    /// The format `endpoint`'s `format=` option names, or JSON without one.
    ///
    /// - Throws: ``TransportError`` `.invalidEndpoint` naming the format and the available ones.
    public func format(for endpoint: Endpoint) throws(TransportError) -> any EventFormat {
        guard let name = endpoint.formatName else { return formats.format(named: "json") ?? JSONEventFormat() }
        guard let format = formats.format(named: name) else {
            let names = formats.formats.map(\.name).joined(separator: ", ")
            throw TransportError(.invalidEndpoint, "\(endpoint): format '\(name)' is not available (available: \(names))")
        }
        return format
    }
}
