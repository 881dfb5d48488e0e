#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The one-line summary `ce bridge` redraws on a terminal, such as
/// `↑ 1,234 ev/s · received 10,000 · delivered 9,990 · retried 3 · buffered 10 · dead-lettered 0 · dropped 0`.
///
/// Counts are summed over the routes. The rate is the growth of `delivered` since the previous
/// ``render(_:now:)`` divided by the time between the two; the first render shows 0. The line
/// depends only on its inputs, so it reads the same in a test as on a terminal.
public struct ProgressLine: Sendable {
    private var previous: (delivered: Int, at: ContinuousClock.Instant)?

    /// A line that has not rendered yet.
    public init() {}

    /// The line for `snapshots` at `now`, remembering both for the next rate.
    ///
    /// - Parameters:
    ///   - snapshots: every route's snapshot.
    ///   - now: when they were taken.
    /// - Returns: the line, without a newline.
    public mutating func render(_ snapshots: [RouteSnapshot], now: ContinuousClock.Instant) -> String {
        let delivered = snapshots.reduce(0) { $0 + $1.delivered }
        var rate = 0.0
        if let previous {
            let elapsed = (now - previous.at) / .seconds(1)
            // A route that restarted counts from zero again: no negative rate.
            if elapsed > 0 { rate = Double(max(0, delivered - previous.delivered)) / elapsed }
        }
        previous = (delivered, now)
        let fields = [
            "\(Self.grouped(Int(rate.rounded()))) ev/s",
            "received \(Self.grouped(snapshots.reduce(0) { $0 + $1.received }))",
            "delivered \(Self.grouped(delivered))",
            "retried \(Self.grouped(snapshots.reduce(0) { $0 + $1.retried }))",
            "buffered \(Self.grouped(snapshots.reduce(0) { $0 + $1.bufferDepth }))",
            "dead-lettered \(Self.grouped(snapshots.reduce(0) { $0 + $1.deadLettered }))",
            "dropped \(Self.grouped(snapshots.reduce(0) { $0 + $1.droppedTotal }))"
        ]
        return "↑ " + fields.joined(separator: " · ")
    }

    /// Whether `fileDescriptor` is a terminal (`isatty`): the line is drawn only there.
    ///
    /// - Parameter fileDescriptor: such as `STDERR_FILENO`.
    /// - Returns: `true` for a terminal.
    public static func isTerminal(fileDescriptor: Int32) -> Bool {
        isatty(fileDescriptor) == 1
    }

    /// `value` with a comma between groups of three digits (`1,234,567`), whatever the locale,
    /// so that the line is the same everywhere.
    static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var result = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { result.append(",") }
            result.append(digit)
        }
        return value < 0 ? "-" + result : result
    }
}
