/// What a ``NATSClient`` has done since it connected: counters, never reset.
public struct NATSClientStatistics: Sendable, Hashable {
    /// Connections replaced after a loss (successful reconnects).
    public var reconnects = 0
    /// Times the server reported this client as a slow consumer (`-ERR 'Slow Consumer'`):
    /// the server dropped messages for it then, and closed the connection.
    public var slowConsumerReports = 0
    /// Messages received (`MSG`/`HMSG`), replies included.
    public var messagesIn = 0
    /// Messages published (queued for the socket or the reconnect buffer).
    public var messagesOut = 0
    /// Payload bytes received (headers not counted).
    public var bytesIn = 0
    /// Payload bytes published (headers not counted).
    public var bytesOut = 0

    /// All zero.
    public init() {}
}
