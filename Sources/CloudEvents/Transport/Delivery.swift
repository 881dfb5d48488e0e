import Synchronization

/// One message handed to a consumer, which must settle it exactly once with ``accept()``,
/// ``reject(reason:condition:)``, ``release()`` or ``modify(deliveryFailed:undeliverableHere:)``.
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

    /// How many earlier attempts to deliver this message the protocol counted (AMQP: the
    /// header's `delivery-count`); `nil` when the protocol has no such count.
    public let redeliveryCount: Int?
    /// Whether this may be a redelivery: AMQP's `delivery-count` above 0; `nil` when the
    /// binding cannot tell (MQTT: libmosquitto does not expose the DUP flag; HTTP, in-process).
    public let isRedelivered: Bool?

    /// Creates a delivery whose settlement is reported to `settle`, once, on whichever
    /// thread settles it. Bindings create deliveries; consumers only settle them. Its
    /// ``settlementOutcome()`` is `.local` as soon as `settle` returned: use the variant whose
    /// `settle` takes a ``SettlementReport`` when the settlement travels to a peer.
    ///
    /// - Parameters:
    ///   - formats: the receiver's formats, so that consumers decode what it accepted.
    ///   - extensionTypes: the receiver's extension types.
    ///   - redeliveryCount: the earlier attempts the protocol counted, if it counts them.
    ///   - isRedelivered: whether this may be a redelivery; by default `redeliveryCount > 0`
    ///     when a count is given, otherwise `nil`.
    public init(
        message: Message, formats: EventFormatRegistry = .standard, extensionTypes: ExtensionTypes = .none,
        redeliveryCount: Int? = nil, isRedelivered: Bool? = nil, settle: @escaping @Sendable (Settlement) -> Void
    ) {
        self.init(
            source: .given(message), formats: formats, extensionTypes: extensionTypes, redeliveryCount: redeliveryCount,
            isRedelivered: isRedelivered, settler: Settler(.plain(settle)))
    }

    /// Creates a delivery whose settlement is reported to `settle`, once, on whichever thread
    /// settles it, with a ``SettlementReport`` on which the binding reports, later, whether
    /// the settlement reached the peer: ``settlementOutcome()`` waits for that report.
    ///
    /// - Parameters:
    ///   - formats: the receiver's formats, so that consumers decode what it accepted.
    ///   - extensionTypes: the receiver's extension types.
    ///   - redeliveryCount: the earlier attempts the protocol counted, if it counts them.
    ///   - isRedelivered: whether this may be a redelivery; by default `redeliveryCount > 0`
    ///     when a count is given, otherwise `nil`.
    ///   - settle: called once with the settlement and the report the binding must answer.
    public init(
        message: Message, formats: EventFormatRegistry = .standard, extensionTypes: ExtensionTypes = .none,
        redeliveryCount: Int? = nil, isRedelivered: Bool? = nil,
        settle: @escaping @Sendable (Settlement, SettlementReport) -> Void
    ) {
        self.init(
            source: .given(message), formats: formats, extensionTypes: extensionTypes, redeliveryCount: redeliveryCount,
            isRedelivered: isRedelivered, settler: Settler(.reporting(settle)))
    }

    private init(
        source: MessageSource, formats: EventFormatRegistry, extensionTypes: ExtensionTypes, redeliveryCount: Int?,
        isRedelivered: Bool?, settler: Settler
    ) {
        self.messageSource = source
        self.formats = formats
        self.extensionTypes = extensionTypes
        self.redeliveryCount = redeliveryCount
        self.isRedelivered = isRedelivered ?? redeliveryCount.map { $0 > 0 }
        self.settler = settler
    }

    /// A delivery whose events the binding already decoded (with `formats` and
    /// `extensionTypes`) to validate the message: ``event(formats:extensionTypes:)`` and
    /// ``events(formats:extensionTypes:)`` with their defaults return them instead of
    /// decoding again.
    package init(
        message: Message, formats: EventFormatRegistry, extensionTypes: ExtensionTypes, decodedEvents: [CloudEvent],
        redeliveryCount: Int? = nil, isRedelivered: Bool? = nil, settle: @escaping @Sendable (Settlement) -> Void
    ) {
        self.init(
            source: .given(message), formats: formats, extensionTypes: extensionTypes, redeliveryCount: redeliveryCount,
            isRedelivered: isRedelivered, settler: Settler(.plain(settle)))
        self.decodedEvents = decodedEvents
    }

    /// The same, with a ``SettlementReport`` on which the binding reports the outcome.
    package init(
        message: Message, formats: EventFormatRegistry, extensionTypes: ExtensionTypes, decodedEvents: [CloudEvent],
        redeliveryCount: Int? = nil, isRedelivered: Bool? = nil,
        settle: @escaping @Sendable (Settlement, SettlementReport) -> Void
    ) {
        self.init(
            source: .given(message), formats: formats, extensionTypes: extensionTypes, redeliveryCount: redeliveryCount,
            isRedelivered: isRedelivered, settler: Settler(.reporting(settle)))
        self.decodedEvents = decodedEvents
    }

    /// A delivery whose message the binding already knows is not a valid event:
    /// ``event(formats:extensionTypes:)`` and ``events(formats:extensionTypes:)`` with their
    /// defaults throw `decodingError` instead of what decoding ``message`` would say.
    package init(
        message: Message, formats: EventFormatRegistry, extensionTypes: ExtensionTypes, decodingError: MessageError,
        redeliveryCount: Int? = nil, isRedelivered: Bool? = nil, settle: @escaping @Sendable (Settlement) -> Void
    ) {
        self.init(
            source: .given(message), formats: formats, extensionTypes: extensionTypes, redeliveryCount: redeliveryCount,
            isRedelivered: isRedelivered, settler: Settler(.plain(settle)))
        self.decodingError = decodingError
    }

    /// The same, with a ``SettlementReport`` on which the binding reports the outcome.
    package init(
        message: Message, formats: EventFormatRegistry, extensionTypes: ExtensionTypes, decodingError: MessageError,
        redeliveryCount: Int? = nil, isRedelivered: Bool? = nil,
        settle: @escaping @Sendable (Settlement, SettlementReport) -> Void
    ) {
        self.init(
            source: .given(message), formats: formats, extensionTypes: extensionTypes, redeliveryCount: redeliveryCount,
            isRedelivered: isRedelivered, settler: Settler(.reporting(settle)))
        self.decodingError = decodingError
    }

    /// A delivery whose events the binding already decoded, and whose ``message`` it builds
    /// only if the consumer asks for it: most consumers only want the events, and building
    /// the message from the wire again would cost more than decoding them did.
    ///
    /// - Parameters:
    ///   - decodedEvents: the one event of a message that is not a batch (``event(formats:extensionTypes:)``
    ///     returns it without building the message to look at its content mode).
    ///   - message: builds the message; called at most once, on first use.
    package init(
        formats: EventFormatRegistry, extensionTypes: ExtensionTypes, decodedEvents: [CloudEvent],
        message: @escaping @Sendable () -> Message, redeliveryCount: Int? = nil, isRedelivered: Bool? = nil,
        settle: @escaping @Sendable (Settlement) -> Void
    ) {
        self.init(
            source: .deferred(DeferredMessage(message)), formats: formats, extensionTypes: extensionTypes,
            redeliveryCount: redeliveryCount, isRedelivered: isRedelivered, settler: Settler(.plain(settle)))
        self.decodedEvents = decodedEvents
    }

    /// The same, with a ``SettlementReport`` on which the binding reports the outcome.
    package init(
        formats: EventFormatRegistry, extensionTypes: ExtensionTypes, decodedEvents: [CloudEvent],
        message: @escaping @Sendable () -> Message, redeliveryCount: Int? = nil, isRedelivered: Bool? = nil,
        settle: @escaping @Sendable (Settlement, SettlementReport) -> Void
    ) {
        self.init(
            source: .deferred(DeferredMessage(message)), formats: formats, extensionTypes: extensionTypes,
            redeliveryCount: redeliveryCount, isRedelivered: isRedelivered, settler: Settler(.reporting(settle)))
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
        if formats == nil, extensionTypes == nil, let decodedEvents, decodedEvents.count == 1, !carriesABatch {
            return decodedEvents[0]
        }
        return try message.event(formats: formats ?? self.formats, extensionTypes: extensionTypes ?? self.extensionTypes)
    }

    /// Whether the message is a batch (where ``event(formats:extensionTypes:)`` must refuse even
    /// one event). A deferred message is never one, by its initialiser's contract, so this does
    /// not build it.
    private var carriesABatch: Bool {
        if case .deferred = messageSource { return false }
        return message.contentMode == .batch
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

    /// Refuses the delivery for good, with a reason and a condition (the default
    /// ``ErrorCondition/rejected``; AMQP carries it in the rejection, other bindings keep only
    /// the reason). Returns whether this call settled it.
    @discardableResult
    public func reject(reason: String, condition: ErrorCondition = .rejected) -> Bool {
        settler.settle(.rejected(reason: reason, condition: condition))
    }

    /// Gives the delivery back for redelivery. Returns whether this call settled it.
    @discardableResult
    public func release() -> Bool { settler.settle(.released) }

    /// Gives the delivery back unprocessed, saying whether this attempt counts as a failed
    /// one (`deliveryFailed`: AMQP raises the message's delivery count) and whether it should
    /// not come back to this consumer (`undeliverableHere`). Bindings without AMQP's
    /// `modified` outcome treat it as ``release()``. Returns whether this call settled it.
    @discardableResult
    public func modify(deliveryFailed: Bool = true, undeliverableHere: Bool = false) -> Bool {
        settler.settle(.modified(deliveryFailed: deliveryFailed, undeliverableHere: undeliverableHere))
    }

    /// How the delivery was settled, if it was.
    public var settlement: Settlement? { settler.settlement }

    /// Waits until the binding has done what it can with the settlement, and says what that
    /// was: ``SettlementOutcome/reachedPeer`` (the disposition, acknowledgement or response
    /// was written to the peer), ``SettlementOutcome/local`` (the protocol has no per-message
    /// answer, or it was sent earlier), or ``SettlementOutcome/failed(_:_:)`` (the link or
    /// connection went away first: the peer will redeliver the message or has lost it).
    ///
    /// Before the delivery is settled, it waits for the settlement too. A cancelled wait
    /// returns `.failed(.closed, …)` at once.
    public func settlementOutcome() async -> SettlementOutcome {
        await settler.outcome()
    }
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
    /// Where the binding hears of the settlement.
    enum Handler: Sendable {
        /// The outcome is `.local` as soon as the handler returned.
        case plain(@Sendable (Settlement) -> Void)
        /// The binding reports the outcome on the report.
        case reporting(@Sendable (Settlement, SettlementReport) -> Void)
    }

    /// A settlement with where its report's outcome is kept (`nil`: `.local`). Not the
    /// report itself: a binding that drops the report unanswered must end the wait.
    struct Settled: Sendable {
        let settlement: Settlement
        let outcome: OutcomeSlot?
    }

    /// Set once, by the first settlement; lock-free unless someone waits for it first.
    private let settled = SetOnce<Settled>()
    private let handler: Handler

    init(_ handler: Handler) {
        self.handler = handler
    }

    var settlement: Settlement? { settled.value?.settlement }

    func settle(_ settlement: Settlement) -> Bool {
        // Reported outside any lock: the binding's callback may do anything. Waiters resume
        // after it, so that a `.local` outcome comes after the binding heard of the settlement.
        switch handler {
        case .plain(let report):
            guard let waiters = settled.set(Settled(settlement: settlement, outcome: nil)) else { return false }
            report(settlement)
            waiters.resume()
        case .reporting(let report):
            let outcome = SettlementReport()
            guard let waiters = settled.set(Settled(settlement: settlement, outcome: outcome.slot)) else { return false }
            report(settlement, outcome)
            waiters.resume()
        }
        return true
    }

    func outcome() async -> SettlementOutcome {
        guard let settled = await settled.wait() else { return .cancelled }
        guard let slot = settled.outcome else { return .local }
        return await slot.outcome.wait() ?? .cancelled
    }

    deinit {
        guard settled.value == nil else { return }
        // Nobody can wait for this outcome any more: the report only satisfies the binding.
        switch handler {
        case .plain(let report): report(.released)
        case .reporting(let report): report(.released, SettlementReport())
        }
    }
}

/// An immutable value in a class, for `AtomicLazyReference`.
private final class Box<Value: Sendable>: Sendable {
    let value: Value

    init(_ value: Value) {
        self.value = value
    }
}
