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
/// refused with that hint. `mode` and `format` are checked here (`format` against the
/// formats given to ``init(_:formats:allowingPortZero:)``); each binding checks the options
/// it owns. ``url(maskingPassword:)`` prints an endpoint back as a URL that parses to an
/// equal endpoint.
public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
    /// The scheme, lowercased: `http`, `mqtts`, `memory`, ...
    public var scheme: String
    /// The user name of the URL's user info, percent-decoded.
    public var user: String?
    /// The password of the URL's user info, percent-decoded. Never logged: ``description``
    /// and ``url(maskingPassword:)`` mask it.
    public var password: String?
    /// The host (an IPv6 address without brackets); for `memory://name`, the channel name.
    public var host: String
    /// The port, if the URL gives one. `0` (only with `allowingPortZero`) asks a listener
    /// for any free port.
    public var port: Int?
    /// The path without its leading `/`, percent-decoded: the MQTT topic or filter, the AMQP
    /// address, the NATS subject.
    public var path: String
    /// The path as written, with its leading `/` (HTTP request target).
    public var rawPath: String
    /// Query options, in order; names are lowercased.
    public var options: [(name: String, value: String)]
    /// The text the endpoint was parsed from, with any password masked.
    public private(set) var description: String

    /// Parses an endpoint URL.
    ///
    /// - Parameters:
    ///   - text: the URL.
    ///   - formats: the formats a `format=` option may name (JSON only by default).
    ///   - allowingPortZero: whether port `0` is accepted, for a listener that binds any free
    ///     port; senders refuse it.
    /// - Throws: ``TransportError`` with code `.invalidEndpoint`, saying what is wrong.
    public init(_ text: String, formats: EventFormatRegistry = .standard, allowingPortZero: Bool = false)
        throws(TransportError)
    {
        let ports = allowingPortZero ? 0...65535 : 1...65535
        let portRule = "port must be a number from \(ports.lowerBound) to 65535"
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
                guard let number = Int(afterHost.dropFirst()), ports.contains(number) else {
                    throw fail(portRule)
                }
                port = number
            } else if !afterHost.isEmpty {
                throw fail("unexpected '\(afterHost)' after the IPv6 host")
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            guard let number = Int(hostPort[hostPort.index(after: colon)...]), ports.contains(number) else {
                throw fail(portRule)
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
        if let format = option("format"), formats.format(named: format) == nil {
            throw fail("format must be \(Self.alternatives(formats.formats.map(\.name))), got '\(format)'")
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

    /// The `format` option (`json`, `protobuf`, ...), lowercased.
    public var formatName: String? {
        option("format")?.asciiLowercased()
    }

    /// Whether the scheme asks for TLS (`https`, `mqtts`, `amqps`, `natss`/`tls`).
    public var usesTLS: Bool {
        ["https", "mqtts", "amqps", "tls", "natss", "wss"].contains(scheme)
    }

    /// Whether two endpoints are the same: every part, options in order; ``description``
    /// (the text parsed) does not count.
    public static func == (lhs: Endpoint, rhs: Endpoint) -> Bool {
        lhs.scheme == rhs.scheme && lhs.user == rhs.user && lhs.password == rhs.password && lhs.host == rhs.host
            && lhs.port == rhs.port && lhs.rawPath == rhs.rawPath
            && lhs.options.map(\.name) == rhs.options.map(\.name) && lhs.options.map(\.value) == rhs.options.map(\.value)
    }

    /// Hashes the scheme, host, port and path.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(scheme)
        hasher.combine(host)
        hasher.combine(port)
        hasher.combine(rawPath)
    }

    /// The endpoint as a URL that parses back to an equal endpoint: the user info and the
    /// query values percent-encoded where needed, the path as written.
    ///
    /// - Parameter maskingPassword: whether the password (or a NATS token, the user info of
    ///   `nats://TOKEN@host`) is printed as `***` (the default: secrets are never logged). Pass `false` only to hand the URL to a client.
    public func url(maskingPassword: Bool = true) -> String {
        var text = scheme + "://"
        if let user {
            let token = maskingPassword && Self.userIsToken(scheme: scheme, hasPassword: password != nil)
            text += token ? "***" : Self.encode(user, keeping: Self.unreservedAndSubDelimiters)
            if let password {
                text += ":" + (maskingPassword ? "***" : Self.encode(password, keeping: Self.unreservedAndSubDelimiters))
            }
            text += "@"
        }
        // The host is not percent-decoded when parsed, so it is printed as it is.
        text += host.contains(":") ? "[\(host)]" : host
        if let port { text += ":\(port)" }
        text += rawPath
        if !options.isEmpty {
            let query = options.map { option in
                // Names are not percent-decoded when parsed; values are.
                option.name
                    + (option.value.isEmpty ? "" : "=" + Self.encode(option.value, keeping: Self.queryCharacters))
            }
            text += "?" + query.joined(separator: "&")
        }
        return text
    }

    /// The endpoint with `port`, for a listener that bound port 0 to report where it listens.
    /// Its ``description`` is the new URL, password masked.
    public func withPort(_ port: Int) -> Endpoint {
        var copy = self
        copy.port = port
        copy.description = copy.url()
        return copy
    }

    /// ASCII letters, digits, `-._~` and the sub-delimiters `!$'()*+,;`, which user info
    /// may hold as they are.
    private static let unreservedAndSubDelimiters = Set(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$'()*+,;".utf8)
    /// What a query value may hold as it is (no `&`, `=`, `#`, `%`, `+`).
    private static let queryCharacters = Set(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$'()*,;:@/?".utf8)

    private static func encode(_ text: String, keeping allowed: Set<UInt8>) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var bytes: [UInt8] = []
        for byte in text.utf8 {
            if allowed.contains(byte) {
                bytes.append(byte)
            } else {
                bytes += [0x25, hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `a`, `a or b`, `a, b or c`.
    private static func alternatives(_ names: [String]) -> String {
        guard names.count > 1 else { return names.first ?? "(none)" }
        return names.dropLast().joined(separator: ", ") + " or " + names[names.count - 1]
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

    /// The schemes whose user info without a password is itself a secret: NATS reads
    /// `nats://TOKEN@host` as an authentication token.
    static let schemesWithTokenUserInfo: Set<String> = ["nats", "natss"]

    /// Whether a user info of `user` alone is a token for `scheme`, to be masked.
    static func userIsToken(scheme: String, hasPassword: Bool) -> Bool {
        !hasPassword && schemesWithTokenUserInfo.contains(scheme.lowercased())
    }

    /// The URL with the password (or a token: ``schemesWithTokenUserInfo``) replaced by
    /// `***`: secrets are never logged.
    private static func masked(_ text: String) -> String {
        guard let schemeEnd = schemeSeparator(in: text) else { return text }
        let rest = text[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return text }
        guard let colon = rest[..<at].firstIndex(of: ":") else {
            let scheme = String(text[..<schemeEnd.lowerBound])
            guard userIsToken(scheme: scheme, hasPassword: false) else { return text }
            return String(text[..<rest.startIndex]) + "***" + String(rest[at...])
        }
        return String(text[..<rest.index(after: colon)]) + "***" + String(rest[at...])
    }
}
