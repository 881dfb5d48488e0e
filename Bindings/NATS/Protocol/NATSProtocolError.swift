/// The server's byte stream broke the NATS client protocol: an unknown operation, a
/// malformed control line, a size that is not a number or is over a limit, a payload not
/// followed by CRLF, an `INFO` that is not JSON, or a bad header block.
///
/// The connection that read it cannot be trusted to be in step any more: the client closes
/// it and reconnects.
public struct NATSProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was wrong, with a short printable excerpt of the offending bytes, e.g.
    /// `MSG control line has 2 fields, expected 3 or 4: 'MSG a'`.
    public var message: String

    /// An error saying `message`.
    ///
    /// - Parameter message: what was wrong.
    public init(_ message: String) {
        self.message = message
    }

    /// `NATS protocol error: <message>`.
    public var description: String { "NATS protocol error: \(message)" }

    /// At most `limit` bytes of `bytes` as printable text for an error message: printable
    /// ASCII as is, `\r`, `\n`, `\t` escaped, other bytes as `\xNN`, and `…` when cut.
    package static func excerpt(_ bytes: some Collection<UInt8>, limit: Int = 64) -> String {
        var text = ""
        for byte in bytes.prefix(limit) {
            switch byte {
            case UInt8(ascii: "\r"): text += "\\r"
            case UInt8(ascii: "\n"): text += "\\n"
            case UInt8(ascii: "\t"): text += "\\t"
            case UInt8(ascii: "\\"): text += "\\\\"
            case 0x20...0x7E: text.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let digits = Array("0123456789ABCDEF".utf8)
                text += "\\x"
                text.unicodeScalars.append(Unicode.Scalar(digits[Int(byte >> 4)]))
                text.unicodeScalars.append(Unicode.Scalar(digits[Int(byte & 0x0F)]))
            }
        }
        if bytes.count > limit { text += "…" }
        return text
    }
}
