import CloudEvents

/// What a ``ControllableSink`` saw and how it answers: one value behind the sink's lock.
struct SinkLedger: Sendable {
    /// How many of the latest requests are kept whole (headers included).
    static let keptRequests = 4096

    /// The current answer.
    var behaviour: SinkBehaviour = .accept
    /// Every accepted event, in the order accepted, duplicates included.
    private(set) var accepted: [CloudEvent] = []
    /// How often each id was accepted.
    private(set) var acceptances: [String: Int] = [:]
    /// Per key (the event's `subject`, `""` without one), ids in the order of their first acceptance.
    private(set) var firstAcceptanceOrder: [String: [String]] = [:]
    /// The latest requests (at most ``keptRequests``), oldest first.
    private(set) var latestRequests: [SinkRequest] = []
    /// Requests answered, by status.
    private(set) var statusCounts: [Int: Int] = [:]
    /// Requests that were not a CloudEvent (answered 400), with why.
    private(set) var undecodable: [String] = []
    /// Requests complete but not answered yet.
    private(set) var inFlight = 0
    /// The most requests ever complete but not answered at once.
    private(set) var maximumInFlight = 0

    /// Counts a complete request the sink has not answered yet.
    mutating func begin() {
        inFlight += 1
        maximumInFlight = max(maximumInFlight, inFlight)
    }

    /// Forgets a request whose connection closed before the answer.
    mutating func abandon() {
        inFlight -= 1
    }

    /// Records `request` (begun with ``begin()``, answered with its status); an accepted event (2xx) counts as delivered.
    mutating func record(_ request: SinkRequest) {
        inFlight -= 1
        statusCounts[request.status, default: 0] += 1
        latestRequests.append(request)
        if latestRequests.count > Self.keptRequests { latestRequests.removeFirst(latestRequests.count - Self.keptRequests) }
        if let error = request.decodeError { undecodable.append(error) }
        guard (200..<300).contains(request.status), let event = request.event else { return }
        accepted.append(event)
        acceptances[event.id, default: 0] += 1
        if acceptances[event.id] == 1 { firstAcceptanceOrder[event.subject ?? "", default: []].append(event.id) }
    }

    /// Distinct accepted ids starting with `prefix` (every id for `""`).
    func distinctCount(prefix: String) -> Int {
        prefix.isEmpty ? acceptances.count : acceptances.keys.reduce(0) { $0 + ($1.hasPrefix(prefix) ? 1 : 0) }
    }
}
