import CloudEvents
import NIOHTTP1

/// One request a ``ControllableSink`` answered, as it arrived.
struct SinkRequest: Sendable {
    /// `POST`, normally.
    var method: HTTPMethod
    /// The request target (`/events`).
    var uri: String
    /// Every header field, as sent.
    var headers: HTTPHeaders
    /// The body's length in bytes.
    var bodyLength: Int
    /// The event the request carried, when it was one.
    var event: CloudEvent?
    /// Why the request could not be read as a CloudEvent, when it could not.
    var decodeError: String?
    /// What the sink answered.
    var status: Int
    /// When the request was complete.
    var receivedAt: ContinuousClock.Instant

    /// The first value of header `name` (any case).
    func header(_ name: String) -> String? { headers.first(name: name) }
}
