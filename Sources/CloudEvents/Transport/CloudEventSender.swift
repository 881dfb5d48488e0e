/// Sends events over one binding to one endpoint. Every binding's sender conforms.
public protocol CloudEventSender: Sendable {
    /// Sends `event` in the sender's configured content mode and format, and returns when
    /// the binding's acknowledgement arrived (as far as the binding has one: see its docs).
    ///
    /// - Throws: ``TransportError``; `.rejected` when the receiver refused the event.
    func send(_ event: CloudEvent) async throws

    /// Sends a message in the shape it has (a structured body passes through untouched),
    /// transcoding only what the binding cannot carry as it is.
    func send(_ message: Message) async throws
}

/// Hands out the deliveries that arrive over one binding. Every binding's receiver conforms.
public protocol CloudEventReceiver: Sendable {
    /// The deliveries as they arrive. Each must be settled.
    func deliveries() -> DeliveryStream
}
