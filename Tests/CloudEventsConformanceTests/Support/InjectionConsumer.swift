import CloudEvents
import Synchronization

/// The consumer of an injection test's receiver: decodes each delivery, accepts a valid
/// event and rejects an invalid one with its error's description, and keeps a record of
/// each (written before the settlement, so the record exists by the time the sender
/// learns the outcome).
final class InjectionConsumer: Sendable {
    /// One delivery, as the consumer saw it.
    enum Received: Sendable, CustomStringConvertible {
        /// It decoded; accepted.
        case event(CloudEvent)
        /// Its decoding threw a ``MessageError`` (the only error `event()` throws) with this
        /// description; rejected with it.
        case refused(error: String)

        var description: String {
            switch self {
            case .event(let event): "event '\(event.id)'"
            case .refused(let error): "refused: \(error)"
            }
        }
    }

    private let records = Mutex<[(received: Received, delivery: Delivery)]>([])

    /// How many deliveries arrived so far.
    var count: Int { records.withLock { $0.count } }

    /// The records from index `start` on.
    func received(from start: Int) -> [Received] {
        records.withLock { Array($0.dropFirst(start).map(\.received)) }
    }

    /// How the delivery at `index` was settled.
    func settlement(at index: Int) -> Settlement? {
        records.withLock { $0.indices.contains(index) ? $0[index].delivery.settlement : nil }
    }

    /// Consumes `receiver`'s deliveries until the stream ends or the task is cancelled.
    func consume(_ receiver: any CloudEventReceiver) async throws {
        for try await delivery in receiver.deliveries() {
            // Settled before it is recorded: a test that sees the record may check at once
            // what settling did (the binding's refusal log).
            do {
                let event = try delivery.event()
                delivery.accept()
                records.withLock { $0.append((.event(event), delivery)) }
            } catch {
                delivery.reject(reason: error.description)
                records.withLock { $0.append((.refused(error: error.description), delivery)) }
            }
        }
    }

    /// Waits until a record at `index` exists (polling, at most `timeout`), and returns it.
    func waitForRecord(at index: Int, timeout: Duration = .seconds(60)) async throws -> Received? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let record = records.withLock({ $0.indices.contains(index) ? $0[index].received : nil }) { return record }
            try await Task.sleep(for: .milliseconds(5))
        }
        return nil
    }
}
