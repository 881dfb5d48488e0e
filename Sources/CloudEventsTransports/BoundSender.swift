public import CloudEvents

/// A sender a binding opened for one endpoint, valid inside
/// ``EventBinding/withSender(for:options:_:)``'s scope.
public protocol BoundSender: Sendable {
    /// The endpoint it sends to.
    var endpoint: Endpoint { get }

    /// Sends `event` in the endpoint's content mode and format and returns once the binding's
    /// acknowledgement arrived (see ``EventBinding/acknowledgement``).
    ///
    /// - Throws: ``TransportError``: `.invalidMessage` for an event the binding cannot
    ///   write, `.rejected` when the peer refused it, or the binding's transport errors.
    func send(_ event: CloudEvent) async throws -> SendOutcome

    /// Sends `message` in the shape it has (a structured body passes through untouched).
    ///
    /// - Throws: ``TransportError`` as ``send(_:)-(CloudEvent)`` does.
    func send(_ message: Message) async throws -> SendOutcome
}
