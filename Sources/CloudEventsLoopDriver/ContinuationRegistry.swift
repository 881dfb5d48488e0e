/// An identifier for a continuation in a ``ContinuationRegistry``.
package struct ContinuationID: Hashable, Sendable, CustomStringConvertible {
    /// The number, unique within its registry.
    package var rawValue: UInt64

    package init(_ rawValue: UInt64) { self.rawValue = rawValue }

    package var description: String { "#\(rawValue)" }
}

/// Continuations waiting for a C library's answer, by id.
///
/// A value type with no lock of its own: its owner keeps it beside the state it belongs to,
/// under that state's one lock, takes continuations out while holding the lock and resumes
/// them after releasing it. State machines hold only the ids.
///
/// Inlinable: a binding inserts and removes one continuation per publish, and across the
/// module boundary an unspecialised generic dictionary looks up `Value`'s metadata on every
/// call (measured in the MQTT publish path).
@frozen
package struct ContinuationRegistry<Value: Sendable>: Sendable {
    @usableFromInline var continuations: [UInt64: CheckedContinuation<Value, Never>] = [:]
    @usableFromInline var nextID: UInt64 = 0

    @inlinable package init() {}

    /// How many continuations are waiting.
    @inlinable package var count: Int { continuations.count }

    /// Whether none is waiting.
    @inlinable package var isEmpty: Bool { continuations.isEmpty }

    /// Registers `continuation` and returns its new id.
    @inlinable package mutating func insert(_ continuation: CheckedContinuation<Value, Never>) -> ContinuationID {
        nextID &+= 1
        continuations[nextID] = continuation
        return ContinuationID(nextID)
    }

    /// Takes out the continuation registered as `id`, if it is still waiting.
    @inlinable package mutating func remove(_ id: ContinuationID) -> CheckedContinuation<Value, Never>? {
        continuations.removeValue(forKey: id.rawValue)
    }

    /// Takes out every waiting continuation, in registration order.
    @inlinable package mutating func removeAll() -> [CheckedContinuation<Value, Never>] {
        defer { continuations = [:] }
        return continuations.sorted { $0.key < $1.key }.map(\.value)
    }
}
