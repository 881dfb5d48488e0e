import CloudEvents

/// One delivery as the receiving side of a cell saw it: the delivery (already settled), and
/// what decoding it with every case's extension types gave, which decided its settlement.
struct ConformanceReceipt: Sendable {
    /// The delivery, to decode again with its case's extension types.
    var delivery: Delivery?
    /// The events decoded with the union of the cases' extension types, or the error.
    var decoded: Result<[CloudEvent], MessageError>

    /// The first event's id, to recognise a delivery that arrived after its event timed out.
    var firstID: String? { (try? decoded.get())?.first?.id }
}

/// What arrived for one cell (receipts, or a raw peer's messages), in arrival order, handed
/// from the task that drains the receiver to the loop that sends and compares. One lock
/// guards the buffer and the one waiter; the waiter is resumed outside it.
public final class ConformanceInbox<Element: Sendable>: Sendable {
    private struct State {
        var buffer: [Element] = []
        var waiter: (id: UInt64, continuation: CheckedContinuation<Element?, Never>)?
        var nextID: UInt64 = 0
        var finished = false
    }

    private let state = Locked(State())

    /// What a waiter does once it looked at the state under the lock.
    private enum Action {
        case wait
        case resume(Element?)
    }

    /// An empty inbox.
    public init() {}

    /// Adds an element, handing it to the waiting reader if there is one.
    public func post(_ element: Element) {
        let waiter = state.withLock { state -> CheckedContinuation<Element?, Never>? in
            guard let waiter = state.waiter else {
                state.buffer.append(element)
                return nil
            }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume(returning: element)
    }

    /// No more elements will come: a waiting reader gets `nil`.
    public func finish() {
        let waiter = state.withLock { state -> CheckedContinuation<Element?, Never>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter?.continuation
        }
        waiter?.resume(returning: nil)
    }

    /// The next element, or `nil` when none arrives before `deadline` or the inbox finished.
    public func next(before deadline: ContinuousClock.Instant) async -> Element? {
        if let ready = state.withLock({ state -> Element? in
            state.buffer.isEmpty ? nil : state.buffer.removeFirst()
        }) {
            return ready
        }
        return await withTaskGroup(of: Element?.self) { group in
            group.addTask { await self.wait() }
            group.addTask {
                try? await Task.sleep(until: deadline, clock: .continuous)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            // The sleeper only ever returns nil; an element the waiter took as the deadline
            // passed is still returned rather than lost.
            let second = await group.next() ?? nil
            return first ?? second
        }
    }

    /// Waits for an element; a cancelled wait returns `nil`.
    private func wait() async -> Element? {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Element?, Never>) in
                let action = state.withLock { state -> Action in
                    if !state.buffer.isEmpty { return .resume(state.buffer.removeFirst()) }
                    if state.finished || Task.isCancelled { return .resume(nil) }
                    state.waiter = (id, continuation)
                    return .wait
                }
                if case .resume(let receipt) = action { continuation.resume(returning: receipt) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Element?, Never>? in
                guard let waiter = state.waiter, waiter.id == id else { return nil }
                state.waiter = nil
                return waiter.continuation
            }
            waiter?.resume(returning: nil)
        }
    }
}
