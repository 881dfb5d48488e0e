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

/// The receipts of one cell, in arrival order, handed from the task that drains the
/// receiver to the loop that sends and compares. One lock guards the buffer and the one
/// waiter; the waiter is resumed outside it.
final class ConformanceInbox: Sendable {
    private struct State {
        var buffer: [ConformanceReceipt] = []
        var waiter: (id: UInt64, continuation: CheckedContinuation<ConformanceReceipt?, Never>)?
        var nextID: UInt64 = 0
        var finished = false
    }

    private let state = Locked(State())

    /// Adds a receipt, handing it to the waiting reader if there is one.
    func post(_ receipt: ConformanceReceipt) {
        let waiter = state.withLock { state -> CheckedContinuation<ConformanceReceipt?, Never>? in
            guard let waiter = state.waiter else {
                state.buffer.append(receipt)
                return nil
            }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume(returning: receipt)
    }

    /// No more receipts will come: a waiting reader gets `nil`.
    func finish() {
        let waiter = state.withLock { state -> CheckedContinuation<ConformanceReceipt?, Never>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter?.continuation
        }
        waiter?.resume(returning: nil)
    }

    /// The next receipt, or `nil` when none arrives before `deadline` or the receiver ended.
    func next(before deadline: ContinuousClock.Instant) async -> ConformanceReceipt? {
        if let ready = state.withLock({ state -> ConformanceReceipt? in
            state.buffer.isEmpty ? nil : state.buffer.removeFirst()
        }) {
            return ready
        }
        return await withTaskGroup(of: ConformanceReceipt?.self) { group in
            group.addTask { await self.wait() }
            group.addTask {
                try? await Task.sleep(until: deadline, clock: .continuous)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            // The sleeper only ever returns nil; a receipt the waiter took as the deadline
            // passed is still returned rather than lost.
            let second = await group.next() ?? nil
            return first ?? second
        }
    }

    /// Waits for a receipt; a cancelled wait returns `nil`.
    private func wait() async -> ConformanceReceipt? {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<ConformanceReceipt?, Never>) in
                enum Action {
                    case wait
                    case resume(ConformanceReceipt?)
                }
                let action = state.withLock { state -> Action in
                    if !state.buffer.isEmpty { return .resume(state.buffer.removeFirst()) }
                    if state.finished || Task.isCancelled { return .resume(nil) }
                    state.waiter = (id, continuation)
                    return .wait
                }
                if case .resume(let receipt) = action { continuation.resume(returning: receipt) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<ConformanceReceipt?, Never>? in
                guard let waiter = state.waiter, waiter.id == id else { return nil }
                state.waiter = nil
                return waiter.continuation
            }
            waiter?.resume(returning: nil)
        }
    }
}
