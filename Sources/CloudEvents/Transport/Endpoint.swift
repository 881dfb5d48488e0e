/// Where a transport connects or listens, written as a URL:
///
/// | binding | form |
/// |---|---|
/// | HTTP | `http(s)://host:port/path?mode=binary\|structured\|batch&format=json\|protobuf` |
/// | MQTT | `mqtt(s)://[user:password@]host:port/topic?version=5\|3.1.1&qos=0\|1\|2&mode=…&format=…` |
/// | AMQP | `amqp(s)://[user:password@]host:port/address?mode=…&format=…` |
/// | NATS | `nats://[user:password@]host:port/subject?mode=…&format=…` |
/// | in-process | `memory://name?mode=…&format=…` |
///
/// The path is percent-decoded exactly once, strictly, so an MQTT filter's `#` is written
/// `%23` (`mqtt://localhost:1883/sensors/%23`); a raw `#` would start a URL fragment and is
/// refused with that hint. `mode` and `format` are checked here; each binding checks the
/// options it owns.
public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
    /// The scheme, lowercased: `http`, `mqtts`, `memory`, ...
    public var scheme: String
    public var user: String?
    public var password: String?
    /// The host (an IPv6 address without brackets); for `memory://name`, the channel name.
    public var host: String
    public var port: Int?
    /// The path without its leading `/`, percent-decoded: the MQTT topic or filter, the AMQP
    /// address, the NATS subject.
    public var path: String
    /// The path as written, with its leading `/` (HTTP request target).
    public var rawPath: String
    /// Query options, in order; names are lowercased.
    public var options: [(name: String, value: String)]
    /// The text the endpoint was parsed from, with any password masked.
    public let description: String

    /// Parses an endpoint URL.
    ///
    /// - Throws: ``TransportError`` with code `.invalidEndpoint`, saying what is wrong.
    public init(_ text: String) throws(TransportError) {
        func fail(_ why: String) -> TransportError {
            TransportError(.invalidEndpoint, "'\(Self.masked(text))' is not a valid endpoint: \(why)")
        }
        guard let schemeEnd = Self.schemeSeparator(in: text) else { throw fail("expected scheme://host") }
        scheme = text[..<schemeEnd.lowerBound].asciiLowercased()
        guard !scheme.isEmpty else { throw fail("missing scheme") }
        var rest = text[schemeEnd.upperBound...]
        if rest.contains("#") {
            throw fail("a raw '#' starts a URL fragment; write an MQTT '#' wildcard as %23")
        }
        var query = Substring("")
        if let questionMark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: questionMark)...]
            rest = rest[..<questionMark]
        }
        let authority: Substring
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            rawPath = String(rest[slash...])
        } else {
            authority = rest
            rawPath = ""
        }
        var hostPort = authority
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            hostPort = authority[authority.index(after: at)...]
            let parts = userInfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            do {
                user = try Self.decode(String(parts[0]))
                password = parts.count > 1 ? try Self.decode(String(parts[1])) : nil
            } catch {
                throw fail("user info: \(error)")
            }
        }
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw fail("unclosed '[' in IPv6 host") }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let afterHost = hostPort[hostPort.index(after: close)...]
            if afterHost.hasPrefix(":") {
                guard let number = Int(afterHost.dropFirst()), (1...65535).contains(number) else {
                    throw fail("port must be a number from 1 to 65535")
                }
                port = number
            } else if !afterHost.isEmpty {
                throw fail("unexpected '\(afterHost)' after the IPv6 host")
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            guard let number = Int(hostPort[hostPort.index(after: colon)...]), (1...65535).contains(number) else {
                throw fail("port must be a number from 1 to 65535")
            }
            port = number
        } else {
            host = String(hostPort)
        }
        guard !host.isEmpty else { throw fail("missing host") }
        do {
            path = try Self.decode(String(rawPath.drop(while: { $0 == "/" }).isEmpty ? "" : rawPath.dropFirst()))
        } catch {
            throw fail("path: \(error)")
        }
        options = []
        for item in query.split(separator: "&") where !item.isEmpty {
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = pair[0].asciiLowercased()
            guard !options.contains(where: { $0.name == name }) else { throw fail("option '\(name)' given twice") }
            do {
                options.append((name, pair.count > 1 ? try Self.decode(String(pair[1])) : ""))
            } catch {
                throw fail("option '\(name)': \(error)")
            }
        }
        description = Self.masked(text)
        if let mode = option("mode"), ContentMode(rawValue: mode.asciiLowercased()) == nil {
            throw fail("mode must be binary, structured or batch, got '\(mode)'")
        }
        if let format = option("format"), !["json", "protobuf"].contains(format.asciiLowercased()) {
            throw fail("format must be json or protobuf, got '\(format)'")
        }
    }

    /// The value of query option `name`.
    public func option(_ name: String) -> String? {
        options.first { $0.name == name }?.value
    }

    /// The `mode` option.
    public var contentMode: ContentMode? {
        option("mode").flatMap { ContentMode(rawValue: $0.asciiLowercased()) }
    }

    /// The `format` option (`json`, `protobuf`), lowercased.
    public var formatName: String? {
        option("format")?.asciiLowercased()
    }

    /// Whether the scheme asks for TLS (`https`, `mqtts`, `amqps`, `natss`/`tls`).
    public var usesTLS: Bool {
        ["https", "mqtts", "amqps", "tls", "natss", "wss"].contains(scheme)
    }

    public static func == (lhs: Endpoint, rhs: Endpoint) -> Bool {
        lhs.scheme == rhs.scheme && lhs.user == rhs.user && lhs.password == rhs.password && lhs.host == rhs.host
            && lhs.port == rhs.port && lhs.rawPath == rhs.rawPath
            && lhs.options.map(\.name) == rhs.options.map(\.name) && lhs.options.map(\.value) == rhs.options.map(\.value)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(scheme)
        hasher.combine(host)
        hasher.combine(port)
        hasher.combine(rawPath)
    }

    /// The range of the first `://`.
    private static func schemeSeparator(in text: String) -> Range<String.Index>? {
        var index = text.startIndex
        while index < text.endIndex {
            if text[index...].hasPrefix("://") { return index..<text.index(index, offsetBy: 3) }
            index = text.index(after: index)
        }
        return nil
    }

    private static func decode(_ text: String) throws(PercentEncoding.DecodingError) -> String {
        guard text.contains("%") else { return text }
        return try PercentEncoding.utf8String(try PercentEncoding.percentDecode(Array(text.utf8)))
    }

    /// The URL with the password replaced by `***`: secrets are never logged.
    private static func masked(_ text: String) -> String {
        guard let schemeEnd = schemeSeparator(in: text) else { return text }
        let rest = text[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@"),
            let colon = rest[..<at].firstIndex(of: ":")
        else { return text }
        return String(text[..<rest.index(after: colon)]) + "***" + String(rest[at...])
    }
}
