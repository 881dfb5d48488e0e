import CloudEventsConformance
import Testing

@testable import CloudEvents

@Suite("Backoff")
struct BackoffTests {
    @Test func exponentialGrowthDoublesFromTheInitialDelay() {
        let backoff = Backoff.exponential(initial: .milliseconds(100), maximum: .seconds(60), jitter: 0)
        let delays = (1...6).map { backoff.baseDelay(beforeRetry: $0) }
        #expect(
            delays == [
                .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .milliseconds(1600),
                .milliseconds(3200)
            ])
    }

    @Test func aWholeMultiplierOtherThanTwo() {
        let backoff = Backoff.exponential(initial: .milliseconds(10), maximum: .seconds(60), multiplier: 3, jitter: 0)
        #expect(
            (1...4).map { backoff.baseDelay(beforeRetry: $0) } == [
                .milliseconds(10), .milliseconds(30), .milliseconds(90), .milliseconds(270)
            ])
    }

    @Test func aFractionalMultiplier() {
        let backoff = Backoff.exponential(initial: .seconds(1), maximum: .seconds(60), multiplier: 1.5, jitter: 0)
        #expect(backoff.baseDelay(beforeRetry: 1) == .seconds(1))
        #expect(backoff.baseDelay(beforeRetry: 2) == .milliseconds(1500))
        #expect(backoff.baseDelay(beforeRetry: 3) == .milliseconds(2250))
    }

    @Test func theCapHoldsAndStaysAtTheMaximum() {
        let backoff = Backoff.exponential(initial: .milliseconds(100), maximum: .seconds(1), jitter: 0)
        #expect(backoff.baseDelay(beforeRetry: 4) == .milliseconds(800))
        #expect(backoff.baseDelay(beforeRetry: 5) == .seconds(1))
        for retry in [6, 64, 65, 1000, 1_000_000, Int.max] {
            #expect(backoff.baseDelay(beforeRetry: retry) == .seconds(1), "retry \(retry)")
        }
    }

    /// 100 ms × 3 was computed in Double seconds: 300.000000000000064 ms, not 300 ms.
    @Test func linearGrowthIsExact() {
        let backoff = Backoff.linear(step: .milliseconds(100), maximum: .seconds(1), jitter: 0)
        #expect(
            (1...11).map { backoff.baseDelay(beforeRetry: $0) }
                == (1...10).map { Duration.milliseconds(100 * $0) } + [.seconds(1)])
        #expect(backoff.baseDelay(beforeRetry: Int.max) == .seconds(1))
    }

    @Test func retriesBelowOneCountAsTheFirst() {
        let backoff = Backoff.exponential(initial: .milliseconds(100), maximum: .seconds(1), jitter: 0)
        #expect(backoff.baseDelay(beforeRetry: 0) == .milliseconds(100))
        #expect(backoff.baseDelay(beforeRetry: -5) == .milliseconds(100))
        #expect(backoff.baseDelay(beforeRetry: Int.min) == .milliseconds(100))
    }

    @Test func saturatesAtHugeDelays() {
        let huge = Duration(secondsComponent: .max / 2, attosecondsComponent: 0)
        let backoff = Backoff(initialDelay: huge, maximumDelay: .seconds(Int64.max), growth: .linear, jitter: 0)
        #expect(backoff.baseDelay(beforeRetry: 1) == huge)
        #expect(backoff.baseDelay(beforeRetry: 3) == .seconds(Int64.max))
        let exponential = Backoff.exponential(initial: huge, maximum: .seconds(Int64.max), multiplier: 1e300, jitter: 0)
        #expect(exponential.baseDelay(beforeRetry: 2) == .seconds(Int64.max))
    }

    @Test func parametersAreClamped() {
        let backoff = Backoff(initialDelay: .seconds(-1), maximumDelay: .seconds(-2), growth: .linear, jitter: 7)
        #expect(backoff.initialDelay == .zero)
        #expect(backoff.maximumDelay == .zero)
        #expect(backoff.jitter == 1)
        #expect(Backoff(initialDelay: .seconds(2), maximumDelay: .seconds(1)).maximumDelay == .seconds(2))
        #expect(Backoff(initialDelay: .seconds(1), maximumDelay: .seconds(2), jitter: -0.5).jitter == 0)
        #expect(Backoff(initialDelay: .seconds(1), maximumDelay: .seconds(2), jitter: .nan).jitter == 0)
        #expect(
            Backoff.exponential(initial: .seconds(1), maximum: .seconds(9), multiplier: 0.5).growth == .exponential(multiplier: 1)
        )
        #expect(
            Backoff.exponential(initial: .seconds(1), maximum: .seconds(9), multiplier: .infinity).growth
                == .exponential(multiplier: 2))
        // A multiplier taken as 1 does not grow.
        let flat = Backoff.exponential(initial: .seconds(1), maximum: .seconds(9), multiplier: 0.5, jitter: 0)
        #expect(flat.baseDelay(beforeRetry: Int.max) == .seconds(1))
        // Zero initial delay stays zero.
        #expect(Backoff.exponential(initial: .zero, maximum: .seconds(1)).baseDelay(beforeRetry: 50) == .zero)
    }

    @Test(arguments: [0.0, 0.2, 0.5, 1.0])
    func jitterStaysWithinItsBounds(jitter: Double) {
        let backoff = Backoff.exponential(initial: .milliseconds(100), maximum: .seconds(2), jitter: jitter)
        var generator = SeededRandom(seed: 42)
        var sawBelow = false
        var sawAbove = false
        for retry in 1...8 {
            let base = backoff.baseDelay(beforeRetry: retry)
            for _ in 0..<200 {
                let delay = backoff.delay(beforeRetry: retry, using: &generator)
                #expect(delay >= base * (1 - jitter) && delay <= base * (1 + jitter), "retry \(retry): \(delay)")
                #expect(delay >= .zero && delay <= backoff.maximumDelay * (1 + jitter))
                if delay < base { sawBelow = true }
                if delay > base { sawAbove = true }
            }
        }
        // Jitter moves delays either way, and no jitter moves none.
        #expect(sawBelow == (jitter > 0))
        #expect(sawAbove == (jitter > 0))
    }

    @Test func theSameSeedGivesTheSameDelays() {
        let backoff = Backoff.exponential(initial: .milliseconds(100), maximum: .seconds(2))
        var first = SeededRandom(seed: 7)
        var second = SeededRandom(seed: 7)
        let a = (1...10).map { backoff.delay(beforeRetry: $0, using: &first) }
        let b = (1...10).map { backoff.delay(beforeRetry: $0, using: &second) }
        #expect(a == b)
    }
}

@Suite("Duration conversions")
struct DurationConversionTests {
    @Test func secondsKeepTheFraction() {
        #expect(Duration.milliseconds(1500).seconds == 1.5)
        #expect(Duration.zero.seconds == 0)
        #expect(Duration.milliseconds(-250).seconds == -0.25)
    }

    @Test func wholeUnitsRoundDown() {
        #expect(Duration.nanoseconds(1_999).nanoseconds == 1_999)
        #expect(Duration.microseconds(1_999).milliseconds == 1)
        #expect(Duration(secondsComponent: 1, attosecondsComponent: 999).nanoseconds == 1_000_000_000)
    }

    @Test func wholeUnitsSaturate() {
        let huge = Duration(secondsComponent: .max, attosecondsComponent: 0)
        #expect(huge.nanoseconds == .max)
        #expect(huge.milliseconds == .max)
        let hugeNegative = Duration(secondsComponent: .min, attosecondsComponent: 0)
        #expect(hugeNegative.nanoseconds == .min)
        #expect(hugeNegative.milliseconds == .min)
        // Just past Int64's nanoseconds: 9_223_372_036 s is representable in ms, not in ns.
        let pastNanoseconds = Duration.seconds(9_223_372_037)
        #expect(pastNanoseconds.nanoseconds == .max)
        #expect(pastNanoseconds.milliseconds == 9_223_372_037_000)
    }

    @Test func secondsRoundUp() {
        #expect(Duration.milliseconds(1200).secondsRoundedUp == 2)
        #expect(Duration.seconds(2).secondsRoundedUp == 2)
        #expect(Duration.zero.secondsRoundedUp == 0)
        #expect(Duration.nanoseconds(1).secondsRoundedUp == 1)
    }

    @Test func attosecondsRoundTripAndSaturate() {
        for duration in [Duration.zero, .nanoseconds(1), .milliseconds(-1500), .seconds(Int64.max), .seconds(Int64.min)] {
            #expect(Duration(totalAttoseconds: duration.totalAttoseconds) == duration)
        }
        #expect(Duration(totalAttoseconds: Int128.max).components.seconds == .max)
        #expect(Duration(totalAttoseconds: Int128.min).components.seconds == .min)
    }
}
