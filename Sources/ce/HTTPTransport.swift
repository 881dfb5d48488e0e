import CloudEvents
import CloudEventsHTTP

/// `ce` over the HTTP binding: `send` with ``HTTPEventSender``, `listen` with ``HTTPEventReceiver``.
enum HTTPTransport {
    /// Sends `event` to `url` in the endpoint's mode and format, then prints the response
    /// status (and the event the response carries, as one JSON line).
    static func send(
        _ event: CloudEvent, to endpoint: Endpoint, url: String, tls: TLSSettings, timeout: Double, retries: Int
    ) async throws {
        let configuration = HTTPSenderConfiguration(
            url: requestURL(url), mode: endpoint.contentMode ?? .binary, format: try Transports.format(of: endpoint),
            formats: Formats.registry, timeout: .seconds(timeout), retry: HTTPRetryPolicy(maximumAttempts: retries + 1),
            tls: endpoint.scheme == "https" ? tls : nil)
        let response: HTTPEventResponse
        do {
            response = try await HTTPEventSender.withSender(configuration: configuration) { try await $0.exchange(event) }
        } catch {
            throw Console.fail("sending to \(endpoint) failed: \(error)", ExitStatus.transportFailed)
        }
        // The status as `code reason`; a response without a reason phrase gives the code alone.
        Console.line(String(describing: response.status).trimmingSuffix(" "))
        if let reply = response.event { try Console.event(reply) }
    }

    /// The URL requested: `text` without the `mode` and `format` options, which are ce's,
    /// not the server's.
    static func requestURL(_ text: String) -> String {
        guard let question = text.firstIndex(of: "?") else { return text }
        let kept = text[text.index(after: question)...].split(separator: "&").filter { item in
            !["mode", "format"].contains(item.prefix { $0 != "=" }.lowercased())
        }
        return String(text[..<question]) + (kept.isEmpty ? "" : "?" + kept.joined(separator: "&"))
    }

    /// Binds a receiver for an `http(s)://host:port/path` endpoint (port 0: any free port,
    /// which is then printed on stderr). Only `path` is served; without one, every path is.
    /// `https` needs `--tls-cert` and `--tls-key`; `--tls-ca` then requires client certificates.
    static func bind(_ endpoint: Endpoint, anyPort: Bool, tls: TLSSettings) async throws -> (HTTPEventReceiver, url: String) {
        guard let port = endpoint.port ?? (anyPort ? 0 : nil) else {
            throw Console.fail("\(endpoint): give the port to listen on (0 for any free port)", ExitStatus.invalidInput)
        }
        var configuration = HTTPReceiverConfiguration(
            host: endpoint.host, port: port, path: endpoint.rawPath.isEmpty ? nil : endpoint.rawPath, formats: Formats.registry)
        if endpoint.scheme == "https" {
            guard tls.certificateChainFile != nil, tls.privateKeyFile != nil else {
                throw Console.fail("listening on https:// needs --tls-cert and --tls-key", ExitStatus.invalidInput)
            }
            configuration.tls = tls
        }
        let receiver: HTTPEventReceiver
        do { receiver = try await HTTPEventReceiver.bind(configuration: configuration) } catch {
            throw Console.fail("\(error)", ExitStatus.transportFailed)
        }
        let host = endpoint.host.contains(":") ? "[\(endpoint.host)]" : endpoint.host
        let url = "\(endpoint.scheme)://\(host):\(receiver.port)\(endpoint.rawPath)"
        if anyPort { Console.error("listening on \(url)") }
        return (receiver, url)
    }

    /// `Endpoint` takes ports 1…65535; a listener may also ask for port 0. Returns the text
    /// without a `:0` port, and whether it had one.
    static func withoutPortZero(_ text: String) -> (String, Bool) {
        guard let separator = text.firstRange(of: "://") else { return (text, false) }
        let authorityEnd = text[separator.upperBound...].firstIndex { $0 == "/" || $0 == "?" } ?? text.endIndex
        guard text[separator.upperBound..<authorityEnd].hasSuffix(":0") else { return (text, false) }
        var copy = text
        copy.removeSubrange(text.index(authorityEnd, offsetBy: -2)..<authorityEnd)
        return (copy, true)
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
