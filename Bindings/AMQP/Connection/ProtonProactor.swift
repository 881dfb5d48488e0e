import CQpidProton
import CloudEvents
import CloudEventsLoopDriver

/// Wakes a ``LoopDriver`` blocked in `pn_proactor_wait` with `pn_proactor_interrupt` (safe
/// from any thread). Invalidated before the proactor is freed, so a late wake-up does nothing.
final class ProactorWaker: LoopWaker {
    /// The proactor; read only under `valid`'s lock, which ``invalidate()`` takes before
    /// the loop frees it.
    nonisolated(unsafe) private let proactor: OpaquePointer
    private let valid = Locked(true)

    init(_ proactor: OpaquePointer) {
        self.proactor = proactor
    }

    func wake() {
        valid.withLock { valid in
            if valid { pn_proactor_interrupt(proactor) }
        }
    }

    /// No more wake-ups (loop thread, before `pn_proactor_free`).
    func invalidate() {
        valid.withLock { $0 = false }
    }
}

/// One proactor, driven by the loop thread alone: each turn arms the proactor's timer for
/// the driver's next deadline, waits for a batch of events, hands each to the engine and
/// returns the batch. A class: handlers change its dirty list while a turn runs.
final class ProactorPump {
    let proactor: OpaquePointer
    /// The deadline the proactor's timer is armed for (`nil`: none, or it fired).
    private var armed: ContinuousClock.Instant?
    /// Connections changed outside an event batch (by a command): woken before the wait,
    /// so that the proactor writes what they have to send.
    private var dirty: [OpaquePointer] = []

    init(proactor: OpaquePointer) {
        self.proactor = proactor
    }

    /// Asks the proactor to process `connection` (its output) at the next wait.
    func markDirty(_ connection: OpaquePointer) {
        if !dirty.contains(connection) { dirty.append(connection) }
    }

    /// Forgets a connection the proactor is about to free.
    func forget(_ connection: OpaquePointer) {
        dirty.removeAll { $0 == connection }
    }

    func turn(
        until deadline: ContinuousClock.Instant?, now: ContinuousClock.Instant, _ handle: (OpaquePointer) -> Void
    ) {
        for connection in dirty { pn_connection_wake(connection) }
        dirty.removeAll(keepingCapacity: true)
        if deadline != armed {
            if let deadline {
                let left = deadline > now ? deadline - now : .zero
                let milliseconds = left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000
                // Rounded up, so that a timer is never judged early.
                pn_proactor_set_timeout(proactor, pn_millis_t(clamping: milliseconds + 1))
            } else {
                pn_proactor_cancel_timeout(proactor)
            }
            armed = deadline
        }
        guard let batch = pn_proactor_wait(proactor) else { return }
        while let event = pn_event_batch_next(batch) {
            if pn_event_type(event) == PN_PROACTOR_TIMEOUT { armed = nil }
            handle(event)
        }
        pn_proactor_done(proactor, batch)
    }
}

/// Reading proton's conditions and strings.
enum Proton {
    /// `name: description` of a condition that is set, else `nil`.
    static func describe(_ condition: OpaquePointer?) -> (name: String, description: String)? {
        guard let condition, pn_condition_is_set(condition) else { return nil }
        let name = pn_condition_get_name(condition).map { String(cString: $0) } ?? "unknown"
        let description = pn_condition_get_description(condition).map { String(cString: $0) } ?? ""
        return (name, description)
    }

    /// A condition as text for error messages: `amqp:not-found: no queue 'x'`.
    static func text(_ condition: (name: String, description: String)) -> String {
        condition.description.isEmpty ? condition.name : "\(condition.name): \(condition.description)"
    }

    /// Sets a condition's name and description.
    static func set(_ condition: OpaquePointer?, name: String, description: String) {
        guard let condition else { return }
        pn_condition_set_name(condition, name)
        pn_condition_set_description(condition, description)
    }

    /// The address of a terminus, if it has one.
    static func address(_ terminus: OpaquePointer?) -> String? {
        guard let terminus, let address = pn_terminus_get_address(terminus) else { return nil }
        return String(cString: address)
    }

    /// Whether an open frame's properties name RabbitMQ 3.x (`product` "RabbitMQ", `version` "3.…").
    static func isRabbitMQ3(_ properties: OpaquePointer?) -> Bool {
        guard let properties else { return false }
        pn_data_rewind(properties)
        guard pn_data_next(properties), pn_data_type(properties) == PN_MAP else { return false }
        let count = pn_data_get_map(properties)
        _ = pn_data_enter(properties)
        defer { _ = pn_data_exit(properties) }
        var product: String?
        var version: String?
        var index = 0
        while index + 1 < Int(count), pn_data_next(properties) {
            let key = pn_data_type(properties) == PN_SYMBOL ? string(pn_data_get_symbol(properties)) : nil
            guard pn_data_next(properties) else { break }
            let value = pn_data_type(properties) == PN_STRING ? string(pn_data_get_string(properties)) : nil
            if key == "product" { product = value }
            if key == "version" { version = value }
            index += 2
        }
        return product == "RabbitMQ" && version?.hasPrefix("3.") == true
    }

    private static func string(_ bytes: pn_bytes_t) -> String {
        guard let start = bytes.start else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: start, count: bytes.size), as: UTF8.self)
    }

    /// `host:port` in the form `pn_proactor_connect2` and `pn_proactor_listen` take.
    static func address(host: String, port: Int) -> String {
        var buffer = [CChar](repeating: 0, count: 1024)
        _ = pn_proactor_addr(&buffer, buffer.count, host, String(port))
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The error a connection failed with, from its transport's (or the peer's) condition.
    static func connectionError(
        transport: OpaquePointer?, connection: OpaquePointer?, peer: String, fallback: String
    ) -> TransportError {
        let condition =
            describe(transport.flatMap { pn_transport_condition($0) })
            ?? describe(connection.flatMap { pn_connection_remote_condition($0) })
        guard let condition else { return TransportError(.connectionFailed, "AMQP connection to \(peer): \(fallback)") }
        let text = text(condition)
        if condition.name == "amqp:unauthorized-access" || text.contains("Authentication failed")
            || condition.name.hasPrefix("amqp:sasl")
        {
            return TransportError(.notAuthorized, "AMQP connection to \(peer) refused: \(text)")
        }
        return TransportError(.connectionFailed, "AMQP connection to \(peer) failed: \(text)")
    }
}
