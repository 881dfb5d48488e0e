import CloudEvents
import CloudEventsNATS
import CloudEventsTestSupport
import Foundation
import Testing

/// A wait that took longer than its bound.
struct DeadlineExceeded: Error, CustomStringConvertible {
    let seconds: Int
    var description: String { "not done within \(seconds) s" }
}

/// Runs `body`, failing with ``DeadlineExceeded`` (and cancelling it) when it takes longer
/// than `seconds`: it ends as soon as `body` does.
func within<T: Sendable>(_ seconds: Int = 60, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw DeadlineExceeded(seconds: seconds) }
        return value
    }
}

/// The next delivery, or `nil` when none arrives within `seconds` (for a short negative
/// wait: a wait that runs out cancels the iteration, which ends the stream).
func nextDelivery(of stream: DeliveryStream, within seconds: Int) async throws -> Delivery? {
    do {
        return try await within(seconds) {
            var iterator = stream.makeAsyncIterator()
            return try await iterator.next()
        }
    } catch is DeadlineExceeded {
        return nil
    }
}
