import CloudEvents
import CloudEventsBridge
import Testing

/// What a route does after each kind of failure.
@Suite struct RetryDecisionTests {
    static let retry = RetryConfiguration(
        maximumAttempts: 3, backoff: Backoff.exponential(initial: .milliseconds(100), maximum: .seconds(1), jitter: 0),
        maximumRetryAfter: .seconds(5))

    static func answer(_ status: Int, retryAfter: Duration? = nil) -> TransportError {
        TransportError(
            .notDelivered, "answered \(status)", peerStatus: status, isTransient: status >= 500, retryAfter: retryAfter)
    }

    static func decide(_ error: TransportError, attempts: Int = 1, streak: Int = 0, successfulOn: Set<Int> = []) -> RetryDecision
    {
        RetryDecision.after(error, attempts: attempts, unreachableStreak: streak, retry: retry, successfulOn: successfulOn)
    }

    @Test func retryableAnswersAreRetriedWithBackoffThenDeadLettered() {
        for status in [500, 503, 404, 408, 409, 429] {
            #expect(Self.decide(Self.answer(status)) == .retry(after: .milliseconds(100), counted: true), "\(status)")
            #expect(Self.decide(Self.answer(status), attempts: 2) == .retry(after: .milliseconds(200), counted: true))
            guard case .deadLetter = Self.decide(Self.answer(status), attempts: 3) else {
                Issue.record("\(status) after the last attempt is not dead-lettered")
                continue
            }
        }
    }

    /// AMQP's answers without a status: a released or modified message is tried again (the
    /// attempt counts); a rejection is final and its reason names the peer's condition.
    @Test func givenBackMessagesAreRetriedAndRejectionsDeadLetteredWithTheirCondition() {
        #expect(Self.decide(TransportError(.released, "released")) == .retry(after: .milliseconds(100), counted: true))
        #expect(Self.decide(TransportError(.modified, "modified")) == .retry(after: .milliseconds(100), counted: true))
        guard case .deadLetter = Self.decide(TransportError(.released, "released"), attempts: 3) else {
            Issue.record("a released message after the last attempt is not dead-lettered")
            return
        }
        guard case .deadLetter = Self.decide(TransportError(.modified, "undeliverable here", condition: nil)) else {
            Issue.record("a modified message that is undeliverable here is retried")
            return
        }
        let rejected = TransportError(.rejected, "the sink rejected it: not JSON", condition: .invalidMessage)
        guard case .deadLetter(let reason) = Self.decide(rejected) else {
            Issue.record("a rejection is retried")
            return
        }
        #expect(reason.contains("amqp:decode-error"))
        #expect(reason.contains("not JSON"))
    }

    @Test func otherAnswersAreDeadLetteredAtOnce() {
        for status in [400, 401, 403, 413, 422] {
            guard case .deadLetter(let reason) = Self.decide(Self.answer(status)) else {
                Issue.record("\(status) is retried")
                continue
            }
            #expect(reason.contains("refused"))
        }
    }

    @Test func retryAfterIsHonouredAndCapped() {
        #expect(Self.decide(Self.answer(429, retryAfter: .seconds(2))) == .retry(after: .seconds(2), counted: true))
        #expect(Self.decide(Self.answer(503, retryAfter: .seconds(600))) == .retry(after: .seconds(5), counted: true))
    }

    @Test func successfulOnCountsAsDelivered() {
        #expect(Self.decide(Self.answer(400), successfulOn: [400]) == .delivered)
    }

    @Test func anUnreachableSinkIsWaitedForWithoutCountingAttempts() {
        let down = TransportError(.connectionFailed, "connection refused")
        #expect(Self.decide(down, attempts: 99, streak: 1) == .retry(after: .milliseconds(100), counted: false))
        #expect(Self.decide(down, attempts: 99, streak: 5) == .retry(after: .seconds(1), counted: false))
        var counting = Self.retry
        counting.countUnreachable = true
        guard
            case .deadLetter = RetryDecision.after(
                down, attempts: 3, unreachableStreak: 3, retry: counting, successfulOn: [])
        else {
            Issue.record("count_unreachable does not bound attempts")
            return
        }
    }

    @Test func anEventTheSinkCannotWriteIsDeadLettered() {
        guard case .deadLetter = Self.decide(TransportError(.invalidMessage, "cannot write")) else {
            Issue.record("an unwritable event is retried")
            return
        }
    }
}
