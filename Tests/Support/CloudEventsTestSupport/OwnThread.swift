import Foundation

/// Runs `body` on a thread of its own and returns what it returns or throws.
///
/// For a test that must block (wait for a child process, a pipe, a semaphore): blocking on
/// the cooperative pool would hold one of its threads (two on a 2-core machine) for the
/// whole wait, and every other test's timers and continuations would wait with it.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}

/// ``onOwnThread(_:)`` for a body that cannot throw.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: body()) }
    }
}
