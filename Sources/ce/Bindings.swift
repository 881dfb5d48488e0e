import ArgumentParser
import CloudEvents
import CloudEventsAMQP
import CloudEventsHTTP
import CloudEventsMQTT
import CloudEventsNATS
import CloudEventsTransports

/// The bindings `ce` can use: one registration line per binding. `send` and `listen` look
/// endpoints up here and never switch on a scheme.
enum Bindings {
    /// Every binding this build of `ce` links, for `send`, `listen` and `conformance`: an
    /// MQTT endpoint without `clientid=` gets a fresh client id and a clean session.
    static let registry = registry(freshMQTTSessions: true)

    /// The same bindings for `ce bridge`: an MQTT endpoint without `clientid=` keeps the
    /// library's stable client id and a persistent session, so that messages published while
    /// the bridge is down wait for it at the broker.
    static let bridgeRegistry = registry(freshMQTTSessions: false)

    // The schemes are distinct by construction, which the registry checks: a duplicate is a
    // programming error caught by every test run.
    private static func registry(freshMQTTSessions: Bool) -> BindingRegistry {
        try! BindingRegistry([
            InProcessBinding(),
            HTTPBinding(),
            MQTTBinding(freshSessionWithoutClientID: freshMQTTSessions),
            AMQPBinding(),
            NATSBinding()
        ])
    }

    /// One line per binding, from the bindings themselves: its schemes, the guarantee a
    /// send's acknowledgement gives, and the endpoint options it reads.
    static var help: String {
        registry.bindings.map { binding in
            let schemes = binding.schemes.map { "\($0)://" }.joined(separator: ", ")
            let options = binding.endpointOptions.map { "\($0.name)=" }.joined(separator: ", ")
            return "\(binding.name): \(schemes) (acknowledgement: \(binding.acknowledgement); options: \(options))"
        }.joined(separator: "\n")
    }

    /// Parses `text` with the formats `ce` knows; `mode` and `format`, when given, replace
    /// the URL's options of that name (flags win over the URL).
    ///
    /// - Parameter listening: whether port 0 (any free port) is allowed.
    static func endpoint(_ text: String, mode: ContentMode? = nil, format: FormatName? = nil, listening: Bool = false)
        throws -> Endpoint
    {
        var endpoint: Endpoint
        do {
            endpoint = try Endpoint(text, formats: Formats.registry, allowingPortZero: listening)
        } catch {
            throw Console.fail("\(error)", ExitStatus.invalidInput)
        }
        if let mode { endpoint.setOption("mode", mode.rawValue) }
        if let format { endpoint.setOption("format", format.name) }
        return endpoint
    }

    /// `endpoint` with the option `listen=true`, for `ce listen --listen`: the binding's peer
    /// mode (AMQP: a listener peers connect to, no broker). A binding without a `listen`
    /// option has no such mode, which is invalid input naming it.
    static func peerMode(_ endpoint: Endpoint) throws -> Endpoint {
        let binding = try binding(for: endpoint)
        guard binding.endpointOptions.contains(where: { $0.name == "listen" }) else {
            let modes = registry.bindings.filter { $0.endpointOptions.contains { $0.name == "listen" } }.map(\.name)
            throw Console.fail(
                "--listen: the \(binding.name) binding has no peer mode (bindings with one: \(modes.joined(separator: ", ")))",
                ExitStatus.invalidInput)
        }
        var endpoint = endpoint
        endpoint.setOption("listen", "true")
        return endpoint
    }

    /// The binding for `endpoint`; an unknown scheme or option is invalid input.
    static func binding(for endpoint: Endpoint) throws -> any EventBinding {
        do {
            return try registry.binding(for: endpoint)
        } catch {
            throw Console.fail(message(for: error), ExitStatus.invalidInput)
        }
    }

    /// The line `ce` prints for a registry error.
    private static func message(for error: BindingRegistryError) -> String {
        guard case .unsupportedScheme(let scheme, let supported) = error else { return "\(error)" }
        return "scheme '\(scheme)' is not supported yet (supported: \(supported.joined(separator: ", ")))"
    }

    /// The exit status for a binding's failure: invalid input for an endpoint or message the
    /// binding refuses, a transport failure otherwise.
    static func status(for error: any Error) -> ExitCode {
        guard let error = error as? TransportError else { return ExitStatus.transportFailed }
        return error.code == .invalidEndpoint || error.code == .invalidMessage
            ? ExitStatus.invalidInput : ExitStatus.transportFailed
    }
}

extension Endpoint {
    /// Replaces query option `name` (or adds it).
    fileprivate mutating func setOption(_ name: String, _ value: String) {
        options.removeAll { $0.name == name }
        options.append((name, value))
    }
}
