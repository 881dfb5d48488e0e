import CloudEventsBridge
import Prometheus
import Testing

@Suite("RouteMetrics")
struct RouteMetricsTests {
    @Test("every metric is exported under its name with the route label and the value recorded")
    func exportsEveryMetric() {
        let registry = PrometheusCollectorRegistry()
        let metrics = RouteMetrics(route: "r", factory: PrometheusMetricsFactory(registry: registry))
        for _ in 0..<3 { metrics.received() }
        metrics.delivered(latencyNanoseconds: 3_000_000)
        metrics.delivered(latencyNanoseconds: 20_000_000_000)
        metrics.retried()
        metrics.deadLettered()
        metrics.dropped(.shutdown)
        metrics.dropped(.shutdown)
        metrics.dropped(.unreadable)
        metrics.inFlight(1)
        metrics.inFlight(1)
        metrics.inFlight(-1)
        metrics.buffer(BufferStatistics(count: 4, bytes: 1000, oldestReceivedAt: 1_000_000_000), nowNanoseconds: 3_500_000_000)

        let series = Exposition(registry.emitToString())
        #expect(series[#"ce_bridge_received_total{route="r"}"#] == 3)
        #expect(series[#"ce_bridge_delivered_total{route="r"}"#] == 2)
        #expect(series[#"ce_bridge_retried_total{route="r"}"#] == 1)
        #expect(series[#"ce_bridge_dead_lettered_total{route="r"}"#] == 1)
        #expect(series[#"ce_bridge_dropped_total{route="r",reason="shutdown"}"#] == 2)
        #expect(series[#"ce_bridge_dropped_total{route="r",reason="unreadable"}"#] == 1)
        // Reasons never seen are exported at 0 from the start, so that rate() works on them.
        #expect(series[#"ce_bridge_dropped_total{route="r",reason="no_dead_letter_sink"}"#] == 0)
        #expect(series[#"ce_bridge_dropped_total{route="r",reason="dead_letter_failed"}"#] == 0)
        #expect(series[#"ce_bridge_dropped_total{route="r",reason="buffer_failed"}"#] == 0)
        #expect(series[#"ce_bridge_in_flight{route="r"}"#] == 1)
        #expect(series[#"ce_bridge_buffer_depth{route="r"}"#] == 4)
        #expect(series[#"ce_bridge_buffer_bytes{route="r"}"#] == 1000)
        #expect(series[#"ce_bridge_oldest_undelivered_age_seconds{route="r"}"#] == 2.5)
        // The histogram is in seconds, with buckets from 1 ms to 60 s.
        let latency = "ce_bridge_end_to_end_latency_seconds"
        #expect(series[#"\#(latency)_bucket{route="r",le="0.001"}"#] == 0)
        #expect(series[#"\#(latency)_bucket{route="r",le="0.005"}"#] == 1)
        #expect(series[#"\#(latency)_bucket{route="r",le="10.0"}"#] == 1)
        #expect(series[#"\#(latency)_bucket{route="r",le="30.0"}"#] == 2)
        #expect(series[#"\#(latency)_bucket{route="r",le="60.0"}"#] == 2)
        #expect(series[#"\#(latency)_bucket{route="r",le="+Inf"}"#] == 2)
        #expect(series[#"\#(latency)_count{route="r"}"#] == 2)
        #expect(series[#"\#(latency)_sum{route="r"}"#] == 20.003)
        #expect(series.names(prefix: "\(latency)_bucket").count == RouteMetrics.latencyBuckets.count + 1)
    }

    @Test("the snapshot holds the same values as the exported metrics")
    func snapshotMatches() {
        let metrics = RouteMetrics(route: "r", factory: PrometheusMetricsFactory(registry: PrometheusCollectorRegistry()))
        #expect(metrics.snapshot == RouteSnapshot(route: "r"))
        metrics.received()
        metrics.received()
        metrics.delivered(latencyNanoseconds: 1)
        metrics.retried()
        metrics.deadLettered()
        metrics.dropped(.noDeadLetterSink)
        metrics.dropped(.bufferFailed)
        metrics.inFlight(1)
        metrics.buffer(BufferStatistics(count: 1, bytes: 7, oldestReceivedAt: 0), nowNanoseconds: 1_500_000_000)
        let expected = RouteSnapshot(
            route: "r", received: 2, delivered: 1, retried: 1, deadLettered: 1,
            dropped: [.noDeadLetterSink: 1, .bufferFailed: 1], inFlight: 1, bufferDepth: 1, bufferBytes: 7,
            oldestUndeliveredAgeSeconds: 1.5)
        #expect(metrics.snapshot == expected)
        #expect(metrics.snapshot.droppedTotal == 2)
        #expect(metrics.snapshot.dropped[.shutdown] == 0)
    }

    @Test("an empty buffer has age 0, and a wall clock set back neither ages nor speeds anything below 0")
    func clampsAgesAndLatencies() {
        let registry = PrometheusCollectorRegistry()
        let metrics = RouteMetrics(route: "r", factory: PrometheusMetricsFactory(registry: registry))
        metrics.buffer(BufferStatistics(count: 2, bytes: 2, oldestReceivedAt: 5_000_000_000), nowNanoseconds: 4_000_000_000)
        #expect(metrics.snapshot.oldestUndeliveredAgeSeconds == 0)
        metrics.buffer(BufferStatistics(count: 1, bytes: 1, oldestReceivedAt: 1_000_000_000), nowNanoseconds: 4_000_000_000)
        #expect(metrics.snapshot.oldestUndeliveredAgeSeconds == 3)
        metrics.buffer(BufferStatistics(count: 0, bytes: 0, oldestReceivedAt: nil), nowNanoseconds: 4_000_000_000)
        #expect(metrics.snapshot.oldestUndeliveredAgeSeconds == 0)
        metrics.delivered(latencyNanoseconds: -5_000_000_000)
        let series = Exposition(registry.emitToString())
        #expect(series[#"ce_bridge_oldest_undelivered_age_seconds{route="r"}"#] == 0)
        #expect(series[#"ce_bridge_end_to_end_latency_seconds_bucket{route="r",le="0.001"}"#] == 1)
        #expect(series[#"ce_bridge_end_to_end_latency_seconds_sum{route="r"}"#] == 0)
    }

    @Test("sends starting and ending on many tasks at once leave the in-flight gauge and count at 0")
    func inFlightUnderConcurrency() async {
        let registry = PrometheusCollectorRegistry()
        let metrics = RouteMetrics(route: "r", factory: PrometheusMetricsFactory(registry: registry))
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<1_000 {
                        metrics.inFlight(1)
                        metrics.inFlight(-1)
                    }
                }
            }
        }
        metrics.inFlight(1)
        #expect(metrics.snapshot.inFlight == 1)
        #expect(Exposition(registry.emitToString())[#"ce_bridge_in_flight{route="r"}"#] == 1)
    }

    @Test("two routes in one registry export separate series")
    func routesAreSeparate() {
        let registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: registry)
        let sensors = RouteMetrics(route: "sensors", factory: factory)
        let alarms = RouteMetrics(route: "alarms", factory: factory)
        sensors.received()
        alarms.received()
        alarms.received()
        alarms.dropped(.shutdown)
        let series = Exposition(registry.emitToString())
        #expect(series[#"ce_bridge_received_total{route="sensors"}"#] == 1)
        #expect(series[#"ce_bridge_received_total{route="alarms"}"#] == 2)
        #expect(series[#"ce_bridge_dropped_total{route="sensors",reason="shutdown"}"#] == 0)
        #expect(series[#"ce_bridge_dropped_total{route="alarms",reason="shutdown"}"#] == 1)
        #expect(sensors.snapshot.received == 1)
        #expect(alarms.snapshot.droppedTotal == 1)
    }

    @Test("latency buckets a factory already names for the histogram are kept")
    func keepsConfiguredBuckets() {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[RouteMetrics.latencyMetricName] = [.seconds(1)]
        let metrics = RouteMetrics(route: "r", factory: factory)
        metrics.delivered(latencyNanoseconds: 500_000_000)
        let series = Exposition(registry.emitToString())
        #expect(
            series.names(prefix: "ce_bridge_end_to_end_latency_seconds_bucket") == [
                #"ce_bridge_end_to_end_latency_seconds_bucket{route="r",le="+Inf"}"#,
                #"ce_bridge_end_to_end_latency_seconds_bucket{route="r",le="1.0"}"#
            ])
    }
}

/// The Prometheus text exposition, as series (name and labels, as written) to values.
private struct Exposition {
    private var values: [String: Double] = [:]

    init(_ text: String) {
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            values[String(line[..<space])] = value
        }
    }

    subscript(series: String) -> Double? { values[series] }

    func names(prefix: String) -> [String] { values.keys.filter { $0.hasPrefix(prefix) }.sorted() }
}
