internal import CloudEvents
internal import HTTPTypes

/// How a delivery's settlement becomes the HTTP response: the binding's whole guarantee, since
/// the sender learns the outcome only through it.
///
/// | settlement | response |
/// |---|---|
/// | ``Settlement/accepted`` | ``HTTPReceiverConfiguration/acceptedStatus`` (202 by default), empty body |
/// | ``Settlement/acceptedWithReply(_:)`` | 200 with the reply event in the message's content mode (500 if the reply cannot be written) |
/// | ``Settlement/rejected(reason:condition:)`` | 400 with the reason as a one-line `text/plain` body (HTTP has no place for the condition) |
/// | ``Settlement/released`` (or dropped unsettled) | 503 with ``HTTPReceiverConfiguration/retryAfterWhenReleased`` as `Retry-After` |
/// | ``Settlement/modified(deliveryFailed:undeliverableHere:)`` | as released: HTTP has no `modified` outcome |
/// | not settled within ``HTTPReceiverConfiguration/settlementTimeout`` | 503 with `Retry-After`, as released, and the connection closes |
/// | the receiver is shutting down or not taking events | 503 with `Retry-After` |
///
/// A sender retries a 503 (and a 429) after `Retry-After`; a 400 is final. Pure and
/// `Sendable`: a settlement's response is built on the thread that settled it.
///
/// The settlement's ``SettlementReport`` hears `reachedPeer` once the response is written, and
/// `failed` when the request was answered or its connection closed before the settlement
/// (`ReceiverRequestHandler`).
struct HTTPSettlement: Sendable {
    /// The same for every accepted delivery, so built once.
    private let accepted: ReceiverResponse
    /// `Retry-After` in whole seconds, rounded up; `nil` for none.
    private let retryAfter: String?
    /// "60 s": how the settlement timeout is named in its response and log.
    let settlementTimeoutText: String

    init(configuration: HTTPReceiverConfiguration) {
        accepted = ReceiverResponse(
            head: HTTPResponse(status: configuration.acceptedStatus, headerFields: [.contentLength: "0"]), body: [])
        retryAfter = configuration.retryAfterWhenReleased.map { String(Swift.max(0, $0.secondsRoundedUp)) }
        settlementTimeoutText = "\(configuration.settlementTimeout)"
    }

    /// The response that `settlement` chooses.
    func response(to settlement: Settlement) -> ReceiverResponse {
        switch settlement {
        case .accepted:
            return accepted
        case .acceptedWithReply(let reply):
            // The reply event travels in the response, in the message's own content mode.
            do {
                var (fields, body) = try reply.httpFields()
                fields[.contentLength] = String(body.count)
                return ReceiverResponse(head: HTTPResponse(status: .ok, headerFields: fields), body: body)
            } catch {
                return ReceiverResponder.text(.internalServerError, "the consumer's reply is not a valid event: \(error)")
            }
        case .rejected(let reason, _):
            // HTTP has no place for the condition: the status says "refused for good".
            return ReceiverResponder.text(.badRequest, reason)
        case .released, .modified:
            return unavailable("the event was released; try again")
        }
    }

    /// The answer to a delivery that was not settled within the settlement timeout: as if it
    /// had been released (the sender tries again after `Retry-After`), and the connection
    /// closes, so that the next request on it does not start while the consumer still holds
    /// this one.
    func settlementTimedOut() -> ReceiverResponse {
        var response = unavailable("the event was not settled within \(settlementTimeoutText); try again")
        response.closesConnection = true
        return response
    }

    /// 503, with the configured `Retry-After`.
    func unavailable(_ text: String) -> ReceiverResponse {
        var response = ReceiverResponder.text(.serviceUnavailable, text)
        if let retryAfter { response.head.headerFields[.retryAfter] = retryAfter }
        return response
    }
}
