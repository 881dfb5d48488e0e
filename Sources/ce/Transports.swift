import CloudEvents

/// Which bindings `ce` can use, by URL scheme. Each binding adds its schemes here.
enum Transports {
    static let supportedSchemes = ["memory", "http", "https", "mqtt", "mqtts"]

    static func endpoint(_ text: String, mode: ContentMode?, format: FormatName?) throws -> Endpoint {
        var endpoint: Endpoint
        do { endpoint = try Endpoint(text) } catch { throw Console.fail("\(error)", ExitStatus.invalidInput) }
        // Flags win over the URL's query options.
        if let mode { endpoint = try rewritten(endpoint, option: "mode", value: mode.rawValue) }
        if let format { endpoint = try rewritten(endpoint, option: "format", value: format.rawValue) }
        return endpoint
    }

    /// The format an endpoint's `format=` names; JSON without one.
    static func format(of endpoint: Endpoint) throws -> any EventFormat {
        try (endpoint.formatName.flatMap(FormatName.init(rawValue:)) ?? .json).format
    }

    private static func rewritten(_ endpoint: Endpoint, option: String, value: String) throws -> Endpoint {
        var copy = endpoint
        copy.options.removeAll { $0.name == option }
        copy.options.append((option, value))
        return copy
    }

    static func unsupported(_ endpoint: Endpoint) -> any Error {
        Console.fail(
            "scheme '\(endpoint.scheme)' is not supported yet (supported: \(supportedSchemes.joined(separator: ", ")))",
            ExitStatus.invalidInput)
    }
}
