public import CloudEvents

/// What a route does after a failed send: the pure part of the dispatcher, decided from the
/// route's ``RetryConfiguration`` and the binding-neutral facts of a ``TransportError``.
public enum RetryDecision: Sendable, Equatable {
    /// The sink's answer counts as delivered (``RouteConfiguration/successfulOn``).
    case delivered
    /// Try again after `delay`; `counted` says whether the attempt counts against
    /// ``RetryConfiguration/maximumAttempts``.
    case retry(after: Duration, counted: Bool)
    /// Give up: dead-letter the event with this reason.
    case deadLetter(reason: String)

    /// Decides what follows a failed attempt.
    ///
    /// - Parameters:
    ///   - error: why the send failed.
    ///   - attempts: counted attempts so far, this one included.
    ///   - unreachableStreak: consecutive failures to reach the sink, this one included (for
    ///     the backoff while the sink is down).
    ///   - retry: the route's retry settings.
    ///   - successfulOn: answers that count as delivered.
    public static func after(
        _ error: TransportError, attempts: Int, unreachableStreak: Int, retry: RetryConfiguration, successfulOn: Set<Int>
    ) -> RetryDecision {
        if let status = error.peerStatus, successfulOn.contains(status) { return .delivered }
        if error.code == .invalidMessage || error.code == .invalidEndpoint {
            return .deadLetter(reason: "the sink cannot take it: \(error)")
        }
        if error.isUnreachable {
            if retry.countUnreachable, attempts >= retry.maximumAttempts {
                return .deadLetter(reason: "the sink was unreachable for \(attempts) attempts: \(error)")
            }
            return .retry(
                after: retry.backoff.delay(beforeRetry: Swift.max(1, unreachableStreak)), counted: retry.countUnreachable)
        }
        let retryable: Bool
        if let status = error.peerStatus {
            retryable = (500...599).contains(status) || retry.retryableStatuses.contains(status)
        } else {
            retryable = error.isTransient
        }
        guard retryable else { return .deadLetter(reason: "the sink refused it: \(error)") }
        guard attempts < retry.maximumAttempts else {
            return .deadLetter(reason: "gave up after \(attempts) attempts: \(error)")
        }
        if let asked = error.retryAfter {
            return .retry(after: Swift.min(Swift.max(.zero, asked), retry.maximumRetryAfter), counted: true)
        }
        return .retry(after: retry.backoff.delay(beforeRetry: attempts), counted: true)
    }
}
