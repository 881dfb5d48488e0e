
/// One message handed to a consumer, which must settle it exactly once with ``accept()``,
/// ``reject(reason:)`` or ``release()``.
///
/// Settling twice is harmless: only the first call counts. A delivery that is dropped
/// without being settled is released (redelivered where the binding can), so a consumer
/// that throws halfway never silently acknowledges an event.
public struct Delivery: Sendable {
    /// The message as it arrived, in its content mode.
    public var message: Message {
        switch messageSource {
        case .given(let message): message
        case .deferred(let message): message.value
        }
    }
    private let messageSource: MessageSource
    /// The formats the receiver accepts; ``event(formats:extensionTypes:)`` decodes with them.
    public let formats: EventFormatRegistry
    /// The extension types the receiver was configured with.
    public let extensionTypes: ExtensionTypes
    private let settler: Settler
    /// What the binding decoded with the delivery's own formats and extension types, if it did.
    private var decodedEvents: [CloudEvent]?

    /// Creates a delivery whose settlement is reported to `settle`, once, on whichever
    /// thread settles it. Bindings create deliveries; consumers only settle them.
    ///
    /// - Parameters:
    ///   - formats: the receiver's formats, so that consumers decode what it accepted.
    ///   - extensionTypes: the receiver's extension types.
    public init(
        message: Message, formats: EventFormatRegistry = .standard, extensionTypes: ExtensionTypes = .none,
        settle: @escaping @Sendable (Settlement) -> Void
    ) {
        self.messageSource = .given(message)
        self.formats = formats
        self.extensionTypes = extensionTypes
        self.settler = Settler(settle)
    }

    /// A delivery whose events the binding already decoded (with `formats` and
    /// `extensionTypes`) to validate the message: ``event(formats:extensionTypes:)`` and
    /// ``events(formats:extensionTypes:)`` with their defaults return them instead of
    /// decoding again.
    package init(
        message: Message, formats: EventFormatRegistry, extensionTypes: ExtensionTypes, decodedEvents: [CloudEvent],
        settle: @escaping @Sendable (Settlement) -> Void
    ) {
        self.init(message: message, formats: formats, extensionTypes: extensionTypes, settle: settle)
        self.decodedEvents = decodedEvents
    }

    /// A delivery whose events the binding already decoded, and whose ``message`` it builds
    /// only if the consumer asks for it: most consumers only want the events, and building
    /// the message from the wire again would cost more than decoding them did.
    ///
    /// - Parameter message: builds the message; called at most once, on first use.
    package init(
        formats: EventFormatRegistry, extensionTypes: ExtensionTypes, decodedEvents: [CloudEvent],
        message: @escaping @Sendable () -> Message, settle: @escaping @Sendable (Settlement) -> Void
    ) {
        self.messageSource = .deferred(DeferredMessage(message))
        self.formats = formats
        self.extensionTypes = extensionTypes
        self.settler = Settler(settle)
        self.decodedEvents = decodedEvents
    }

    /// The event this delivery carries, decoded with the receiver's formats and extension
    /// types unless others are given.
    ///
    /// - Throws: ``MessageError`` naming what is wrong with the message. The delivery is
    ///   still to be settled: usually rejected with the error's description.
    public func event(
        formats: EventFormatRegistry? = nil, extensionTypes: ExtensionTypes? = nil
    ) throws(MessageError) -> CloudEvent {
        if formats == nil, extensionTypes == nil, message.contentMode != .batch, let decodedEvents, decodedEvents.count == 1 {
            return decodedEvents[0]
        }
        return try message.event(formats: formats ?? self.formats, extensionTypes: extensionTypes ?? self.extensionTypes)
    }

    /// All events (a batch holds several).
    public func events(
        formats: EventFormatRegistry? = nil, extensionTypes: ExtensionTypes? = nil
    ) throws(MessageError) -> [CloudEvent] {
        if formats == nil, extensionTypes == nil, let decodedEvents { return decodedEvents }
        return try message.events(formats: formats ?? self.formats, extensionTypes: extensionTypes ?? self.extensionTypes)
    }

    /// Marks the delivery processed. Returns whether this call settled it.
    @discardableResult
    public func accept() -> Bool { settler.settle(.accepted) }

    /// Marks the delivery processed and answers with `reply` where the binding can (HTTP:
    /// the response carries it). Returns whether this call settled it.
    @discardableResult
    public func accept(reply: Message) -> Bool { settler.settle(.acceptedWithReply(reply)) }

    /// Marks the delivery processed and answers with `event`, in binary mode. Returns
    /// whether this call settled it.
    ///
    /// - Throws: ``MessageError`` when `event` is invalid (the delivery stays unsettled).
    @discardableResult
    public func accept(reply event: CloudEvent) throws(MessageError) -> Bool {
        accept(reply: try Message(event, mode: .binary))
    }

    /// Refuses the delivery for good, with a reason. Returns whether this call settled it.
    @discardableResult
    public func reject(reason: String) -> Bool { settler.settle(.rejected(reason: reason)) }

    /// Gives the delivery back for redelivery. Returns whether this call settled it.
    @discardableResult
    public func release() -> Bool { settler.settle(.released) }

    /// How the delivery was settled, if it was.
    public var settlement: Settlement? { settler.settlement }
}

/// Where a delivery's message comes from.
private enum MessageSource: Sendable {
    case given(Message)
    case deferred(DeferredMessage)
}

/// A message built on first use, once.
private final class DeferredMessage: Sendable {
    private enum State {
        case pending(@Sendable () -> Message)
        case built(Message)
    }

    private let state: Locked<State>

    init(_ build: @escaping @Sendable () -> Message) {
        state = Locked(.pending(build))
    }

    var value: Message {
        state.withLock { state in
            switch state {
            case .built(let message):
                return message
            case .pending(let build):
                let message = build()
                state = .built(message)
                return message
            }
        }
    }
}

/// Reports the first settlement; releases on deinit when nobody settled.
private final class Settler: Sendable {
    private let state = Locked<Settlement?>(nil)
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
