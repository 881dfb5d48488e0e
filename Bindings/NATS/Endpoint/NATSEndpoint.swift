public import CloudEvents

/// A `nats://` or `natss://` endpoint read as client settings, a subject, and the binding's
/// options:
///
/// `nats(s)://[user:password@ | token@]host[:port]/subject?mode=binary|structured&format=json|protobuf&queue=<group>&servers=host:port,host:port`
///
/// **The subject** is the URL path without its leading `/`, percent-decoded once:
/// `nats://127.0.0.1:4222/events.orders` publishes to and subscribes to `events.orders`. A
/// subscriber's subject may hold the wildcards `*` (one token) and `>` (the rest):
/// `nats://127.0.0.1:4222/events.%3E` or `nats://127.0.0.1:4222/events.>` (a `>` needs no
/// encoding); a sender's may not (``NATSBinding`` refuses one).
///
/// **Authentication**: a user and a password in the URL are NATS user/password
/// authentication; a user without a password is a token (`nats://s3cr3t@host/subject`, as
/// the NATS clients read it); none, no authentication. **TLS**: `natss://` connects with the
/// `TLSSettings` given; a plain `nats://` still upgrades when the server's INFO says
/// `tls_required`. Both use port 4222 unless the URL gives one.
///
/// **Options**: `queue=` is the queue group a receiver subscribes in (each message goes to
/// one member of the group); `servers=` lists more servers to try, after the URL's host, as
/// `host:port` (or `[v6]:port`; 4222 without a port) separated by commas. The servers the
/// cluster announces (INFO `connect_urls`) are added by the client.
///
/// Defaults: binary mode, JSON, no queue group, port 4222.
public struct NATSEndpoint: Sendable {
    /// The client settings: the servers (the URL's host first), authentication from the user
    /// info, TLS for `natss://`. ``NATSBinding`` adds the tool's timeout and logger.
    public var configuration: NATSClientConfiguration
    /// The subject to publish to, or to subscribe to (wildcards allowed for a subscription).
    public var subject: String
    /// The `queue=` option: the queue group a receiver subscribes in; `nil` without one.
    public var queueGroup: String?
    /// The `mode=` option: binary (the default) or structured. NATS has no batch mode.
    public var mode: ContentMode
    /// The `format=` option (`json` unless given), for structured mode.
    public var formatName: String

    /// The port of a server whose URL or `servers=` entry gives none.
    public static let defaultPort = 4222

    /// The options a NATS endpoint reads.
    public static let optionNames: [String] = ["mode", "format", "queue", "servers"]

    /// Reads `endpoint`.
    ///
    /// - Parameters:
    ///   - endpoint: a `nats://` or `natss://` endpoint.
    ///   - tls: the TLS settings for `natss` (the system's trust store by default); ignored
    ///     for `nats` unless the server requires TLS.
    /// - Throws: ``TransportError`` `.invalidEndpoint` naming the option or part that is wrong.
    public init(_ endpoint: Endpoint, tls: TLSSettings = TLSSettings()) throws(TransportError) {
        func fail(_ why: String) -> TransportError {
            TransportError(.invalidEndpoint, "\(endpoint.maskingNATSToken): \(why)")
        }
        guard endpoint.scheme == "nats" || endpoint.scheme == "natss" else { throw fail("expected nats:// or natss://") }
        guard !endpoint.host.isEmpty else { throw fail("missing host") }
        if let unknown = endpoint.options.first(where: { !Self.optionNames.contains($0.name) }) {
            throw fail("unknown option '\(unknown.name)' (known: \(Self.optionNames.sorted().joined(separator: ", ")))")
        }
        guard !endpoint.path.isEmpty else {
            throw fail("missing subject: give it as the URL path (nats://host:4222/events.orders)")
        }
        do {
            try NATSSubject.validate(endpoint.path, allowsWildcards: true)
        } catch {
            throw fail("subject: \(error.message)")
        }
        subject = endpoint.path
        mode = endpoint.contentMode ?? .binary
        guard mode != .batch else { throw fail("NATS has no batch mode (use binary or structured)") }
        formatName = endpoint.formatName ?? "json"
        if let group = endpoint.option("queue") {
            guard !group.isEmpty else { throw fail("queue must name a queue group (leave it out for none)") }
            do {
                try NATSSubject.validateQueueGroup(group)
            } catch {
                throw fail("queue: \(error.message)")
            }
            queueGroup = group
        } else {
            queueGroup = nil
        }
        var servers = [NATSServerAddress(host: endpoint.host, port: endpoint.port ?? Self.defaultPort)]
        if let list = endpoint.option("servers") {
            servers += try Self.servers(list, fail: fail)
        }
        var configuration = NATSClientConfiguration(servers: servers)
        configuration.authentication = try Self.authentication(endpoint, fail: fail)
        configuration.tls = endpoint.scheme == "natss" ? tls : nil
        self.configuration = configuration
    }

    /// The authentication the URL's user info asks for.
    private static func authentication(
        _ endpoint: Endpoint, fail: (String) -> TransportError
    ) throws(TransportError) -> NATSAuthentication {
        switch (endpoint.user, endpoint.password) {
        case (nil, _):
            return .none
        case (let user?, let password?):
            guard !user.isEmpty else { throw fail("a password needs a user name (nats://user:password@host)") }
            return .userPassword(user: user, password: password)
        case (let token?, nil):
            // `nats://@host` names nobody: no authentication, as without the '@'.
            return token.isEmpty ? .none : .token(token)
        }
    }

    /// The `servers=` list: `host:port`, `host` (port 4222) or `[v6]:port`, comma-separated.
    private static func servers(
        _ list: String, fail: (String) -> TransportError
    ) throws(TransportError) -> [NATSServerAddress] {
        var servers: [NATSServerAddress] = []
        for item in list.split(separator: ",", omittingEmptySubsequences: false) {
            let entry = item.trimmingASCIISpaces()
            let why = "servers must be host:port entries separated by commas, not '\(entry)'"
            guard !entry.isEmpty else { throw fail(why) }
            var host = Substring(entry)
            var portText: Substring?
            if host.hasPrefix("[") {
                guard let close = host.firstIndex(of: "]") else { throw fail(why) }
                let after = host[host.index(after: close)...]
                host = host[host.index(after: host.startIndex)..<close]
                if !after.isEmpty {
                    guard after.hasPrefix(":") else { throw fail(why) }
                    portText = after.dropFirst()
                }
            } else if let colon = host.lastIndex(of: ":") {
                guard host.firstIndex(of: ":") == colon else {
                    throw fail("servers: write an IPv6 address in brackets, [\(entry)]:4222")
                }
                portText = host[host.index(after: colon)...]
                host = host[..<colon]
            }
            guard !host.isEmpty, !host.contains(where: { $0 == "/" || $0 == "@" || $0 == " " }) else { throw fail(why) }
            var port = defaultPort
            if let portText {
                guard let number = Int(portText), (1...65535).contains(number) else {
                    throw fail("servers: port must be a number from 1 to 65535 in '\(entry)'")
                }
                port = number
            }
            servers.append(NATSServerAddress(host: String(host), port: port))
        }
        return servers
    }
}

extension Endpoint {
    /// The endpoint as text with its secret masked: the password (as ``Endpoint/description``
    /// does) and a token, the user name of a URL without a password (`nats://***@host/subject`).
    /// (The core's ``Endpoint/description`` masks both since NATS tokens were found in logs.)
    package var maskingNATSToken: String { description }
}

extension Substring {
    /// The text without leading and trailing spaces.
    fileprivate func trimmingASCIISpaces() -> String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
