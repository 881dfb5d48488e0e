public import CloudEvents

/// The bindings a tool links, looked up by an endpoint's scheme: the one place a tool lists
/// its bindings.
///
/// ```swift
/// let bindings = try BindingRegistry([InProcessBinding(), HTTPBinding(), MQTTBinding()])
/// try await bindings.withSender(for: Endpoint("http://localhost:8080/events"), options: options) { sender in
///     print(try await sender.send(event).summary)
/// }
/// ```
public struct BindingRegistry: Sendable {
    /// The bindings, in the order given.
    public let bindings: [any EventBinding]
    /// Each scheme's binding.
    private let bySchemes: [String: any EventBinding]

    /// A registry of `bindings`.
    ///
    /// - Throws: ``BindingRegistryError/duplicateScheme(_:bindings:)`` when two bindings
    ///   serve one scheme.
    public init(_ bindings: [any EventBinding]) throws(BindingRegistryError) {
        var bySchemes: [String: any EventBinding] = [:]
        for binding in bindings {
            for scheme in binding.schemes.map({ $0.lowercased() }) {
                if let existing = bySchemes[scheme] {
                    throw .duplicateScheme(scheme, bindings: [existing.name, binding.name])
                }
                bySchemes[scheme] = binding
            }
        }
        self.bindings = bindings
        self.bySchemes = bySchemes
    }

    /// Every scheme served, in the order of the bindings and their schemes.
    public var schemes: [String] {
        bindings.flatMap { $0.schemes.map { $0.lowercased() } }
    }

    /// The binding serving `endpoint`'s scheme, after checking the endpoint's options
    /// against the ones the binding reads.
    ///
    /// - Throws: ``BindingRegistryError/unsupportedScheme(_:supported:)`` naming the scheme
    ///   and the supported ones; ``BindingRegistryError/unknownOption(_:endpoint:known:)``
    ///   for an option the binding does not read.
    public func binding(for endpoint: Endpoint) throws(BindingRegistryError) -> any EventBinding {
        guard let binding = bySchemes[endpoint.scheme.lowercased()] else {
            throw .unsupportedScheme(endpoint.scheme, supported: schemes)
        }
        if !binding.allowsOtherOptions {
            let known = binding.endpointOptions.map(\.name)
            if let unknown = endpoint.options.first(where: { !known.contains($0.name) }) {
                throw .unknownOption(unknown.name, endpoint: endpoint.description, known: known.sorted())
            }
        }
        return binding
    }

    /// Looks up `endpoint`'s binding and opens a sender with it; see
    /// ``EventBinding/withSender(for:options:_:)``.
    ///
    /// - Throws: ``BindingRegistryError`` for an endpoint no binding serves;
    ///   ``TransportError`` `.invalidEndpoint` for invalid options or an endpoint with port 0
    ///   (a sender needs its peer's port); what the binding or `body` throws.
    public func withSender<Result: Sendable>(
        for endpoint: Endpoint, options: BindingOptions, _ body: (any BoundSender) async throws -> Result
    ) async throws -> Result {
        let binding = try binding(for: endpoint)
        try options.validate()
        guard endpoint.port != 0 else {
            throw TransportError(
                .invalidEndpoint, "\(endpoint): port 0 is for listeners; a sender needs the port its peer listens on")
        }
        return try await binding.withSender(for: endpoint, options: options, body)
    }

    /// Looks up `endpoint`'s binding and opens a receiver with it; see
    /// ``EventBinding/withReceiver(for:options:_:)``.
    ///
    /// - Throws: ``BindingRegistryError`` for an endpoint no binding serves;
    ///   ``TransportError`` `.invalidEndpoint` for invalid options; what the binding or
    ///   `body` throws.
    public func withReceiver<Result: Sendable>(
        for endpoint: Endpoint, options: BindingOptions, _ body: (any BoundReceiver) async throws -> Result
    ) async throws -> Result {
        let binding = try binding(for: endpoint)
        try options.validate()
        return try await binding.withReceiver(for: endpoint, options: options, body)
    }
}

/// Why a ``BindingRegistry`` could not be built or could not serve an endpoint.
public enum BindingRegistryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No registered binding serves the scheme; `supported` lists the schemes that are.
    case unsupportedScheme(String, supported: [String])
    /// Two bindings (named) serve one scheme.
    case duplicateScheme(String, bindings: [String])
    /// The endpoint (as text, password masked) carries an option its binding does not read.
    case unknownOption(String, endpoint: String, known: [String])

    /// One sentence naming the scheme or option and the alternatives.
    public var description: String {
        switch self {
        case .unsupportedScheme(let scheme, let supported):
            "scheme '\(scheme)' is not supported (supported: \(supported.joined(separator: ", ")))"
        case .duplicateScheme(let scheme, let bindings):
            "scheme '\(scheme)' is served by two bindings: \(bindings.joined(separator: " and "))"
        case .unknownOption(let name, let endpoint, let known):
            "\(endpoint): unknown option '\(name)' (known: \(known.joined(separator: ", ")))"
        }
    }
}
