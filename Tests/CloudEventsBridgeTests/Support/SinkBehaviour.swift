/// How a ``ControllableSink`` answers the requests it gets; switchable while a test runs.
enum SinkBehaviour: Sendable, Equatable {
    /// Every event is accepted: 202.
    case accept
    /// Every request is answered with `status` (and a `Retry-After` header when given); the
    /// event is not recorded as accepted.
    case status(Int, retryAfter: String? = nil)
    /// Every request waits `delay`, then is accepted (202), so a bridge with one request in
    /// flight per key needs parallelism across keys to keep up.
    case slow(Duration)
    /// Events with these ids are refused with 400 (poison); the rest are accepted.
    case reject(ids: Set<String>)
}

extension SinkBehaviour {
    /// What the sink answers for an event with `id`, and after how long.
    func answer(forEventID id: String) -> (status: Int, retryAfter: String?, delay: Duration) {
        switch self {
        case .accept: return (202, nil, .zero)
        case .status(let status, let retryAfter): return (status, retryAfter, .zero)
        case .slow(let delay): return (202, nil, delay)
        case .reject(let ids): return (ids.contains(id) ? 400 : 202, nil, .zero)
        }
    }
}
