public import Metrics
import Prometheus
import Synchronization

/// One route's metrics: swift-metrics handles made with the factory the bridge was given
/// (never the global `MetricsSystem`), and atomics beside them that ``snapshot`` reads.
///
/// Every metric carries the dimension `route` (the route's name). With swift-prometheus the
/// names below are the exposition names; the bridge itself never names a backend.
///
/// - `ce_bridge_received_total` (counter): events the source handed over.
/// - `ce_bridge_delivered_total` (counter): events the sink accepted (a success, or an answer
///   listed in `successful_on`).
/// - `ce_bridge_retried_total` (counter): attempts after the first; an event sent three times
///   counts two.
/// - `ce_bridge_dead_lettered_total` (counter): events handed to the dead-letter sink.
/// - `ce_bridge_dropped_total` (counter, also labelled `reason`): events lost, by reason:
///   `no_dead_letter_sink`, `dead_letter_failed`, `shutdown`, `buffer_failed`, `unreadable`
///   (see ``DropReason``). Every reason is exported from the start, at 0.
/// - `ce_bridge_in_flight` (gauge): sends under way.
/// - `ce_bridge_buffer_depth` (gauge): events held in the buffer.
/// - `ce_bridge_buffer_bytes` (gauge): bytes held in the buffer, as counted against its bound.
/// - `ce_bridge_oldest_undelivered_age_seconds` (gauge): how long ago the oldest event still in
///   the buffer was received; 0 when it is empty. A value that keeps growing means a stuck
///   event or a sink that does not take anything.
/// - `ce_bridge_end_to_end_latency_seconds` (histogram): from receipt by the bridge to the
///   sink's acceptance, retries and buffering included. Buckets (``latencyBuckets``): 1, 2.5,
///   5, 10, 25, 50, 100, 250 and 500 ms, 1, 2.5, 5, 10, 30 and 60 s.
/// - `ce_bridge_intake_seconds` (histogram): from the moment the bridge's intake gets a
///   message on the source's thread to the buffer's append returning (classification, the
///   SQLite insert, the settlement). With MQTT and libmosquitto 2.0 this is the measurable
///   part of the window in which a hard kill loses a message the library already
///   acknowledged. Buckets (``intakeBuckets``): 10, 25, 50, 100, 250 and 500 µs, 1, 2.5, 5,
///   10, 25, 50 and 100 ms.
///
/// Every method is safe to call from any thread.
public final class RouteMetrics: Sendable {
    /// The exposition name of the end-to-end latency histogram.
    public static let latencyMetricName = "ce_bridge_end_to_end_latency_seconds"

    /// The end-to-end latency histogram's upper bounds, from 1 ms to 60 s. With a
    /// `PrometheusMetricsFactory` the histogram gets them unless the factory already names
    /// buckets for ``latencyMetricName``; other backends choose their own.
    public static let latencyBuckets: [Duration] = [
        .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5),
        .seconds(10), .seconds(30), .seconds(60)
    ]

    /// The exposition name of the intake histogram.
    public static let intakeMetricName = "ce_bridge_intake_seconds"

    /// The intake histogram's upper bounds, from 10 µs to 100 ms.
    public static let intakeBuckets: [Duration] = [
        .microseconds(10), .microseconds(25), .microseconds(50), .microseconds(100), .microseconds(250),
        .microseconds(500), .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100)
    ]

    /// The route's name.
    public let route: String

    private let receivedCounter: CoreMetrics.Counter
    private let deliveredCounter: CoreMetrics.Counter
    private let retriedCounter: CoreMetrics.Counter
    private let deadLetteredCounter: CoreMetrics.Counter
    private let droppedCounters: [DropReason: CoreMetrics.Counter]
    private let inFlightMeter: CoreMetrics.Meter
    private let bufferDepthMeter: CoreMetrics.Meter
    private let bufferBytesMeter: CoreMetrics.Meter
    private let oldestAgeMeter: CoreMetrics.Meter
    private let latencyTimer: CoreMetrics.Timer
    private let intakeTimer: CoreMetrics.Timer

    // The snapshot's values. Each is exact on its own; a snapshot taken while the route runs
    // may pair a count with a gauge from a moment apart, which the progress line tolerates.
    private let receivedCount = Atomic<Int>(0)
    private let deliveredCount = Atomic<Int>(0)
    private let retriedCount = Atomic<Int>(0)
    private let deadLetteredCount = Atomic<Int>(0)
    private let droppedNoDeadLetterSink = Atomic<Int>(0)
    private let droppedDeadLetterFailed = Atomic<Int>(0)
    private let droppedShutdown = Atomic<Int>(0)
    private let droppedBufferFailed = Atomic<Int>(0)
    private let droppedUnreadable = Atomic<Int>(0)
    private let inFlightCount = Atomic<Int>(0)
    private let bufferDepthValue = Atomic<Int>(0)
    private let bufferBytesValue = Atomic<Int>(0)
    private let oldestAgeNanoseconds = Atomic<Int64>(0)
    private let intakeMaximumNanoseconds = Atomic<Int64>(0)

    /// Creates the route's metric handles with `factory`.
    ///
    /// Two instances for the same route and factory share the backend's series (Prometheus
    /// returns the same handle for the same name and labels) but not their snapshots.
    ///
    /// - Parameters:
    ///   - route: the route's name, the value of the `route` dimension.
    ///   - factory: the backend; a `PrometheusMetricsFactory` gets the latency buckets above.
    public init(route: String, factory: any MetricsFactory) {
        self.route = route
        let dimensions = [("route", route)]
        receivedCounter = CoreMetrics.Counter(label: "ce_bridge_received_total", dimensions: dimensions, factory: factory)
        deliveredCounter = CoreMetrics.Counter(label: "ce_bridge_delivered_total", dimensions: dimensions, factory: factory)
        retriedCounter = CoreMetrics.Counter(label: "ce_bridge_retried_total", dimensions: dimensions, factory: factory)
        deadLetteredCounter = CoreMetrics.Counter(
            label: "ce_bridge_dead_lettered_total", dimensions: dimensions, factory: factory)
        droppedCounters = Dictionary(
            uniqueKeysWithValues: DropReason.allCases.map { reason in
                let labels = dimensions + [("reason", reason.rawValue)]
                return (reason, CoreMetrics.Counter(label: "ce_bridge_dropped_total", dimensions: labels, factory: factory))
            })
        inFlightMeter = CoreMetrics.Meter(label: "ce_bridge_in_flight", dimensions: dimensions, factory: factory)
        bufferDepthMeter = CoreMetrics.Meter(label: "ce_bridge_buffer_depth", dimensions: dimensions, factory: factory)
        bufferBytesMeter = CoreMetrics.Meter(label: "ce_bridge_buffer_bytes", dimensions: dimensions, factory: factory)
        oldestAgeMeter = CoreMetrics.Meter(
            label: "ce_bridge_oldest_undelivered_age_seconds", dimensions: dimensions, factory: factory)
        latencyTimer = CoreMetrics.Timer(
            label: Self.latencyMetricName, dimensions: dimensions, factory: Self.latencyFactory(factory))
        intakeTimer = CoreMetrics.Timer(
            label: Self.intakeMetricName, dimensions: dimensions,
            factory: Self.bucketedFactory(factory, name: Self.intakeMetricName, buckets: Self.intakeBuckets))
        // Gauges start at a known 0 rather than at whatever the backend shows before a first set.
        for meter in [inFlightMeter, bufferDepthMeter, bufferBytesMeter, oldestAgeMeter] {
            meter.set(0)
        }
    }

    /// `factory`, with the latency buckets when it is Prometheus's: its own default buckets
    /// stop at 10 s, below what a retried event takes.
    private static func latencyFactory(_ factory: any MetricsFactory) -> any MetricsFactory {
        bucketedFactory(factory, name: latencyMetricName, buckets: latencyBuckets)
    }

    /// `factory`, with `buckets` for the histogram `name` when it is Prometheus's and names
    /// none for it.
    private static func bucketedFactory(
        _ factory: any MetricsFactory, name: String, buckets: [Duration]
    ) -> any MetricsFactory {
        guard var prometheus = factory as? PrometheusMetricsFactory, prometheus.durationHistogramBuckets[name] == nil
        else { return factory }
        prometheus.durationHistogramBuckets[name] = buckets
        return prometheus
    }

    /// Records how long the intake took to store one message (see `ce_bridge_intake_seconds`).
    ///
    /// - Parameter nanoseconds: from the intake's start to the append's return.
    public func intake(nanoseconds: Int64) {
        intakeTimer.recordNanoseconds(max(0, nanoseconds))
        var current = intakeMaximumNanoseconds.load(ordering: .relaxed)
        while nanoseconds > current {
            let (exchanged, original) = intakeMaximumNanoseconds.compareExchange(
                expected: current, desired: nanoseconds, ordering: .relaxed)
            if exchanged { break }
            current = original
        }
    }

    /// The longest intake recorded so far, in seconds.
    public var longestIntakeSeconds: Double { Double(intakeMaximumNanoseconds.load(ordering: .relaxed)) / 1e9 }

    /// Counts an event the source handed over.
    public func received() {
        receivedCount.add(1, ordering: .relaxed)
        receivedCounter.increment()
    }

    /// Counts an event the sink accepted and records its end-to-end latency.
    ///
    /// - Parameter latencyNanoseconds: from the event's receipt to the sink's acceptance; a
    ///   negative value (a wall clock set back) counts as 0.
    public func delivered(latencyNanoseconds: Int64) {
        deliveredCount.add(1, ordering: .relaxed)
        deliveredCounter.increment()
        latencyTimer.recordNanoseconds(max(0, latencyNanoseconds))
    }

    /// Counts an attempt after the first.
    public func retried() {
        retriedCount.add(1, ordering: .relaxed)
        retriedCounter.increment()
    }

    /// Counts an event handed to the dead-letter sink.
    public func deadLettered() {
        deadLetteredCount.add(1, ordering: .relaxed)
        deadLetteredCounter.increment()
    }

    /// Counts an event dropped for `reason`.
    ///
    /// - Parameter reason: why it was dropped.
    public func dropped(_ reason: DropReason) {
        withDroppedCount(reason) { _ = $0.add(1, ordering: .relaxed) }
        droppedCounters[reason]?.increment()
    }

    /// Moves the in-flight gauge.
    ///
    /// - Parameter delta: +1 when a send starts, -1 when it ends.
    public func inFlight(_ delta: Int) {
        inFlightCount.add(delta, ordering: .relaxed)
        // Moved rather than set from the count: two sends ending at once could set their
        // values in the wrong order, while increments add up whatever their order.
        if delta > 0 {
            inFlightMeter.increment(by: Double(delta))
        } else if delta < 0 {
            inFlightMeter.decrement(by: Double(-delta))
        }
    }

    /// Sets the buffer gauges from the buffer's statistics.
    ///
    /// - Parameters:
    ///   - statistics: what the buffer holds now.
    ///   - nowNanoseconds: the wall clock now, in nanoseconds since 1970 (the unit of
    ///     ``BufferStatistics/oldestReceivedAt``).
    public func buffer(_ statistics: BufferStatistics, nowNanoseconds: Int64) {
        let age = statistics.oldestReceivedAt.map { max(0, nowNanoseconds - $0) } ?? 0
        bufferDepthValue.store(statistics.count, ordering: .relaxed)
        bufferBytesValue.store(statistics.bytes, ordering: .relaxed)
        oldestAgeNanoseconds.store(age, ordering: .relaxed)
        bufferDepthMeter.set(statistics.count)
        bufferBytesMeter.set(statistics.bytes)
        oldestAgeMeter.set(Double(age) / 1e9)
    }

    /// The route's values now, read from the atomics (not from the backend).
    public var snapshot: RouteSnapshot {
        var dropped: [DropReason: Int] = [:]
        for reason in DropReason.allCases {
            dropped[reason] = withDroppedCount(reason) { $0.load(ordering: .relaxed) }
        }
        return RouteSnapshot(
            route: route,
            received: receivedCount.load(ordering: .relaxed),
            delivered: deliveredCount.load(ordering: .relaxed),
            retried: retriedCount.load(ordering: .relaxed),
            deadLettered: deadLetteredCount.load(ordering: .relaxed),
            dropped: dropped,
            inFlight: inFlightCount.load(ordering: .relaxed),
            bufferDepth: bufferDepthValue.load(ordering: .relaxed),
            bufferBytes: bufferBytesValue.load(ordering: .relaxed),
            oldestUndeliveredAgeSeconds: Double(oldestAgeNanoseconds.load(ordering: .relaxed)) / 1e9)
    }

    // An atomic cannot be copied into a collection or returned, hence one property per reason
    // and a body that borrows the right one.
    private func withDroppedCount<Result>(_ reason: DropReason, _ body: (borrowing Atomic<Int>) -> Result) -> Result {
        switch reason {
        case .noDeadLetterSink: body(droppedNoDeadLetterSink)
        case .deadLetterFailed: body(droppedDeadLetterFailed)
        case .shutdown: body(droppedShutdown)
        case .bufferFailed: body(droppedBufferFailed)
        case .unreadable: body(droppedUnreadable)
        }
    }
}
