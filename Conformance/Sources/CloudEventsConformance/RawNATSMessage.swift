/// One NATS header field as it was on the wire: the name as the sender cased it, the value's
/// raw bytes (leading and trailing spaces and tabs after the `:` removed, nothing decoded).
public struct RawNATSHeader: Sendable, Hashable, CustomStringConvertible {
    /// The name, as sent.
    public var name: String
    /// The value's bytes, as sent.
    public var value: [UInt8]

    /// A header `name: value`.
    ///
    /// - Parameters:
    ///   - name: the name, as it is sent.
    ///   - value: the value's bytes, as they are sent.
    public init(name: String, value: [UInt8]) {
        self.name = name
        self.value = value
    }

    /// A header with a text value (its UTF-8 bytes).
    public init(_ name: String, _ value: String) {
        self.init(name: name, value: Array(value.utf8))
    }

    /// `name: value` (the value's bytes as UTF-8, invalid ones replaced).
    public var description: String { "\(name): \(String(decoding: value, as: UTF8.self))" }
}

/// A NATS message as a raw peer read it off the wire (`MSG` or `HMSG`), or as a raw sender
/// writes it (`PUB` or `HPUB`): nothing but the protocol's framing is interpreted.
public struct RawNATSMessage: Sendable, Hashable {
    /// The subject it was published to.
    public var subject: String
    /// The reply subject, or `nil` without one.
    public var replyTo: String?
    /// The header block's first line (`NATS/1.0`, or with a status `NATS/1.0 503`), or `nil`
    /// for a message without headers.
    public var statusLine: String?
    /// The header fields in wire order, repeats included; `nil` for a message without a
    /// header block (`MSG`/`PUB`), which is not the same as an empty block.
    public var headers: [RawNATSHeader]?
    /// The payload.
    public var payload: [UInt8]

    /// A message.
    ///
    /// - Parameters:
    ///   - subject: the subject.
    ///   - replyTo: the reply subject, or `nil`.
    ///   - statusLine: the header block's first line; `NATS/1.0` by default when there are headers.
    ///   - headers: the header fields, or `nil` for none (not even an empty block).
    ///   - payload: the payload.
    public init(
        subject: String, replyTo: String? = nil, statusLine: String? = nil, headers: [RawNATSHeader]?, payload: [UInt8]
    ) {
        self.subject = subject
        self.replyTo = replyTo
        self.statusLine = statusLine ?? (headers == nil ? nil : "NATS/1.0")
        self.headers = headers
        self.payload = payload
    }

    /// The header fields named `name`, compared ignoring ASCII case (REFERENCE §3.4: read
    /// case-insensitively), in wire order.
    public func headers(named name: String) -> [RawNATSHeader] {
        let lower = name.lowercased()
        return (headers ?? []).filter { $0.name.lowercased() == lower }
    }

    /// The wire bytes of a publication of this message: `HPUB` with its header block when it
    /// has headers, else `PUB`.
    public var publishCommand: [UInt8] {
        let reply = replyTo.map { " \($0)" } ?? ""
        guard let headers else {
            return Array("PUB \(subject)\(reply) \(payload.count)\r\n".utf8) + payload + RawNATSProtocol.crlf
        }
        let block = RawNATSProtocol.headerBlock(statusLine: statusLine ?? "NATS/1.0", headers)
        return Array("HPUB \(subject)\(reply) \(block.count) \(block.count + payload.count)\r\n".utf8) + block + payload
            + RawNATSProtocol.crlf
    }
}

/// The bits of the NATS client protocol a raw peer needs, written from the protocol
/// reference (`nats-io/nats.docs`, reference/reference-protocols/nats-protocol.md) for the
/// conformance module alone: it shares nothing with the NATS binding's client or decoder.
public enum RawNATSProtocol {
    static let crlf: [UInt8] = [0x0D, 0x0A]

    /// What the server said, one command.
    public enum Frame: Sendable, Hashable {
        /// `INFO {json}`: the JSON text.
        case info(String)
        /// `MSG` or `HMSG`, with the subscription id.
        case message(subscriptionID: String, RawNATSMessage)
        /// `PING`.
        case ping
        /// `PONG`.
        case pong
        /// `+OK`.
        case ok
        /// `-ERR 'text'`: the text as sent (quotes kept).
        case error(String)
    }

    /// A header block: the status line, `name: value` lines, and an empty line.
    ///
    /// - Parameters:
    ///   - statusLine: the first line (`NATS/1.0`).
    ///   - headers: the fields, in order.
    /// - Returns: the block's bytes, ending in `\r\n\r\n`.
    public static func headerBlock(statusLine: String = "NATS/1.0", _ headers: [RawNATSHeader]) -> [UInt8] {
        var block = Array(statusLine.utf8) + crlf
        for header in headers {
            block += Array(header.name.utf8) + Array(": ".utf8) + header.value + crlf
        }
        return block + crlf
    }

    /// Parses a header block (what `HMSG`'s header length covers).
    ///
    /// - Returns: the status line and the fields in order.
    /// - Throws: ``WireProbeError`` naming what is wrong: no `NATS/1.0` version, a line
    ///   without a `:`, an empty name, or a block that does not end with an empty line.
    public static func parseHeaderBlock(_ block: ArraySlice<UInt8>) throws(WireProbeError) -> (
        statusLine: String, headers: [RawNATSHeader]
    ) {
        func fail(_ reason: String) -> WireProbeError { WireProbeError(operation: "parse a NATS header block", reason: reason) }
        let bytes = Array(block)
        guard bytes.count >= 4, bytes.suffix(4) == [0x0D, 0x0A, 0x0D, 0x0A] else {
            throw fail("it does not end with an empty line (\\r\\n\\r\\n)")
        }
        // The lines before the final empty one, split at each \r\n.
        let content = bytes[..<(bytes.count - 4)]
        var lines: [ArraySlice<UInt8>] = []
        var start = content.startIndex
        var index = content.startIndex
        while index + 1 < content.endIndex {
            if content[index] == 0x0D && content[index + 1] == 0x0A {
                lines.append(content[start..<index])
                index += 2
                start = index
            } else {
                index += 1
            }
        }
        lines.append(content[start...])
        let statusLine = String(decoding: lines[0], as: UTF8.self)
        guard statusLine == "NATS/1.0" || statusLine.hasPrefix("NATS/1.0 ") else {
            throw fail("the first line is '\(statusLine)', not NATS/1.0")
        }
        var headers: [RawNATSHeader] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
                throw fail("the line '\(String(decoding: line, as: UTF8.self))' has no ':'")
            }
            guard colon > line.startIndex else { throw fail("a header line has an empty name") }
            let blank: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 }
            var value = line[(colon + 1)...]
            while let first = value.first, blank(first) { value = value.dropFirst() }
            while let last = value.last, blank(last) { value = value.dropLast() }
            headers.append(RawNATSHeader(name: String(decoding: line[..<colon], as: UTF8.self), value: Array(value)))
        }
        return (statusLine, headers)
    }

    /// Takes the next whole command off the front of `buffer`, or `nil` when it holds only
    /// part of one (nothing is taken then).
    ///
    /// - Throws: ``WireProbeError`` for a command that is not NATS (an unknown verb, a
    ///   malformed `MSG`/`HMSG` line, a payload not followed by `\r\n`, a bad header block).
    public static func frame(_ buffer: inout [UInt8]) throws(WireProbeError) -> Frame? {
        func fail(_ reason: String) -> WireProbeError { WireProbeError(operation: "read from the NATS server", reason: reason) }
        guard let end = lineEnd(buffer) else {
            if buffer.count > 65536 { throw fail("a control line longer than 64 KiB") }
            return nil
        }
        let line = String(decoding: buffer[..<end], as: UTF8.self)
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        let verb = fields.first?.uppercased() ?? ""
        switch verb {
        case "PING", "PONG", "+OK", "INFO", "-ERR":
            buffer.removeFirst(end + 2)
            switch verb {
            case "PING": return .ping
            case "PONG": return .pong
            case "+OK": return .ok
            case "INFO": return .info(String(line.dropFirst(4).drop { $0 == " " || $0 == "\t" }))
            default: return .error(String(line.dropFirst(4).drop { $0 == " " || $0 == "\t" }))
            }
        case "MSG", "HMSG":
            let withHeaders = verb == "HMSG"
            let counts = withHeaders ? 2 : 1
            guard (3 + counts)...(4 + counts) ~= fields.count else {
                throw fail("'\(line)' has \(fields.count) fields, expected \(3 + counts) or \(4 + counts)")
            }
            guard let total = Int(fields[fields.count - 1]), total >= 0,
                let headerLength = withHeaders ? Int(fields[fields.count - 2]) : 0, (0...total) ~= headerLength
            else { throw fail("'\(line)' has byte counts that are not numbers in range") }
            let start = end + 2
            guard buffer.count >= start + total + 2 else { return nil }
            guard buffer[start + total] == 0x0D, buffer[start + total + 1] == 0x0A else {
                throw fail("the payload of '\(line)' is not followed by \\r\\n")
            }
            var message = RawNATSMessage(
                subject: fields[1], replyTo: fields.count == 4 + counts ? fields[3] : nil, headers: nil,
                payload: Array(buffer[(start + headerLength)..<(start + total)]))
            if withHeaders {
                let (status, headers) = try parseHeaderBlock(buffer[start..<(start + headerLength)])
                message.statusLine = status
                message.headers = headers
            }
            buffer.removeFirst(start + total + 2)
            return .message(subscriptionID: fields[2], message)
        default:
            throw fail("unknown command '\(line.prefix(80))'")
        }
    }

    /// The index of the first `\r\n` in `buffer`.
    private static func lineEnd(_ buffer: [UInt8]) -> Int? {
        var index = 0
        while index + 1 < buffer.count {
            if buffer[index] == 0x0D && buffer[index + 1] == 0x0A { return index }
            index += 1
        }
        return nil
    }
}
