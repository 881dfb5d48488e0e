import CloudEvents
import CloudEventsConformance
import CloudEventsTestSupport
import Foundation
import Testing

/// The RabbitMQ of `Scripts/brokers` (AMQP 1.0 plugin) that the `ce over AMQP` tests go through.
enum AMQPCommandBroker {
    static let environment = ProcessInfo.processInfo.environment

    static let requirement = BrokerRequirement.decide(
        broker: "the AMQP broker (RabbitMQ of Scripts/brokers)", listeners: [("CE_TEST_AMQP_PORT", "AMQP 1.0")],
        hostVariable: "CE_TEST_AMQP_HOST", in: environment)

    static let gate = BrokerRequirement.gate(
        skipComment: BrokerRequirement.skipComment(broker: "AMQP broker", variable: "CE_TEST_AMQP_PORT")
    ) { requirement }

    /// `amqp://guest:guest@host:port//queue/<name>`: RabbitMQ's `/queue/<name>` address.
    static func queueURL(_ name: String) -> String {
        let user = environment["CE_TEST_AMQP_USERNAME"] ?? "guest"
        let password = environment["CE_TEST_AMQP_PASSWORD"] ?? "guest"
        let host = environment["CE_TEST_AMQP_HOST"] ?? "127.0.0.1"
        return "amqp://\(user):\(password)@\(host):\(environment["CE_TEST_AMQP_PORT"] ?? "5672")//queue/\(name)"
    }

    static func uniqueQueue() -> String { "ce-cmd-\(UInt32.random(in: 0...UInt32.max))" }

    /// Starts `ce listen` on `url` and waits until its first stderr line starts with `ready`.
    static func listen(_ url: String, _ arguments: [String], ready: String) async throws -> (CEProcess, line: String) {
        let listener = try CEProcess(["listen", url] + arguments)
        guard let line = await listener.firstErrorLine(timeLimit: 90), line.hasPrefix(ready) else {
            throw ListenerDidNotStart(run: await listener.finish(timeLimit: 1))
        }
        return (listener, line)
    }

    static func events(_ run: CERun) throws -> [CloudEvent] {
        try run.outputLines.map { try JSONEventFormat().decode(Array($0.utf8)) }
    }
}

/// `ce send amqp://…` and `ce listen amqp://…` as subprocesses, through RabbitMQ.
@Suite("ce over AMQP through RabbitMQ", AMQPCommandBroker.gate)
struct AMQPCommandTests {
    @Test func sendsInEveryModeAndFormatToTheListener() async throws {
        let url = AMQPCommandBroker.queueURL(AMQPCommandBroker.uniqueQueue())
        let (listener, line) = try await AMQPCommandBroker.listen(
            url, ["--count", "3", "--timeout", "90"], ready: "ce: receiving from '/queue/")
        #expect(!line.contains("guest:guest"), "the password is masked: \(line)")
        let sends: [(id: String, options: String)] = [
            ("binary", "mode=binary"), ("json", "mode=structured&format=json"),
            ("protobuf", "mode=structured&format=protobuf&prefix=colon")
        ]
        for (id, options) in sends {
            let run = try await CE.run(["send", "\(url)?\(options)", "--id", id] + HTTPCommandTests.eventOptions, timeLimit: 40)
            #expect(run.status == 0, "\(id): \(run)")
            #expect(run.outputLines.count == 1 && run.outputLines[0].hasSuffix("accepted"), "\(id): \(run.output)")
        }
        let run = await listener.finish(timeLimit: 120)
        #expect(run.status == 0, "\(run)")
        let events = try AMQPCommandBroker.events(run)
        try #require(events.count == 3, "\(run.output)")
        #expect(Equivalence.headers.differences(try HTTPCommandTests.expected(id: "binary"), events[0]) == [])
        #expect(events[1] == (try HTTPCommandTests.expected(id: "json")))
        #expect(Equivalence.typedUTC.differences(try HTTPCommandTests.expected(id: "protobuf"), events[2]) == [])
    }

    /// `durable=false` attaches a transient link: RabbitMQ refuses it to the durable queue a
    /// default (durable) link declared, and `ce send` says why, in RabbitMQ's words.
    @Test func aTransientLinkToADurableQueueFailsNamingTheMismatch() async throws {
        let url = AMQPCommandBroker.queueURL(AMQPCommandBroker.uniqueQueue())
        let declared = try await CE.run(["send", url, "--id", "durable"] + HTTPCommandTests.eventOptions, timeLimit: 40)
        #expect(declared.status == 0, "\(declared)")
        let refused = try await CE.run(
            ["send", "\(url)?durable=false", "--id", "transient", "--timeout", "20"] + HTTPCommandTests.eventOptions,
            timeLimit: 40)
        #expect(refused.status != 0, "\(refused)")
        #expect(refused.stderr.contains("inequivalent arg 'durable'"), "\(refused.stderr)")
    }

    /// `hostname=` reaches the broker: RabbitMQ reads `vhost:<name>` as the virtual host, so
    /// the default one works and one that does not exist attaches nothing.
    @Test func hostnameSelectsTheVirtualHost() async throws {
        let url = AMQPCommandBroker.queueURL(AMQPCommandBroker.uniqueQueue())
        let arguments = ["--id", "1", "--source", "/s", "--type", "t", "--timeout", "5"]
        let known = try await CE.run(["send", "\(url)?hostname=vhost:/"] + arguments, timeLimit: 30)
        #expect(known.status == 0, "\(known)")
        let unknown = try await CE.run(["send", "\(url)?hostname=vhost:ce-cmd-no-such-vhost"] + arguments, timeLimit: 30)
        #expect(unknown.status == 3, "\(unknown)")
    }

    /// RabbitMQ refuses a receiver link from `/amq/queue/<name>` when the queue does not exist
    /// (`amqp:not-found`): the endpoint is wrong, which is invalid input.
    @Test func anUnknownQueueIsInvalidInputNamingIt() async throws {
        let url = AMQPCommandBroker.queueURL("x").replacingOccurrences(of: "//queue/x", with: "//amq/queue/ce-cmd-missing")
        let run = try await CE.run(["listen", url, "--count", "1", "--timeout", "5"], timeLimit: 50)
        #expect(run.status == 1, "\(run)")
        #expect(run.stderr.contains("/amq/queue/ce-cmd-missing"), "\(run.stderr)")
    }
}

/// `ce listen amqp://… --listen` (peer mode: no broker) and the AMQP refusals, as subprocesses.
@Suite("ce over AMQP peer to peer")
struct AMQPPeerCommandTests {
    @Test func aSenderTalksToAListenerWithoutABroker() async throws {
        let (listener, line) = try await AMQPCommandBroker.listen(
            "amqp://127.0.0.1:0/events", ["--listen", "--count", "2", "--timeout", "90"], ready: "ce: listening on amqp://")
        let url = String(line.dropFirst("ce: listening on ".count))
        #expect(url.hasPrefix("amqp://127.0.0.1:") && url.hasSuffix("/events") && !url.contains(":0/"), "\(line)")
        // The listener takes its own address only: the consumer's refusal reaches the sender.
        let other = try await CE.run(
            ["send", url.replacingOccurrences(of: "/events", with: "/elsewhere"), "--id", "x", "--source", "/s", "--type", "t"],
            timeLimit: 40)
        #expect(other.status == 3, "\(other)")
        #expect(other.stderr.contains("amqp:not-found"), "\(other.stderr)")
        for (id, mode) in [("binary", "binary"), ("json", "structured")] {
            let run = try await CE.run(["send", "\(url)?mode=\(mode)", "--id", id] + HTTPCommandTests.eventOptions, timeLimit: 40)
            #expect(run.status == 0, "\(id): \(run)")
            #expect(run.outputLines.last?.hasSuffix("accepted") == true, "\(id): \(run.output)")
        }
        let run = await listener.finish(timeLimit: 120)
        #expect(run.status == 0, "\(run)")
        let events = try AMQPCommandBroker.events(run)
        try #require(events.count == 2, "\(run.output)")
        #expect(Equivalence.headers.differences(try HTTPCommandTests.expected(id: "binary"), events[0]) == [])
        #expect(events[1] == (try HTTPCommandTests.expected(id: "json")))
    }

    @Test(arguments: [
        ("amqp://127.0.0.1:5672/q?mode=batch", "no batch mode"),
        ("amqp://127.0.0.1:5672/q?credit=0", "credit must be"),
        ("amqp://127.0.0.1:5672/q?prefix=dash", "prefix must be"),
        ("amqp://127.0.0.1:5672/q?qos=1", "unknown option 'qos'"),
        ("amqp://127.0.0.1:5672", "missing address"),
        ("amqp://127.0.0.1:5672/q?listen=true", "listen=true is for receivers")
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
            ["send", "amqp://127.0.0.1:\(port)/q", "--id", "1", "--source", "/s", "--type", "t", "--timeout", "5"],
            timeLimit: 30)
        #expect(run.status == 3, "\(run)")
    }

    @Test func listenFlagNeedsABindingWithAPeerMode() async throws {
        let run = try await CE.run(["listen", "http://127.0.0.1:0/events", "--listen", "--timeout", "1"])
        #expect(run.status == 1, "\(run)")
        #expect(run.stderr.contains("--listen: the HTTP binding has no peer mode (bindings with one: AMQP)"), "\(run.stderr)")
    }
}

/// `ce bridge` with AMQP as source and as sink, through RabbitMQ and `ce` HTTP peers.
@Suite("ce bridge over AMQP", AMQPCommandBroker.gate)
struct AMQPBridgeCommandTests {
    @Test func fromARabbitMQQueueToHTTP() async throws {
        let queue = AMQPCommandBroker.uniqueQueue()
        let (sink, url) = try await HTTPCommandTests.listen(["--count", "1", "--timeout", "90"])
        // Sent before the bridge runs: the queue holds it.
        let send = try await CE.run(
            ["send", AMQPCommandBroker.queueURL(queue), "--id", "a2h"] + HTTPCommandTests.eventOptions, timeLimit: 40)
        #expect(send.status == 0, "\(send)")
        let bridge = try CEProcess(["bridge", "--from", AMQPCommandBroker.queueURL(queue), "--to", url, "--no-buffer"])
        let run = await sink.finish(timeLimit: 120)
        let bridged = await bridge.finish(timeLimit: 1)
        #expect(run.status == 0, "\(run); bridge: \(bridged)")
        let events = try AMQPCommandBroker.events(run)
        try #require(events.count == 1, "\(run.output); bridge: \(bridged)")
        // HTTP binary headers carry extensions as strings.
        #expect(Equivalence.headers.differences(try HTTPCommandTests.expected(id: "a2h"), events[0]) == [])
    }

    @Test func fromHTTPToARabbitMQQueue() async throws {
        let queue = AMQPCommandBroker.uniqueQueue()
        let port = try LoopbackSocket.closedPort()
        let bridge = try CEProcess([
            "bridge", "--from", "http://127.0.0.1:\(port)/in", "--to", AMQPCommandBroker.queueURL(queue), "--no-buffer"
        ])
        let listening = await bridge.acceptsConnections(onPort: port)
        if !listening {
            Issue.record("the bridge's HTTP receiver never listened: \(await bridge.finish(timeLimit: 1))")
            return
        }
        let send = try await CE.run(
            ["send", "http://127.0.0.1:\(port)/in", "--id", "h2a", "--timeout", "30"] + HTTPCommandTests.eventOptions,
            timeLimit: 40)
        #expect(send.status == 0, "\(send)")
        let (listener, _) = try await AMQPCommandBroker.listen(
            AMQPCommandBroker.queueURL(queue), ["--count", "1", "--timeout", "90"], ready: "ce: receiving from")
        let run = await listener.finish(timeLimit: 120)
        let bridged = await bridge.finish(timeLimit: 1)
        #expect(run.status == 0, "\(run); bridge: \(bridged)")
        let events = try AMQPCommandBroker.events(run)
        try #require(events.count == 1, "\(run.output); bridge: \(bridged)")
        #expect(Equivalence.headers.differences(try HTTPCommandTests.expected(id: "h2a"), events[0]) == [])
    }
}

/// `ce` over `amqps://` peer to peer, with the test certificates `Scripts/brokers` makes.
@Suite(
    "ce over AMQPS peer to peer",
    BrokerRequirement.gate(
        skipComment:
            "no test certificates (CE_TEST_BROKERS_DIR unset): run Scripts/brokers start && eval \"$(Scripts/brokers env)\""
    ) {
        if AMQPCommandBroker.environment["CE_TEST_BROKERS_DIR"] != nil { return .run }
        return BrokerRequirement.isRequired(by: AMQPCommandBroker.environment)
            ? .fail("CE_TEST_BROKERS_DIR is not set: the test certificates of Scripts/brokers are missing") : .skip
    })
struct AMQPSecurePeerCommandTests {
    /// `amqps://` peer to peer with the test CA of `Scripts/brokers`: the listener presents the
    /// server certificate, and a sender verifies it against `--tls-ca` (or refuses it without).
    @Test func amqpsVerifiesTheListenerAgainstTheGivenCA() async throws {
        let directory = try #require(AMQPCommandBroker.environment["CE_TEST_BROKERS_DIR"])
        let tls = "\(directory)/tls"
        let (listener, line) = try await AMQPCommandBroker.listen(
            "amqps://127.0.0.1:0/events",
            ["--listen", "--tls-cert", "\(tls)/server.pem", "--tls-key", "\(tls)/server.key", "--count", "1", "--timeout", "90"],
            ready: "ce: listening on amqps://")
        let url = String(line.dropFirst("ce: listening on ".count)).replacingOccurrences(of: "127.0.0.1", with: "localhost")
        let untrusted = try await CE.run(
            ["send", url, "--id", "u", "--source", "/s", "--type", "t", "--timeout", "10"], timeLimit: 30)
        #expect(untrusted.status == 3, "\(untrusted)")
        #expect(untrusted.stderr.contains("certificate verify failed"), "\(untrusted.stderr)")
        let trusted = try await CE.run(
            ["send", url, "--tls-ca", "\(tls)/ca.pem", "--id", "tls"] + HTTPCommandTests.eventOptions, timeLimit: 30)
        #expect(trusted.status == 0, "\(trusted)")
        let run = await listener.finish(timeLimit: 120)
        #expect(run.status == 0, "\(run)")
        #expect(try AMQPCommandBroker.events(run).map(\.id) == ["tls"], "\(run.output)")
    }

}
