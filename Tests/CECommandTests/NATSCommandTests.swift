import CloudEvents
import CloudEventsConformance
import CloudEventsTestSupport
import CloudEventsTransports
import Foundation
import Testing

@testable import ce

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The nats-server of `Scripts/brokers` that the `ce over NATS` tests go through.
enum NATSCommandBroker {
    static let environment = ProcessInfo.processInfo.environment

    static let requirement = BrokerRequirement.decide(
        broker: "the NATS server (nats-server of Scripts/brokers)", listeners: [("CE_TEST_NATS_PORT", "plain")],
        hostVariable: "CE_TEST_NATS_HOST", in: environment)

    static let gate = BrokerRequirement.gate(
        skipComment: BrokerRequirement.skipComment(broker: "NATS server", variable: "CE_TEST_NATS_PORT")
    ) { requirement }

    /// `nats://host:port/<subject>`.
    static func url(_ subject: String) -> String {
        "nats://\(environment["CE_TEST_NATS_HOST"] ?? "127.0.0.1"):\(environment["CE_TEST_NATS_PORT"] ?? "4222")/\(subject)"
    }

    static func uniqueSubject() -> String { "ce.cmd.\(UInt32.random(in: 0...UInt32.max))" }

    /// How many subscriptions to `subject` the server has, from its monitoring endpoint
    /// (`/subsz`, CE_TEST_NATS_MONITOR_PORT); `nil` when it cannot be read.
    static func subscriptions(to subject: String) -> Int? {
        guard let port = environment["CE_TEST_NATS_MONITOR_PORT"],
            let url = URL(string: "http://127.0.0.1:\(port)/subsz?subs=1&limit=100000"),
            let data = try? Data(contentsOf: url),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let list = object["subscriptions_list"] as? [[String: Any]]
        else { return nil }
        return list.filter { $0["subject"] as? String == subject }.count
    }

    static func events(_ run: CERun) throws -> [CloudEvent] {
        try run.outputLines.map { try JSONEventFormat().decode(Array($0.utf8)) }
    }
}

/// `ce send nats://…` and `ce listen nats://…` as subprocesses, through nats-server.
@Suite("ce over NATS through nats-server", NATSCommandBroker.gate)
struct NATSCommandTests {
    @Test func sendsInEveryModeAndFormatToTheListener() async throws {
        let url = NATSCommandBroker.url(NATSCommandBroker.uniqueSubject())
        let (listener, line) = try await AMQPCommandBroker.listen(
            url, ["--count", "3", "--timeout", "90"], ready: "ce: subscribed to 'ce.cmd.")
        #expect(line.contains("nats-server"), "\(line)")
        let sends: [(id: String, arguments: [String])] = [
            ("binary", [url]), ("json", ["\(url)?mode=structured&format=json"]),
            ("protobuf", [url, "--mode", "structured", "--format", "protobuf"])
        ]
        for (id, arguments) in sends {
            let run = try await CE.run(["send"] + arguments + ["--id", id] + HTTPCommandTests.eventOptions, timeLimit: 40)
            #expect(run.status == 0, "\(id): \(run)")
            #expect(
                run.outputLines.count == 1 && run.outputLines[0].hasSuffix("no acknowledgement (core NATS)"),
                "\(id): \(run.output)")
        }
        let run = await listener.finish(timeLimit: 120)
        #expect(run.status == 0, "\(run)")
        let events = try NATSCommandBroker.events(run)
        try #require(events.count == 3, "\(run.output)")
        // Binary mode carries extensions as strings.
        #expect(Equivalence.headers.differences(try HTTPCommandTests.expected(id: "binary"), events[0]) == [])
        #expect(events[1] == (try HTTPCommandTests.expected(id: "json")))
        #expect(Equivalence.typedUTC.differences(try HTTPCommandTests.expected(id: "protobuf"), events[2]) == [])
    }

    /// Two listeners in one queue group (`?queue=`) share the events: together they print each once.
    @Test func listenersInAQueueGroupShareTheEvents() async throws {
        let url = NATSCommandBroker.url(NATSCommandBroker.uniqueSubject())
        var listeners: [CEProcess] = []
        for _ in 0..<2 {
            listeners.append(
                try await AMQPCommandBroker.listen(
                    url + "?queue=workers", ["--count", "10", "--timeout", "40"], ready: "ce: subscribed to 'ce.cmd."
                ).0)
        }
        for index in 0..<10 {
            let run = try await CE.run(["send", url, "--id", "q\(index)", "--source", "/s", "--type", "t"], timeLimit: 40)
            #expect(run.status == 0, "\(run)")
        }
        var runs: [CERun] = []
        for listener in listeners { runs.append(await listener.finish(timeLimit: 90)) }
        let ids = try runs.flatMap { try NATSCommandBroker.events($0).map(\.id) }
        #expect(ids.sorted() == (0..<10).map { "q\($0)" }.sorted(), "\(runs)")
        // Neither had all ten, so each ran into its timeout (exit 2) after printing its share.
        #expect(runs.allSatisfy { $0.status == 2 || $0.status == 0 }, "\(runs)")
    }
}

/// `ce` refusing NATS endpoints it cannot use, and a server that is not there.
@Suite("ce over NATS: refusals")
struct NATSCommandRefusalTests {
    @Test(arguments: [
        ("nats://127.0.0.1:4222/q?mode=batch", "no batch mode"),
        ("nats://127.0.0.1:4222/q.*", "wildcard"),
        ("nats://127.0.0.1:4222/q?queue=g", "queue= is for receivers"),
        ("nats://127.0.0.1:4222/q?qos=1", "unknown option 'qos'"),
        ("nats://127.0.0.1:4222", "missing subject"),
        ("nats://127.0.0.1:4222/a..b", "empty token"),
        ("nats://:pw@127.0.0.1:4222/q", "password needs a user name")
    ])
    func invalidEndpointsAreInvalidInput(url: String, mentions: String) async throws {
        let run = try await CE.run(["send", url, "--id", "1", "--source", "/s", "--type", "t", "--timeout", "5"])
        #expect(run.status == 1, "\(run)")
        #expect(run.stderr.contains(mentions), "\(run.stderr)")
        #expect(run.errorLines.count == 1, "\(run.stderr)")
    }

    @Test func nothingListeningIsATransportFailure() async throws {
        let port = try LoopbackSocket.closedPort()
        let run = try await CE.run(
            ["send", "nats://127.0.0.1:\(port)/q", "--id", "1", "--source", "/s", "--type", "t", "--timeout", "5"],
            timeLimit: 40)
        #expect(run.status == 3, "\(run)")
        #expect(run.errorLines.count == 1, "\(run.stderr)")
    }

    @Test func helpListsTheNATSBinding() async throws {
        let run = try await CE.run(["--help"])
        // The help is wrapped to the terminal's width: compare it as one line.
        let help = run.output.replacingOccurrences(of: "\n", with: " ")
        #expect(
            help.contains("NATS: nats://, natss:// (acknowledgement: none; options: mode=, format=, queue=, servers=)"), "\(help)"
        )
        #expect(help.contains("nats(s)://host[:port]/subject"), "\(help)")
    }
}

/// `ce bridge` with NATS as source and as sink: a `ce bridge` subprocess, the other ends in
/// this process through `ce`'s own registry.
@Suite("ce bridge over NATS", NATSCommandBroker.gate)
struct NATSBridgeCommandTests {
    static let options = BindingOptions(formats: Formats.registry, timeout: .seconds(30))

    /// Core NATS keeps nothing for a subscriber that is not there yet, so the test publishes
    /// (once a second, 60 times at most) until the bridge's subscription delivers one to the sink.
    @Test func fromNATSToHTTP() async throws {
        let subject = NATSCommandBroker.uniqueSubject()
        let received = Locked<[CloudEvent]>([])
        try await Bindings.registry.withReceiver(
            for: Endpoint("http://127.0.0.1:0/events", allowingPortZero: true), options: Self.options
        ) {
            sink in
            let bridge = try CEProcess([
                "bridge", "--from", NATSCommandBroker.url(subject), "--to", sink.endpoint.url(), "--no-buffer"
            ])
            defer { _ = bridge.finishBlocking(timeLimit: 1) }
            let consuming = Task {
                for try await delivery in sink.deliveries() {
                    let event = try delivery.event()
                    received.withLock { $0.append(event) }
                    delivery.accept()
                }
            }
            defer { consuming.cancel() }
            try await Bindings.registry.withSender(for: Endpoint(NATSCommandBroker.url(subject)), options: Self.options) {
                sender in
                for _ in 0..<120 where received.withLock({ $0.isEmpty }) {
                    _ = try await sender.send(try HTTPCommandTests.expected(id: "n2h"))
                    _ = await pollUntil(timeout: .seconds(1)) { !received.withLock { $0.isEmpty } }
                }
            }
            let events = received.withLock { $0 }
            try #require(!events.isEmpty, "the bridge delivered nothing; bridge: \(bridge.finishBlocking(timeLimit: 1))")
            #expect(Set(events.map(\.id)) == ["n2h"])
            // HTTP binary headers carry extensions as strings.
            #expect(Equivalence.headers.differences(try HTTPCommandTests.expected(id: "n2h"), events[0]) == [])
        }
    }

    /// Two bridges reading one subject in one queue group (`?queue=`) scale out: together they
    /// deliver each event to the sink once.
    @Test func bridgesInAQueueGroupShareASubject() async throws {
        let subject = NATSCommandBroker.uniqueSubject()
        let received = Locked<[String]>([])
        try await Bindings.registry.withReceiver(
            for: Endpoint("http://127.0.0.1:0/events", allowingPortZero: true), options: Self.options
        ) { sink in
            let bridges = try (0..<2).map { _ in
                try CEProcess([
                    "bridge", "--from", NATSCommandBroker.url(subject) + "?queue=bridges", "--to", sink.endpoint.url(),
                    "--no-buffer"
                ])
            }
            defer { for bridge in bridges { _ = bridge.finishBlocking(timeLimit: 1) } }
            let consuming = Task {
                for try await delivery in sink.deliveries() {
                    let id = try delivery.event().id
                    received.withLock { $0.append(id) }
                    delivery.accept()
                }
            }
            defer { consuming.cancel() }
            // Both subscriptions are at the server before anything is published.
            let subscribed = await pollUntil(timeout: .seconds(30)) {
                NATSCommandBroker.subscriptions(to: subject) == 2
            }
            try #require(subscribed, "the bridges did not both subscribe: \(bridges.map { $0.finishBlocking(timeLimit: 1) })")
            try await Bindings.registry.withSender(for: Endpoint(NATSCommandBroker.url(subject)), options: Self.options) {
                sender in
                for index in 0..<20 { _ = try await sender.send(try HTTPCommandTests.expected(id: "s\(index)")) }
            }
            _ = await pollUntil(timeout: .seconds(60)) { received.withLock { $0.count } >= 20 }
            // A duplicate would arrive right after the rest.
            try await Task.sleep(for: .milliseconds(500))
            let ids = received.withLock { $0 }
            #expect(ids.sorted() == (0..<20).map { "s\($0)" }.sorted(), "\(ids)")
        }
    }

    @Test func fromHTTPToNATS() async throws {
        let subject = NATSCommandBroker.uniqueSubject()
        let port = try LoopbackSocket.closedPort()
        try await Bindings.registry.withReceiver(for: Endpoint(NATSCommandBroker.url(subject)), options: Self.options) {
            receiver in
            let bridge = try CEProcess([
                "bridge", "--from", "http://127.0.0.1:\(port)/in", "--to", NATSCommandBroker.url(subject), "--no-buffer"
            ])
            // The bridge answers 202 once it holds the event, and publishes it.
            let listening = await bridge.acceptsConnections(onPort: port)
            if !listening {
                Issue.record("the bridge's HTTP receiver never listened: \(await bridge.finish(timeLimit: 1))")
                return
            }
            let send = try await CE.run(
                ["send", "http://127.0.0.1:\(port)/in", "--id", "h2n", "--timeout", "30"] + HTTPCommandTests.eventOptions,
                timeLimit: 40)
            #expect(send.status == 0, "\(send)")
            let delivery = try await nextNATSDelivery(of: receiver.deliveries(), within: 40)
            let bridged = await bridge.finish(timeLimit: 1)
            let event = try #require(delivery, "nothing arrived; bridge: \(bridged)").event()
            // The data bytes travel as `ce send` wrote them (with spaces); `ce listen` would re-encode them.
            let data = event.data?.bodyBytes(contentType: event.dataContentType)
            #expect(data.map { String(decoding: $0, as: UTF8.self).filter { !$0.isWhitespace } } == #"{"a":[1,2]}"#)
            var expected = try HTTPCommandTests.expected(id: "h2n")
            var received = event
            expected.data = nil
            received.data = nil
            #expect(Equivalence.headers.differences(expected, received) == [], "\(event)")
        }
    }

    /// The next delivery, or `nil` after `seconds`.
    private func nextNATSDelivery(of stream: DeliveryStream, within seconds: Int) async throws -> Delivery? {
        try await withThrowingTaskGroup(of: Delivery?.self) { group in
            group.addTask {
                var iterator = stream.makeAsyncIterator()
                return try await iterator.next()
            }
            group.addTask {
                try await Task.sleep(for: .seconds(seconds))
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
    }
}
