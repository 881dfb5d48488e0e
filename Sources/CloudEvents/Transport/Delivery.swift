import Synchronization

/// One message handed to a consumer, which must settle it exactly once with ``accept()``,
/// ``reject(reason:)`` or ``release()``.
///
/// Settling twice is harmless: only the first call counts. A delivery that is dropped
/// without being settled is released (redelivered where the binding can), so a consumer
/// that throws halfway never silently acknowledges an event.
public struct Delivery: Sendable {
    /// The message as it arrived, in its content mode.
    public let message: Message
    private let settler: Settler

    /// Creates a delivery whose settlement is reported to `settle`, once, on whichever
    /// thread settles it. Bindings create deliveries; consumers only settle them.
    public init(message: Message, settle: @escaping @Sendable (Settlement) -> Void) {
        self.message = message
        self.settler = Settler(settle)
    }

    /// The event this delivery carries.
    ///
    /// - Throws: ``MessageError`` naming what is wrong with the message. The delivery is
    ///   still to be settled: usually rejected with the error's description.
    public func event(formats: EventFormatRegistry = .standard) throws(MessageError) -> CloudEvent {
        try message.event(formats: formats)
    }

    /// All events (a batch holds several).
    public func events(formats: EventFormatRegistry = .standard) throws(MessageError) -> [CloudEvent] {
        try message.events(formats: formats)
    }

    /// Marks the delivery processed. Returns whether this call settled it.
    @discardableResult
    public func accept() -> Bool { settler.settle(.accepted) }

    /// Refuses the delivery for good, with a reason. Returns whether this call settled it.
    @discardableResult
    public func reject(reason: String) -> Bool { settler.settle(.rejected(reason: reason)) }

    /// Gives the delivery back for redelivery. Returns whether this call settled it.
    @discardableResult
    public func release() -> Bool { settler.settle(.released) }

    /// How the delivery was settled, if it was.
    public var settlement: Settlement? { settler.settlement }
}

/// Reports the first settlement; releases on deinit when nobody settled.
private final class Settler: Sendable {
    private let state = Mutex<Settlement?>(nil)
    private let report: @Sendable (Settlement) -> Void

    init(_ report: @escaping @Sendable (Settlement) -> Void) {
        self.report = report
    }

    var settlement: Settlement? { state.withLock { $0 } }

    func settle(_ settlement: Settlement) -> Bool {
        let first = state.withLock { current -> Bool in
            guard current == nil else { return false }
            current = settlement
            return true
        }
        // Reported outside the lock: the binding's callback may do anything.
        if first { report(settlement) }
        return first
    }

    deinit {
        _ = settle(.released)
    }
}
