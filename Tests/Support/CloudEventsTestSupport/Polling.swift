/// Polls `condition` every 20 ms until it holds or `timeout` passed (cancellation ends the
/// wait too).
///
/// - Returns: whether it held.
public func pollUntil(timeout: Duration, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline, (try? await Task.sleep(for: .milliseconds(20))) != nil else {
            return condition()
        }
    }
    return true
}
