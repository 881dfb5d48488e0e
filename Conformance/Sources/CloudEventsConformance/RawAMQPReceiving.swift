public import CloudEvents

/// A raw AMQP receiver for the AMQP wire-shape rows: it takes what the binding's sender
/// wrote off the wire as bytes, and ``RawAMQPMessage`` parses them with this module's own
/// decoder.
///
/// This module links no AMQP library (it must build without qpid-proton), so the module that
/// does (the AMQP binding's tests, `ce`) supplies the receiver, usually a bare proton link
/// whose deliveries are handed over undecoded and accepted.
public protocol RawAMQPReceiving: Sendable {
    /// A short name for the matrix (`proton link`).
    var name: String { get }

    /// Attaches a receiver for one cell and runs `body` with the endpoint the sender should
    /// send to and a function returning the next message's bytes (or `nil` at the deadline).
    /// The receiver is closed on every path.
    ///
    /// - Parameters:
    ///   - cellEndpoint: the target's receiver endpoint for the cell (broker and address, or
    ///     a peer-mode listener).
    ///   - formats: the formats endpoints may name.
    ///   - timeout: how long attaching may take.
    ///   - body: sends, and reads what arrived.
    /// - Returns: what `body` returns.
    /// - Throws: an error naming what could not be attached, or what `body` throws.
    func withRawReceiver<Result: Sendable>(
        cellEndpoint: Endpoint, formats: EventFormatRegistry, timeout: Duration,
        _ body: (Endpoint, @escaping @Sendable (ContinuousClock.Instant) async -> [UInt8]?) async throws -> Result
    ) async throws -> Result
}
