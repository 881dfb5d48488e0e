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
    ///
    /// - Parameters:
    ///   - initialDelay: the delay before the first retry (negative counts as zero).
    ///   - maximumDelay: the longest delay before jitter (at least `initialDelay`).
    ///   - growth: how the delay grows.
    ///   - jitter: the random fraction, clamped to 0…1 (not a number counts as 0).
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
    ///
    /// - Parameters:
    ///   - initial: the delay before the first retry.
    ///   - maximum: the longest delay before jitter.
    ///   - multiplier: the factor from one retry to the next.
    ///   - jitter: the random fraction.
    public static func exponential(
        initial: Duration, maximum: Duration, multiplier: Double = 2, jitter: Double = 0.2
    ) -> Backoff {
        Backoff(initialDelay: initial, maximumDelay: maximum, growth: .exponential(multiplier: multiplier), jitter: jitter)
    }

    /// `step × n` before the n-th retry, up to `maximum`.
    ///
    /// - Parameters:
    ///   - step: the delay before the first retry, and the growth per retry.
    ///   - maximum: the longest delay before jitter.
    ///   - jitter: the random fraction.
    public static func linear(step: Duration, maximum: Duration = .seconds(3600), jitter: Double = 0.2) -> Backoff {
        Backoff(initialDelay: step, maximumDelay: maximum, growth: .linear, jitter: jitter)
    }

    /// The delay before retry number `retry` (1 for the first; smaller values count as 1),
    /// without jitter.
    ///
    /// Linear growth and exponential growth by a whole multiplier are computed exactly, in
    /// attoseconds (100 ms × 3 is 300 ms, not 300.00000000000004 ms); a fractional
    /// multiplier goes through `Double`. Either way the result saturates at ``maximumDelay``.
    ///
    /// - Parameter retry: the retry's number, 1 for the first.
    /// - Returns: the delay, at most ``maximumDelay``.
    public func baseDelay(beforeRetry retry: Int) -> Duration {
        let retry = Swift.max(1, retry)
        let initial = initialDelay.totalAttoseconds
        let maximum = maximumDelay.totalAttoseconds
        switch growth {
        case .linear:
            let (product, overflow) = initial.multipliedReportingOverflow(by: Int128(retry))
            return overflow || product >= maximum ? maximumDelay : Duration(totalAttoseconds: product)
        case .exponential(let multiplier) where multiplier == multiplier.rounded() && multiplier < 0x1p60:
            guard multiplier > 1, initial > 0 else { return initialDelay }
            let factor = Int128(multiplier)
            var delay = initial
            // At most ~128 rounds: the delay at least doubles until it passes the maximum.
            for _ in 1..<retry {
                let (product, overflow) = delay.multipliedReportingOverflow(by: factor)
                if overflow || product >= maximum { return maximumDelay }
                delay = product
            }
            return Duration(totalAttoseconds: delay)
        case .exponential(let multiplier):
            // Past 2^-1074…2^1023 nothing changes but overflow: the cap wins long before.
            let seconds = initialDelay.seconds * pow(multiplier, Double(Swift.min(retry - 1, 1000)))
            return seconds.isFinite && seconds < maximumDelay.seconds ? .seconds(seconds) : maximumDelay
        }
    }

    /// The delay before retry number `retry`, with jitter drawn from `generator`: uniform in
    /// `base × (1 - jitter)…base × (1 + jitter)`.
    ///
    /// - Parameters:
    ///   - retry: the retry's number, 1 for the first.
    ///   - generator: the source of randomness (a seeded one in tests).
    /// - Returns: the jittered delay, never negative, at most `maximumDelay × (1 + jitter)`.
    public func delay(beforeRetry retry: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let base = baseDelay(beforeRetry: retry)
        guard jitter > 0 else { return base }
        return base * Double.random(in: (1 - jitter)...(1 + jitter), using: &generator)
    }

    /// The delay before retry number `retry`, with jitter from the system's generator.
    ///
    /// - Parameter retry: the retry's number, 1 for the first.
    /// - Returns: the jittered delay.
    public func delay(beforeRetry retry: Int) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(beforeRetry: retry, using: &generator)
    }

    /// The backoff in words, e.g. `exponential backoff from 0.1 seconds × 2.0ⁿ up to 30.0 seconds, jitter ±0.2`.
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
