/// `body`'s result, or ``TimedOut`` naming `what` once `timeout` passed (`body` is cancelled).
func withTimeout<Result: Sendable>(
    _ timeout: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    try await withThrowingTaskGroup(of: Result.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw TimedOut(description: "\(what): not done after \(timeout)")
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// Something a test waited for did not happen in time.
struct TimedOut: Error, CustomStringConvertible {
    var description: String
}
