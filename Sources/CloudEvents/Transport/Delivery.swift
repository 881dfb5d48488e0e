import Synchronization

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
    /// Why the message is not an event, when the binding found out while reading it and can
    /// say it better than decoding the message would (MQTT: a `datacontenttype` User Property
    /// that contradicts the Content Type property).
    private var decodingError: MessageError?

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

    /// A delivery whose message the binding already knows is not a valid event:
    /// ``event(formats:extensionTypes:)`` and ``events(formats:extensionTypes:)`` with their
    /// defaults throw `decodingError` instead of what decoding ``message`` would say.
    package init(
        message: Message, formats: EventFormatRegistry, extensionTypes: ExtensionTypes, decodingError: MessageError,
        settle: @escaping @Sendable (Settlement) -> Void
    ) {
        self.init(message: message, formats: formats, extensionTypes: extensionTypes, settle: settle)
        self.decodingError = decodingError
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
        if formats == nil, extensionTypes == nil, let decodingError { throw decodingError }
        if formats == nil, extensionTypes == nil, message.contentMode != .batch, let decodedEvents, decodedEvents.count == 1 {
            return decodedEvents[0]
        }
        return try message.event(formats: formats ?? self.formats, extensionTypes: extensionTypes ?? self.extensionTypes)
    }

    /// All events (a batch holds several).
    public func events(
        formats: EventFormatRegistry? = nil, extensionTypes: ExtensionTypes? = nil
    ) throws(MessageError) -> [CloudEvent] {
        if formats == nil, extensionTypes == nil, let decodingError { throw decodingError }
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

/// A message built on first use. Two threads asking at once may both build it; both get
/// the one stored first. (Lock-free: a delivery is created per event, and a lock costs two
/// allocations more.)
private final class DeferredMessage: Sendable {
    private let build: @Sendable () -> Message
    private let built = AtomicLazyReference<Box<Message>>()

    init(_ build: @escaping @Sendable () -> Message) {
        self.build = build
    }

    var value: Message {
        if let box = built.load() { return box.value }
        return built.storeIfNil(Box(build())).value
    }
}

/// Reports the first settlement; releases on deinit when nobody settled.
private final class Settler: Sendable {
    /// Set once, by the first settlement (lock-free, as ``DeferredMessage`` says why).
    private let settled = AtomicLazyReference<Box<Settlement>>()
    private let report: @Sendable (Settlement) -> Void

    init(_ report: @escaping @Sendable (Settlement) -> Void) {
        self.report = report
    }

    var settlement: Settlement? { settled.load()?.value }

    func settle(_ settlement: Settlement) -> Bool {
        let mine = Box(settlement)
        let first = settled.storeIfNil(mine) === mine
        // Reported outside any lock: the binding's callback may do anything.
        if first { report(settlement) }
        return first
    }

    deinit {
        if settled.load() == nil { report(.released) }
    }
}

/// An immutable value in a class, for `AtomicLazyReference`.
private final class Box<Value: Sendable>: Sendable {
    let value: Value

    init(_ value: Value) {
        self.value = value
    }
}
