public import CloudEvents

/// When and how often an ``HTTPEventSender`` tries again.
///
/// A send is retried after a network error (when ``retryOnNetworkErrors``), after any 5xx
/// (when ``retryServerErrors``) and after the statuses in ``retryableStatusCodes``
/// (404, 408, 409, 429 by default). The wait is the ``backoff`` delay (with its jitter), or
/// the response's `Retry-After` (seconds or an HTTP date) when it has one, capped at
/// ``maximumRetryAfter``.
public struct HTTPRetryPolicy: Sendable, Hashable {
    /// Attempts in total, the first included; at least 1. 3 by default.
    public var maximumAttempts: Int
    /// How the wait grows between attempts, and its jitter: exponential from 100 ms up to
    /// 10 s, ±20 %, by default. `Retry-After` waits get no jitter.
    public var backoff: Backoff
    /// Whether connection failures and timeouts are retried; `true` by default.
    public var retryOnNetworkErrors: Bool
    /// Whether every 5xx status is retried; `true` by default.
    public var retryServerErrors: Bool
    /// Other statuses that are retried: 404, 408, 409 and 429 by default.
    public var retryableStatusCodes: Set<Int>
    /// The longest `Retry-After` honoured; longer values are cut to this. 60 s by default.
    public var maximumRetryAfter: Duration

    /// A policy with the documented defaults.
    ///
    /// - Parameters:
    ///   - maximumAttempts: attempts in total, the first included (at least 1).
    ///   - backoff: the wait between attempts, with its jitter.
    ///   - retryOnNetworkErrors: whether connection failures and timeouts are retried.
    ///   - retryServerErrors: whether every 5xx status is retried.
    ///   - retryableStatusCodes: other statuses that are retried.
    ///   - maximumRetryAfter: the longest `Retry-After` honoured.
    public init(
        maximumAttempts: Int = 3,
        backoff: Backoff = .exponential(initial: .milliseconds(100), maximum: .seconds(10), jitter: 0.2),
        retryOnNetworkErrors: Bool = true, retryServerErrors: Bool = true,
        retryableStatusCodes: Set<Int> = [404, 408, 409, 429], maximumRetryAfter: Duration = .seconds(60)
    ) {
        self.maximumAttempts = Swift.max(1, maximumAttempts)
        self.backoff = backoff
        self.retryOnNetworkErrors = retryOnNetworkErrors
        self.retryServerErrors = retryServerErrors
        self.retryableStatusCodes = retryableStatusCodes
        self.maximumRetryAfter = maximumRetryAfter
    }

    /// One attempt, no retries.
    public static let none = HTTPRetryPolicy(maximumAttempts: 1)

    /// Whether a response with `status` is worth another attempt.
    ///
    /// - Parameter status: the response's status code.
    public func isRetryable(status: Int) -> Bool {
        (retryServerErrors && (500...599).contains(status)) || retryableStatusCodes.contains(status)
    }

    /// The wait before retry number `retry` (1 for the first retry), without jitter.
    ///
    /// - Parameter retry: the retry's number, from 1.
    public func backoffDelay(beforeRetry retry: Int) -> Duration {
        backoff.baseDelay(beforeRetry: retry)
    }

    /// The wait before retry number `retry`: `retryAfter` (capped) when the server sent
    /// one, else the backoff delay with jitter.
    ///
    /// - Parameters:
    ///   - retry: the retry's number, from 1.
    ///   - retryAfter: the wait the response's `Retry-After` asked for, if it had one.
    public func delay(beforeRetry retry: Int, retryAfter: Duration?) -> Duration {
        if let retryAfter {
            return retryAfter > maximumRetryAfter ? maximumRetryAfter : Swift.max(.zero, retryAfter)
        }
        return backoff.delay(beforeRetry: retry)
    }

    /// The wait a `Retry-After` value asks for: delay-seconds, or an IMF-fixdate HTTP date
    /// relative to `now`. `nil` when the value is neither.
    ///
    /// - Parameters:
    ///   - value: the header field's value.
    ///   - now: the time an HTTP date is measured from.
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
        let month = monthIndex + 1
        let clock = parts[4].split(separator: ":")
        guard clock.count == 3, let hour = Int(clock[0]), let minute = Int(clock[1]), let second = Int(clock[2]),
            (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second),
            (1...CivilCalendar.daysInMonth(year: year, month: month)).contains(day)
        else {
            return nil
        }
        let days = CivilCalendar.daysSinceEpoch(year: year, month: month, day: day)
        return days * 86_400 + Int64(hour * 3600 + minute * 60 + second)
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
