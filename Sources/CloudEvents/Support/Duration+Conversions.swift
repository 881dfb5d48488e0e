/// The one place where a `Duration` becomes a number of seconds, milliseconds or
/// nanoseconds for an API that takes one (poll timeouts, NIO's `TimeAmount`, `Retry-After`).
extension Duration {
    /// The duration in seconds, with its fraction.
    package var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// Whole nanoseconds, saturating at `Int64`'s range.
    package var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, overflowSum) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflowSum ? (seconds < 0 ? .min : .max) : sum
    }

    /// Whole milliseconds, rounded down and saturating at `Int64`'s range.
    package var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, overflowSum) = whole.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
        return overflowSum ? (seconds < 0 ? .min : .max) : sum
    }

    /// Whole seconds, rounded up (a `Retry-After` of 1.2 s is 2 s: waiting less would be too early).
    package var secondsRoundedUp: Int64 {
        let (seconds, attoseconds) = components
        return seconds + (attoseconds > 0 ? 1 : 0)
    }

    /// The duration as a whole number of attoseconds (exact: `Int128` holds any `Duration`).
    /// The standard library's `attoseconds` needs macOS 26; this does not.
    package var totalAttoseconds: Int128 {
        let (seconds, attoseconds) = components
        return Int128(seconds) * 1_000_000_000_000_000_000 + Int128(attoseconds)
    }

    /// The duration of `attoseconds` attoseconds, saturating at `Duration`'s range.
    package init(totalAttoseconds attoseconds: Int128) {
        let perSecond: Int128 = 1_000_000_000_000_000_000
        let (seconds, remainder) = attoseconds.quotientAndRemainder(dividingBy: perSecond)
        guard seconds <= Int128(Int64.max) else {
            self.init(secondsComponent: .max, attosecondsComponent: Int64(perSecond - 1))
            return
        }
        guard seconds >= Int128(Int64.min) else {
            self.init(secondsComponent: .min, attosecondsComponent: 0)
            return
        }
        self.init(secondsComponent: Int64(seconds), attosecondsComponent: Int64(remainder))
    }
}
