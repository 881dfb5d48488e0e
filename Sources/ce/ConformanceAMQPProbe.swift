import CloudEvents
import CloudEventsAMQP
import CloudEventsConformance
import Logging

/// The raw receiver of the AMQP wire rows (`ce conformance`'s, and the AMQP tests' through
/// `@testable import ce`): a bare proton receiver link (through the binding's connection
/// engine, never its mapping) whose deliveries' bytes go to the conformance module's own AMQP
/// decoder, each accepted. Through a broker it attaches to the cell's
/// address before the sender sends; peer to peer (`listen=true`) it listens on loopback and
/// the sender connects to it.
struct ProtonRawAMQPReceiver: RawAMQPReceiving {
    var name: String { "proton link" }

    func withRawReceiver<Result: Sendable>(
        cellEndpoint: Endpoint, formats: EventFormatRegistry, timeout: Duration,
        _ body: (Endpoint, @escaping @Sendable (ContinuousClock.Instant) async -> [UInt8]?) async throws -> Result
    ) async throws -> Result {
        let settings = try AMQPEndpoint(cellEndpoint)
        let inbox = ConformanceInbox<[UInt8]>()
        let consumer = AMQPDeliveryConsumer(
            deliver: { delivery, _ in
                inbox.post(delivery.bytes)
                delivery.settle(.accepted)
                return .taken
            },
            finish: { _ in inbox.finish() })
        let next: @Sendable (ContinuousClock.Instant) async -> [UInt8]? = { await inbox.next(before: $0) }
        // The probe is the matrix's instrument, not a subject: its connects stay out of the output.
        let quiet = Logger(label: "cloudevents.conformance.amqp-probe") { _ in SwiftLogNoOpLogHandler() }
        if settings.listen {
            let listener = try await AMQPListener.listen(host: "127.0.0.1", port: 0, consumer: consumer, logger: quiet)
            var senderEndpoint = cellEndpoint
            senderEndpoint.options.removeAll { $0.name == "listen" }
            senderEndpoint = try Endpoint(
                senderEndpoint.withPort(listener.port).url(maskingPassword: false), formats: formats)
            do {
                let result = try await body(senderEndpoint, next)
                await listener.close()
                return result
            } catch {
                await listener.close()
                throw error
            }
        }
        var configuration = settings.configuration
        configuration.operationTimeout = timeout
        configuration.logger = quiet
        return try await AMQPConnection.withConnection(configuration: configuration) { connection in
            let link = try await connection.openReceiver(address: settings.address, credit: 64, consumer: consumer)
            defer { link.close() }
            return try await body(cellEndpoint, next)
        }
    }
}
