public import CloudEvents

/// A receiver a binding opened for one endpoint, valid inside
/// ``EventBinding/withReceiver(for:options:_:)``'s scope: its deliveries arrive until the
/// scope ends.
public protocol BoundReceiver: CloudEventReceiver {
    /// The endpoint actually bound: for a listener asked for port 0, the port it got.
    var endpoint: Endpoint { get }

    /// One line saying the receiver is ready and what a caller could not know beforehand
    /// (`listening on http://127.0.0.1:41234/events` for a port the system chose,
    /// `subscribed to 'sensors/#' at mqtt://…` once the broker granted the subscription);
    /// `nil` when there is nothing to say.
    var readyMessage: String? { get }
}
