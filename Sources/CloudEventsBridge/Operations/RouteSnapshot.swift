/// One route's counters and gauges at one moment, as ``RouteMetrics/snapshot`` reads them:
/// for the progress line and for tests, without going through a metrics backend.
public struct RouteSnapshot: Sendable, Equatable {
    /// The route's name.
    public var route: String
    /// Events the source handed over.
    public var received: Int
    /// Events the sink accepted.
    public var delivered: Int
    /// Attempts after the first (each retry counts once).
    public var retried: Int
    /// Events handed to the dead-letter sink.
    public var deadLettered: Int
    /// Events dropped, by reason; every reason is present, zero when nothing was dropped for it.
    public var dropped: [DropReason: Int]
    /// Sends under way.
    public var inFlight: Int
    /// Events held in the buffer.
    public var bufferDepth: Int
    /// Bytes held in the buffer, as counted against its bound.
    public var bufferBytes: Int
    /// How long ago the oldest event still in the buffer was received, in seconds; 0 when the
    /// buffer is empty.
    public var oldestUndeliveredAgeSeconds: Double

    /// Events dropped, whatever the reason.
    public var droppedTotal: Int { dropped.values.reduce(0, +) }

    /// A snapshot with these values; zero for those not given.
    ///
    /// - Parameters:
    ///   - route: the route's name.
    ///   - received: events the source handed over.
    ///   - delivered: events the sink accepted.
    ///   - retried: attempts after the first.
    ///   - deadLettered: events handed to the dead-letter sink.
    ///   - dropped: events dropped, by reason; reasons missing here count zero.
    ///   - inFlight: sends under way.
    ///   - bufferDepth: events held in the buffer.
    ///   - bufferBytes: bytes held in the buffer.
    ///   - oldestUndeliveredAgeSeconds: the age of the oldest buffered event, in seconds.
    public init(
        route: String, received: Int = 0, delivered: Int = 0, retried: Int = 0, deadLettered: Int = 0,
        dropped: [DropReason: Int] = [:], inFlight: Int = 0, bufferDepth: Int = 0, bufferBytes: Int = 0,
        oldestUndeliveredAgeSeconds: Double = 0
    ) {
        self.route = route
        self.received = received
        self.delivered = delivered
        self.retried = retried
        self.deadLettered = deadLettered
        // Every reason present, so that two snapshots with the same drops compare equal
        // whether a zero was written out or left out.
        self.dropped = Dictionary(uniqueKeysWithValues: DropReason.allCases.map { ($0, dropped[$0] ?? 0) })
        self.inFlight = inFlight
        self.bufferDepth = bufferDepth
        self.bufferBytes = bufferBytes
        self.oldestUndeliveredAgeSeconds = oldestUndeliveredAgeSeconds
    }
}
