public import NIOCore

/// Decodes the server's byte stream into ``NATSServerCommand``s, however it is split.
///
/// A control line ends with LF, optionally preceded by CR: the server always sends CRLF, and
/// the reference clients (nats.go) accept a bare LF there too. Framing is strict where the
/// protocol is: a `MSG`/`HMSG` payload of exactly the announced size must be followed by
/// CRLF, or the stream is out of step and decoding fails. Operation names are
/// case-insensitive and fields are separated by one or more spaces or tabs.
///
/// Malformed input throws ``NATSProtocolError`` naming the problem (the client then closes
/// the connection and reconnects); it never traps. A control line longer than
/// `maximumControlLineLength` (an `INFO` line: 1 MiB, as it lists a cluster's servers) and a
/// payload longer than `maximumPayload` are errors found before anything of the claimed
/// size is allocated.
///
/// The state machine has two states: reading a control line (LF searched with `memchr`, never
/// twice over the same bytes), and waiting for the announced payload of a `MSG`/`HMSG` whose
/// control line was consumed. Nothing is consumed until a whole command is there, so any
/// split of the stream decodes the same.
public struct NATSServerCommandDecoder: NIOSingleStepByteToMessageDecoder {
    /// One command per decoded item.
    public typealias InboundOut = NATSServerCommand

    /// The longest control line accepted, CRLF excluded (`INFO` lines: at least 1 MiB).
    public let maximumControlLineLength: Int
    /// The largest `MSG` payload or `HMSG` total size accepted.
    public let maximumPayload: Int

    /// A `MSG`/`HMSG` whose control line was read and whose payload has not all arrived.
    private var pending: PendingMessage?
    /// How many bytes of the control line being read were already searched for LF.
    private var scanned = 0

    /// A decoder with the given limits.
    ///
    /// - Parameters:
    ///   - maximumControlLineLength: the longest control line (4096 bytes by default, as
    ///     the server's own limit for clients).
    ///   - maximumPayload: the largest payload (64 MiB by default, the server's maximum
    ///     `max_payload`).
    public init(maximumControlLineLength: Int = 4096, maximumPayload: Int = 64 << 20) {
        // Clamped so that the arithmetic on them cannot overflow.
        self.maximumControlLineLength = min(max(maximumControlLineLength, 16), 1 << 30)
        self.maximumPayload = min(max(maximumPayload, 0), Int.max / 2)
    }

    /// Decodes the next command from `buffer`, or returns `nil` when more bytes are needed.
    ///
    /// - Parameter buffer: the bytes received so far; what is decoded is consumed.
    /// - Returns: the next command, or `nil`.
    /// - Throws: ``NATSProtocolError`` for malformed input.
    public mutating func decode(buffer: inout ByteBuffer) throws(NATSProtocolError) -> NATSServerCommand? {
        if pending == nil {
            guard let line = try readControlLine(&buffer) else { return nil }
            switch line {
            case .command(let command): return command
            case .message(let message): pending = message
            }
        }
        return try readPayload(&buffer)
    }

    /// Decodes what is left when the stream ends; an incomplete command is left in the buffer.
    ///
    /// - Parameters:
    ///   - buffer: the bytes left.
    ///   - seenEOF: whether the peer closed the stream.
    /// - Returns: the next command, or `nil`.
    /// - Throws: ``NATSProtocolError`` for malformed input.
    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws(NATSProtocolError)
        -> NATSServerCommand?
    {
        try decode(buffer: &buffer)
    }

    /// Reads and parses one control line, or returns `nil` (consuming nothing) when its LF
    /// has not arrived.
    private mutating func readControlLine(_ buffer: inout ByteBuffer) throws(NATSProtocolError) -> ControlLine? {
        let limit = lineLimit(buffer)
        let searchEnd = min(buffer.readableBytes, limit + 2)
        let start = min(scanned, searchEnd)
        let newline = buffer.withUnsafeReadableBytes { bytes in
            bytes.natsIndex(of: UInt8(ascii: "\n"), in: start..<searchEnd)
        }
        guard let newline else {
            if searchEnd >= limit + 2 {
                let excerpt = buffer.withUnsafeReadableBytes { NATSProtocolError.excerpt($0, limit: 40) }
                throw NATSProtocolError("control line is longer than \(limit) bytes: '\(excerpt)'")
            }
            scanned = searchEnd
            return nil
        }
        scanned = 0
        let result = buffer.withUnsafeReadableBytes { bytes in
            Result { () throws(NATSProtocolError) -> ControlLine in
                let contentEnd =
                    newline > 0 && bytes[newline - 1] == UInt8(ascii: "\r") ? newline - 1 : newline
                if contentEnd > limit {
                    throw NATSProtocolError(
                        "control line is longer than \(limit) bytes: '\(NATSProtocolError.excerpt(bytes, limit: 40))'")
                }
                return try Self.parseControlLine(UnsafeRawBufferPointer(rebasing: bytes[0..<contentEnd]))
            }
        }
        let line = try result.get()
        buffer.moveReaderIndex(forwardBy: newline + 1)
        if case .message(let message) = line, message.totalLength > maximumPayload {
            throw NATSProtocolError(
                "\(message.headerLength == nil ? "MSG" : "HMSG") payload of \(message.totalLength) bytes is over the limit of \(maximumPayload) bytes"
            )
        }
        return line
    }

    /// The longest `INFO` line accepted, at least: an `INFO` lists the cluster's servers
    /// (`connect_urls`) and can outgrow a limit meant for `MSG` lines in a large cluster;
    /// clients such as nats.go set no limit on it.
    static let maximumInfoLength = 1 << 20

    /// The length limit for the control line at the start of `buffer`: larger for `INFO`.
    private func lineLimit(_ buffer: ByteBuffer) -> Int {
        guard maximumControlLineLength < Self.maximumInfoLength, buffer.readableBytes > 4 else {
            return maximumControlLineLength
        }
        let isInfo = buffer.withUnsafeReadableBytes { bytes in
            (bytes[0] | 0x20) == UInt8(ascii: "i") && (bytes[1] | 0x20) == UInt8(ascii: "n")
                && (bytes[2] | 0x20) == UInt8(ascii: "f") && (bytes[3] | 0x20) == UInt8(ascii: "o")
                && (bytes[4] == UInt8(ascii: " ") || bytes[4] == UInt8(ascii: "\t"))
        }
        return isInfo ? Self.maximumInfoLength : maximumControlLineLength
    }

    /// Reads the pending message's payload and its CRLF, or returns `nil` (consuming
    /// nothing) when they have not all arrived.
    private mutating func readPayload(_ buffer: inout ByteBuffer) throws(NATSProtocolError) -> NATSServerCommand? {
        // Compared without adding to the claimed size, which may be near `Int.max`.
        guard let message = pending, buffer.readableBytes >= 2, buffer.readableBytes - 2 >= message.totalLength else {
            return nil
        }
        let end = buffer.readerIndex + message.totalLength
        guard buffer.getInteger(at: end, as: UInt8.self) == UInt8(ascii: "\r"),
            buffer.getInteger(at: end + 1, as: UInt8.self) == UInt8(ascii: "\n")
        else {
            // Only the two bytes that should be CRLF: the message is the same however the stream was split.
            let found = buffer.getBytes(at: end, length: 2) ?? []
            throw NATSProtocolError(
                "payload of \(message.totalLength) bytes for '\(NATSProtocolError.excerpt(message.subject.utf8))' is not followed by CRLF but '\(NATSProtocolError.excerpt(found))'"
            )
        }
        var headers: NATSHeaders?
        if let headerLength = message.headerLength {
            let parsed = buffer.withUnsafeReadableBytes { bytes in
                Result { () throws(NATSProtocolError) in
                    try NATSHeaders.parse(UnsafeRawBufferPointer(rebasing: bytes[0..<headerLength]))
                }
            }
            do {
                headers = try parsed.get()
            } catch {
                // Framing is intact (sizes and CRLF checked): the message is delivered, marked, and
                // the stream goes on. The server forwards publishers' header blocks unchecked, so one
                // bad publisher must not drop every subscriber's connection.
                var marked = NATSHeaders()
                marked.malformation =
                    "HMSG for '\(NATSProtocolError.excerpt(message.subject.utf8))' has a bad header block: \(error.message)"
                headers = marked
            }
            buffer.moveReaderIndex(forwardBy: headerLength)
        }
        let payload = buffer.readBytes(length: message.totalLength - (message.headerLength ?? 0)) ?? []
        buffer.moveReaderIndex(forwardBy: 2)
        pending = nil
        return .message(
            subscriptionID: message.subscriptionID,
            NATSMessage(subject: message.subject, replyTo: message.replyTo, headers: headers, payload: payload))
    }
}

/// A control line, parsed.
enum ControlLine {
    /// A complete command (`INFO`, `PING`, `PONG`, `+OK`, `-ERR`).
    case command(NATSServerCommand)
    /// A `MSG`/`HMSG` whose payload follows.
    case message(PendingMessage)
}

/// What a `MSG`/`HMSG` control line says.
struct PendingMessage {
    var subject: String
    var subscriptionID: UInt64
    var replyTo: String?
    /// `nil` for `MSG`.
    var headerLength: Int?
    var totalLength: Int
}
