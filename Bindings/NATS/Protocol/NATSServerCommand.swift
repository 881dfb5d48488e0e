/// One thing the server said, as ``NATSServerCommandDecoder`` reads it.
public enum NATSServerCommand: Sendable, Hashable {
    /// `INFO {json}`: the server's identity, limits and cluster peers (sent first, and again
    /// when the cluster changes or the server enters lame-duck mode).
    case info(NATSServerInfo)
    /// `MSG` (the message's headers are `nil`) or `HMSG` (its headers parsed, status included)
    /// for the subscription `subscriptionID`.
    case message(subscriptionID: UInt64, NATSMessage)
    /// `PING`: the client must answer `PONG`.
    case ping
    /// `PONG`: the answer to the client's `PING`.
    case pong
    /// `+OK` (only in verbose mode).
    case ok
    /// `-ERR '<text>'`, the text without its quotes.
    case error(String)
}
