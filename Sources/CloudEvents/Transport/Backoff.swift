/// How long to wait before the n-th retry of anything: an HTTP send, an MQTT or AMQP
/// reconnect, a NATS reconnect. One type, so that "jitter" means one thing everywhere.
///
/// The delay before retry `n` (1 for the first) is `initial × multiplierⁿ⁻¹` (exponential) or
/// `initial × n` (linear), at most ``maximumDelay``; then jitter moves it at random by up to
/// ``jitter`` of itself either way, so that many clients that failed together do not retry in
/// step. The jittered delay never exceeds `maximumDelay × (1 + jitter)` and is never negative.
public struct Backoff: Sendable, Hashable, CustomStringConvertible {
    /// How the delay grows from one retry to the next.
    public enum Growth: Sendable, Hashable {
        /// Multiplied by the factor (at least 1) each time.
        case exponential(multiplier: Double)
        /// `initialDelay × n` before the n-th retry.
        case linear
    }

    /// The delay before the first retry, before jitter.
    public var initialDelay: Duration
    /// The longest delay, before jitter.
    public var maximumDelay: Duration
    /// How the delay grows.
    public var growth: Growth
    /// The fraction (0…1) by which each delay is randomly shortened or lengthened.
    public var jitter: Double

    /// A backoff; `jitter` is clamped to 0…1 and an exponential multiplier below 1 is taken as 1.
    public init(
        initialDelay: Duration, maximumDelay: Duration, growth: Growth = .exponential(multiplier: 2), jitter: Double = 0.2
    ) {
        self.initialDelay = Swift.max(.zero, initialDelay)
        self.maximumDelay = Swift.max(self.initialDelay, maximumDelay)
        if case .exponential(let multiplier) = growth {
            self.growth = .exponential(multiplier: multiplier.isFinite ? Swift.max(1, multiplier) : 2)
        } else {
            self.growth = growth
        }
        self.jitter = jitter.isFinite ? Swift.min(1, Swift.max(0, jitter)) : 0
    }

    /// Exponential growth from `initial` up to `maximum`.
    public static func exponential(
        initial: Duration, maximum: Duration, multiplier: Double = 2, jitter: Double = 0.2
    ) -> Backoff {
        Backoff(initialDelay: initial, maximumDelay: maximum, growth: .exponential(multiplier: multiplier), jitter: jitter)
    }

    /// `step × n` before the n-th retry, up to `maximum`.
    public static func linear(step: Duration, maximum: Duration = .seconds(3600), jitter: Double = 0.2) -> Backoff {
        Backoff(initialDelay: step, maximumDelay: maximum, growth: .linear, jitter: jitter)
    }

    /// The delay before retry number `retry` (1 for the first; smaller values count as 1),
    /// without jitter.
    public func baseDelay(beforeRetry retry: Int) -> Duration {
        let retry = Swift.max(1, retry)
        let initial = initialDelay.seconds
        let seconds: Double
        switch growth {
        case .linear:
            seconds = initial * Double(retry)
        case .exponential(let multiplier):
            // Past 2^-1074…2^1023 nothing changes but overflow: the cap wins long before.
            seconds = initial * pow(multiplier, Double(Swift.min(retry - 1, 1000)))
        }
        let maximum = maximumDelay.seconds
        return seconds.isFinite && seconds < maximum ? .seconds(seconds) : maximumDelay
    }

    /// The delay before retry number `retry`, with jitter drawn from `generator`.
    public func delay(beforeRetry retry: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let base = baseDelay(beforeRetry: retry)
        guard jitter > 0 else { return base }
        return base * Double.random(in: (1 - jitter)...(1 + jitter), using: &generator)
    }

    /// The delay before retry number `retry`, with jitter.
    public func delay(beforeRetry retry: Int) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(beforeRetry: retry, using: &generator)
    }

    public var description: String {
        switch growth {
        case .linear: "linear backoff, \(initialDelay) × n up to \(maximumDelay), jitter ±\(jitter)"
        case .exponential(let multiplier):
            "exponential backoff from \(initialDelay) × \(multiplier)ⁿ up to \(maximumDelay), jitter ±\(jitter)"
        }
    }
}

/// x raised to y for doubles without Foundation: exp2(y · log2(x)) is not in the standard
/// library either, so repeated squaring on the integer exponent (the only kind used here).
private func pow(_ base: Double, _ exponent: Double) -> Double {
    var result = 1.0
    var factor = base
    var remaining = Int(exponent)
    while remaining > 0 {
        if remaining & 1 == 1 { result *= factor }
        remaining >>= 1
        if remaining > 0 { factor *= factor }
        if !result.isFinite { return .infinity }
    }
    return result
}
