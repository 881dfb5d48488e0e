import CloudEvents
import CloudEventsTestSupport
import Foundation
import Testing

/// One fault test's world: a temporary directory (buffers, logs), a unique topic, id prefix
/// and client id, a sink, and the `ce bridge` processes it started (killed at the end,
/// whatever happened).
final class FaultRun: Sendable {
    /// The test's name, in output lines and file names.
    let name: String
    /// Buffers and logs.
    let directory: String
    /// The topic prefix events are published under (`<topic>/key-N`).
    let topic: String
    /// The prefix of every event id.
    let prefix: String
    /// The client id every instance of the bridge uses (unless a test gives its own).
    let clientID: String
    /// Where the bridge delivers.
    let sink: ControllableSink
    private let bridges = Locked<[BridgeProcess]>([])

    private init(name: String, directory: String, sink: ControllableSink) {
        self.name = name
        self.directory = directory
        self.sink = sink
        topic = Broker.uniqueTopic(name)
        prefix = Broker.uniqueID(name)
        clientID = Broker.uniqueID("br\(name)")
    }

    /// Runs `body` with a fresh run and sink; kills every bridge it started afterwards.
    static func with(_ name: String, _ body: (FaultRun) async throws -> Void) async throws {
        try await withTemporaryDirectory(name) { directory in
            try await ControllableSink.withSink { sink in
                let run = FaultRun(name: name, directory: directory, sink: sink)
                defer { run.killAll() }
                try await body(run)
            }
        }
    }

    /// The route of this run: from `<topic>/#` on `brokerPort` to the sink, buffered in
    /// `<directory>/buffer`.
    func route(brokerPort: Int = Broker.port) -> BridgeRoute {
        BridgeRoute(
            brokerPort: brokerPort, filter: "\(topic)/#", clientID: clientID, sinkURL: sink.url,
            bufferDirectory: "\(directory)/buffer")
    }

    /// Starts `ce bridge` for `route` and waits (up to 30 s) until its source is open, so
    /// that what is published next reaches it.
    ///
    /// - Throws: ``SpawnError`` when it does not start or its source does not open (with
    ///   its output).
    @discardableResult
    func startBridge(_ route: BridgeRoute) async throws -> BridgeProcess {
        let index = bridges.withLock { $0.count }
        let start = ContinuousClock.now
        let bridge = try BridgeProcess(route.arguments, logPath: "\(directory)/bridge-\(index).log")
        defer { print("[\(name)] bridge \(index) ready after \(ContinuousClock.now - start)") }
        bridges.withLock { $0.append(bridge) }
        guard await bridge.waitForOutput(containing: Self.readyLine, timeout: .seconds(30)) else {
            throw SpawnError(
                message: "ce bridge \(route.arguments.joined(separator: " ")) did not log '\(Self.readyLine)' within 30 s"
                    + " (\(bridge.exit.map { "\($0)" } ?? "still running")):\n\(bridge.stderrTail())")
        }
        return bridge
    }

    /// What `ce bridge` logs once a route's source is open (subscribed).
    static let readyLine = "source open"

    /// The output of every bridge started so far, for a failure message.
    var bridgeOutput: String {
        bridges.withLock { $0 }.enumerated().map { "--- bridge \($0.offset):\n\($0.element.stderrTail(40))" }
            .joined(separator: "\n")
    }

    private func killAll() {
        for bridge in bridges.withLock({ $0 }) where bridge.isRunning {
            kill(bridge.pid, SIGKILL)
        }
    }

    /// Waits until every id of `published` was accepted by `sinks` (up to `timeout`), then
    /// prints the tally and records a failure naming what is missing, when more than
    /// `allowedLoss` ids are.
    ///
    /// - Returns: the ids missing (empty when all arrived).
    @discardableResult
    func expectDelivered(
        _ published: Set<String>, to sinks: [ControllableSink]? = nil, allowedLoss: Int = 0, timeout: Duration = .seconds(45),
        sourceLocation: SourceLocation = #_sourceLocation
    ) async -> Set<String> {
        let sinks = sinks ?? [sink]
        let arrived = { sinks.reduce(into: Set<String>()) { $0.formUnion($1.distinctIDs) }.intersection(published) }
        let start = ContinuousClock.now
        _ = await pollUntil(timeout: timeout) { arrived().count == published.count }
        let waited = ContinuousClock.now - start
        let missing = published.subtracting(arrived())
        let duplicates = sinks.reduce(0) { $0 + $1.duplicateCount }
        print(
            "[\(name)] published \(published.count), distinct at the sink \(published.count - missing.count),"
                + " duplicates \(duplicates), missing \(missing.count) (waited \(waited.formatted(.units(allowed: [.seconds], fractionalPart: .show(length: 1)))) for the last)"
        )
        #expect(
            missing.count <= allowedLoss,
            "\(missing.count) of \(published.count) never arrived: \(missing.sorted().prefix(10))\n\(bridgeOutput)",
            sourceLocation: sourceLocation)
        return missing
    }
}
