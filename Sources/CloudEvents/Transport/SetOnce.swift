import Synchronization

/// A value set once, that tasks can wait for: lock-free until someone waits before it is set
/// (a delivery's settlement and its outcome are set per event; waiting for them is rare).
///
/// The slot holds either the value or, once a task waits first, a locked waiting room through
/// which the value is then set.
struct SetOnce<Value: Sendable>: ~Copyable, Sendable {
    private let slot = AtomicLazyReference<SetOnceNode<Value>>()

    init() {}

    /// The value, once set.
    var value: Value? {
        switch slot.load()?.state {
        case .set(let value): value
        case .waiting(let room): room.withLock { $0.value }
        case nil: nil
        }
    }

    /// Sets `value` unless it was set. Returns `nil` when it was; otherwise the waiters to
    /// resume, which the caller resumes once whatever must happen before they run has happened.
    func set(_ value: Value) -> SetOnceWaiters<Value>? {
        let mine = SetOnceNode<Value>(.set(value))
        let node = slot.storeIfNil(mine)
        if node === mine { return SetOnceWaiters(value: value, waiters: []) }
        guard case .waiting(let room) = node.state else { return nil }
        let waiters = room.withLock { room -> [CheckedContinuation<Value?, Never>]? in
            guard room.value == nil else { return nil }
            room.value = value
            defer { room.waiters = [:] }
            return Array(room.waiters.values)
        }
        return waiters.map { SetOnceWaiters(value: value, waiters: $0) }
    }

    /// The value, once set; `nil` when the waiting task is cancelled first.
    func wait() async -> Value? {
        await waiting().value()
    }

    /// What to wait on for the value: the value itself, or the waiting room (created by the
    /// first waiter).
    func waiting() -> SetOnceWait<Value> {
        let node = slot.load() ?? slot.storeIfNil(SetOnceNode<Value>(.waiting(Locked(SetOnceRoom()))))
        switch node.state {
        case .set(let value): return SetOnceWait(state: .ready(value))
        case .waiting(let room): return SetOnceWait(state: .room(room))
        }
    }
}

/// A wait for a ``SetOnce`` value; see ``SetOnce/waiting()``.
struct SetOnceWait<Value: Sendable>: Sendable {
    enum State: Sendable {
        case ready(Value)
        case room(Locked<SetOnceRoom<Value>>)
    }

    let state: State

    /// The value, once set; `nil` when the waiting task is cancelled first.
    func value() async -> Value? {
        let room: Locked<SetOnceRoom<Value>>
        switch state {
        case .ready(let value): return value
        case .room(let waitingRoom): room = waitingRoom
        }
        let id = room.withLock { room in
            room.nextID += 1
            return room.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Value?, Never>) in
                // Checked under the lock the cancellation handler takes: a cancellation either
                // comes before (seen here) or finds the waiter registered.
                let now = room.withLock { room -> Value?? in
                    if let value = room.value { return .some(value) }
                    if Task.isCancelled { return .some(nil) }
                    room.waiters[id] = continuation
                    return nil
                }
                if let now { continuation.resume(returning: now) }
            }
        } onCancel: {
            room.withLock { $0.waiters.removeValue(forKey: id) }?.resume(returning: nil)
        }
    }
}

/// The tasks that waited for a ``SetOnce`` value, to resume once it is set.
struct SetOnceWaiters<Value: Sendable> {
    let value: Value
    let waiters: [CheckedContinuation<Value?, Never>]

    func resume() {
        for waiter in waiters { waiter.resume(returning: value) }
    }
}

/// What a ``SetOnce`` slot holds.
final class SetOnceNode<Value: Sendable>: Sendable {
    enum State: Sendable {
        /// Set before anyone waited.
        case set(Value)
        /// Someone waited first: the value is set in the room, under its lock.
        case waiting(Locked<SetOnceRoom<Value>>)
    }

    let state: State

    init(_ state: State) {
        self.state = state
    }
}

/// The waiting room of a ``SetOnce`` slot that someone waited on before it was set.
struct SetOnceRoom<Value: Sendable>: Sendable {
    var value: Value?
    var waiters: [UInt64: CheckedContinuation<Value?, Never>] = [:]
    var nextID: UInt64 = 0
}
