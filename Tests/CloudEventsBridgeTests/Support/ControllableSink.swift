import CloudEvents
import CloudEventsTestSupport
import NIOCore
import NIOHTTP1
import NIOPosix

/// An HTTP/1.1 CloudEvents sink on 127.0.0.1 whose answers a test switches while a bridge
/// delivers to it (``SinkBehaviour``), and which can go down and come back on the same port.
///
/// It records every accepted event (duplicates counted), the order of first acceptance per
/// `subject`, and the latest requests whole, headers included.
///
/// ```swift
/// try await ControllableSink.withSink { sink in
///     sink.behaviour = .status(500)
///     ...
///     #expect(await sink.waitUntil(distinct: 100, timeout: .seconds(20)))
/// }
/// ```
final class ControllableSink: Sendable {
    /// The port it listens on, kept across ``stop()`` and ``start()``.
    let port: Int
    private let ledger = Locked(SinkLedger())
    /// The listening channel while up, every open connection (closed by ``stop()``), and the
    /// port's reservation while down.
    private let channels = Locked<
        (server: (any Channel)?, connections: [ObjectIdentifier: any Channel], reservation: PortReservation?)
    >((nil, [:], nil))

    private init(port: Int) {
        self.port = port
    }

    /// Runs a sink on a free loopback port while `body` runs, and closes it on every path.
    static func withSink<Result: Sendable>(_ body: (ControllableSink) async throws -> Result) async throws -> Result {
        let reservation = try PortReservation()
        let sink = ControllableSink(port: reservation.port)
        sink.channels.withLock { $0.reservation = reservation }
        try await sink.start()
        do {
            let result = try await body(sink)
            await sink.shutdown()
            return result
        } catch {
            await sink.shutdown()
            throw error
        }
    }

    /// The URL a bridge sends to.
    var url: String { "http://127.0.0.1:\(port)/events" }

    /// How requests are answered from now on.
    var behaviour: SinkBehaviour {
        get { ledger.withLock { $0.behaviour } }
        set { ledger.withLock { $0.behaviour = newValue } }
    }

    // MARK: Up and down

    /// Listens on ``port`` again (after ``stop()``); retries the bind for up to 5 s.
    func start() async throws {
        var lastError: (any Error)?
        channels.withLock { state in
            state.reservation?.release()
            state.reservation = nil
        }
        for _ in 0..<100 {
            do {
                let server = try await Self.bind(port: port, sink: self)
                channels.withLock { $0.server = server }
                return
            } catch {
                lastError = error
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        throw SinkError(message: "the sink could not listen on 127.0.0.1:\(port) again: \(String(describing: lastError))")
    }

    /// Stops listening and closes every open connection: the bridge sees refused connections
    /// (and requests in flight fail) until ``start()``.
    func stop() async {
        let (server, connections) = channels.withLock { state in
            defer { (state.server, state.connections) = (nil, [:]) }
            return (state.server, Array(state.connections.values))
        }
        try? await server?.close()
        for connection in connections { try? await connection.close() }
        // Held until start(): nobody else's listener (another test's sink) takes the port meanwhile.
        let reservation = try? PortReservation(port: port)
        channels.withLock { $0.reservation = reservation }
    }

    private func shutdown() async {
        await stop()
        channels.withLock { state in
            state.reservation?.release()
            state.reservation = nil
        }
    }

    private static func bind(port: Int, sink: ControllableSink) async throws -> any Channel {
        try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(SinkRequestHandler(sink: sink))
                    sink.opened(channel)
                }
            }
            .bind(host: "127.0.0.1", port: port)
            .get()
    }

    private func opened(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        let open = channels.withLock { state in
            // Refused while down: a connection accepted during stop() would outlive it.
            guard state.server != nil else { return false }
            state.connections[id] = channel
            return true
        }
        guard open else {
            channel.close(promise: nil)
            return
        }
        channel.closeFuture.whenComplete { [self] _ in
            channels.withLock { _ = $0.connections.removeValue(forKey: id) }
        }
    }

    // MARK: Records

    func begin() {
        ledger.withLock { $0.begin() }
    }

    func abandon() {
        ledger.withLock { $0.abandon() }
    }

    func record(_ request: SinkRequest) {
        ledger.withLock { $0.record(request) }
    }

    /// The most requests the sink held unanswered at once (a slow sink shows the bridge's
    /// parallelism this way).
    var maximumInFlight: Int { ledger.withLock { $0.maximumInFlight } }

    /// Every accepted event, in the order accepted, duplicates included.
    var acceptedEvents: [CloudEvent] { ledger.withLock { $0.accepted } }

    /// Every accepted id, in the order accepted, duplicates included.
    var acceptedIDs: [String] { ledger.withLock { $0.accepted.map(\.id) } }

    /// The distinct accepted ids.
    var distinctIDs: Set<String> { ledger.withLock { Set($0.acceptances.keys) } }

    /// How often each id was accepted.
    var acceptances: [String: Int] { ledger.withLock { $0.acceptances } }

    /// Acceptances beyond the first of each id.
    var duplicateCount: Int { ledger.withLock { $0.accepted.count - $0.acceptances.count } }

    /// Ids of events with `subject` (`""`: without one), in the order of their first acceptance.
    func firstAcceptanceOrder(subject: String) -> [String] {
        ledger.withLock { $0.firstAcceptanceOrder[subject] ?? [] }
    }

    /// The latest requests (up to ``SinkLedger/keptRequests``), oldest first.
    var latestRequests: [SinkRequest] { ledger.withLock { $0.latestRequests } }

    /// Requests answered so far, by status.
    var statusCounts: [Int: Int] { ledger.withLock { $0.statusCounts } }

    /// Why requests that were not CloudEvents could not be read.
    var undecodableRequests: [String] { ledger.withLock { $0.undecodable } }

    /// Waits until `distinct` ids (starting with `prefix`) were accepted, polling every 20 ms
    /// for at most `timeout`.
    ///
    /// - Returns: whether they were.
    func waitUntil(distinct: Int, prefix: String = "", timeout: Duration) async -> Bool {
        await pollUntil(timeout: timeout) { ledger.withLock { $0.distinctCount(prefix: prefix) } >= distinct }
    }

    /// Waits until at least `count` requests were answered with `status`, for at most `timeout`.
    ///
    /// - Returns: whether they were.
    func waitUntil(answered status: Int, count: Int = 1, timeout: Duration) async -> Bool {
        await pollUntil(timeout: timeout) { statusCounts[status, default: 0] >= count }
    }
}

/// The sink could not do what a test asked.
struct SinkError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
