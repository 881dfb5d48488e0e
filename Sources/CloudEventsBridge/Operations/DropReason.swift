/// Why the bridge dropped an event: the `reason` label on `ce_bridge_dropped_total`.
///
/// A dropped event is gone: it was neither delivered nor handed to a dead-letter sink. Each
/// drop is logged and counted under one of these reasons, so that no loss is silent.
public enum DropReason: String, Sendable, CaseIterable {
    /// The event could not be delivered and the route has no dead-letter sink.
    case noDeadLetterSink = "no_dead_letter_sink"
    /// The dead-letter sink refused the event or could not be reached.
    case deadLetterFailed = "dead_letter_failed"
    /// The bridge stopped before the event was delivered, and the buffer does not keep it
    /// (an in-memory buffer).
    case shutdown = "shutdown"
    /// The buffer could not store the event (disk full, I/O error).
    case bufferFailed = "buffer_failed"
    /// The source handed over a message that could not be read at all.
    case unreadable = "unreadable"
}
