public import CloudEvents

/// When and how often an ``HTTPEventSender`` tries again.
///
/// A send is retried after a network error (when ``retryOnNetworkErrors``), after any 5xx
/// (when ``retryServerErrors``) and after the statuses in ``retryableStatusCodes``
/// (404, 408, 409, 429 by default). The wait is the backoff delay with jitter, or the
/// response's `Retry-After` (seconds or an HTTP date) when it has one, capped at
/// ``maximumRetryAfter``.
public struct HTTPRetryPolicy: Sendable, Hashable {
    /// How the wait grows between attempts.
    public enum Backoff: Sendable, Hashable {
        /// `step × n` before the n-th retry.
        case linear(step: Duration)
        /// `initial × 2ⁿ⁻¹` before the n-th retry, at most `maximum`.
        case exponential(initial: Duration, maximum: Duration)
    }

    /// Attempts in total, the first included; at least 1. 3 by default.
    public var maximumAttempts: Int
    /// The backoff; exponential from 100 ms up to 10 s by default.
    public var backoff: Backoff
    /// The fraction (0…1) by which a backoff delay is randomly shortened or lengthened;
    /// 0.2 by default. `Retry-After` waits get no jitter.
    public var jitter: Double
    /// Whether connection failures and timeouts are retried; `true` by default.
    public var retryOnNetworkErrors: Bool
    /// Whether every 5xx status is retried; `true` by default.
    public var retryServerErrors: Bool
    /// Other statuses that are retried: 404, 408, 409 and 429 by default.
    public var retryableStatusCodes: Set<Int>
    /// The longest `Retry-After` honoured; longer values are cut to this. 60 s by default.
    public var maximumRetryAfter: Duration

    /// A policy with the documented defaults.
    public init(
        maximumAttempts: Int = 3, backoff: Backoff = .exponential(initial: .milliseconds(100), maximum: .seconds(10)),
        jitter: Double = 0.2, retryOnNetworkErrors: Bool = true, retryServerErrors: Bool = true,
        retryableStatusCodes: Set<Int> = [404, 408, 409, 429], maximumRetryAfter: Duration = .seconds(60)
    ) {
        self.maximumAttempts = Swift.max(1, maximumAttempts)
        self.backoff = backoff
        self.jitter = Swift.min(1, Swift.max(0, jitter))
        self.retryOnNetworkErrors = retryOnNetworkErrors
        self.retryServerErrors = retryServerErrors
        self.retryableStatusCodes = retryableStatusCodes
        self.maximumRetryAfter = maximumRetryAfter
    }

    /// One attempt, no retries.
    public static let none = HTTPRetryPolicy(maximumAttempts: 1)

    /// Whether a response with `status` is worth another attempt.
    public func isRetryable(status: Int) -> Bool {
        (retryServerErrors && (500...599).contains(status)) || retryableStatusCodes.contains(status)
    }

    /// The wait before retry number `retry` (1 for the first retry), without jitter.
    public func backoffDelay(beforeRetry retry: Int) -> Duration {
        let retry = Swift.max(1, retry)
        switch backoff {
        case .linear(let step):
            return step * retry
        case .exponential(let initial, let maximum):
            let factor = 1 << Swift.min(retry - 1, 30)
            let delay = initial * factor
            return delay > maximum ? maximum : delay
        }
    }

    /// The wait before retry number `retry`: `retryAfter` (capped) when the server sent
    /// one, else the backoff delay with jitter.
    public func delay(beforeRetry retry: Int, retryAfter: Duration?) -> Duration {
        if let retryAfter {
            return retryAfter > maximumRetryAfter ? maximumRetryAfter : Swift.max(.zero, retryAfter)
        }
        let base = backoffDelay(beforeRetry: retry)
        guard jitter > 0 else { return base }
        return base * Double.random(in: (1 - jitter)...(1 + jitter))
    }

    /// The wait a `Retry-After` value asks for: delay-seconds, or an IMF-fixdate HTTP date
    /// relative to `now`. `nil` when the value is neither.
    public static func parseRetryAfter(_ value: String, now: Timestamp = .now()) -> Duration? {
        let trimmed = value.trimmingWhitespace()
        if let seconds = Int(trimmed), seconds >= 0 { return .seconds(seconds) }
        guard let date = parseHTTPDate(trimmed) else { return nil }
        let seconds = date - now.secondsSinceEpoch
        return .seconds(Swift.max(0, seconds))
    }

    /// Seconds since the epoch of an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
    static func parseHTTPDate(_ text: String) -> Int64? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[0].hasSuffix(","), parts[5] == "GMT",
            let day = Int(parts[1]), let year = Int(parts[3])
        else { return nil }
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard let monthIndex = months.firstIndex(of: String(parts[2])) else { return nil }
        let clock = parts[4].split(separator: ":")
        guard clock.count == 3, let hour = Int(clock[0]), let minute = Int(clock[1]), let second = Int(clock[2]),
            (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second), (1...31).contains(day)
        else {
            return nil
        }
        // Days from the civil date (Howard Hinnant's algorithm).
        let month = monthIndex + 1
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146097 + dayOfEra - 719468
        return Int64(days) * 86400 + Int64(hour * 3600 + minute * 60 + second)
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let bytes = utf8.drop { $0 == 0x20 || $0 == 0x09 }
        var end = bytes.endIndex
        while end > bytes.startIndex, let last = bytes[..<end].last, last == 0x20 || last == 0x09 {
            end = bytes.index(before: end)
        }
        return String(decoding: bytes[..<end], as: UTF8.self)
    }
}
