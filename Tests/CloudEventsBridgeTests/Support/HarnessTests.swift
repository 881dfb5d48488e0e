import AsyncHTTPClient
import CloudEvents
import CloudEventsMQTT
import CloudEventsTestSupport
import Foundation
import NIOCore
import NIOHTTP1
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The fault tests' harness, tested on its own: a sink that answers as told and goes down
/// and up on one port, child processes that really get SIGTERM, and the publisher's shapes.
@Suite(.timeLimit(.minutes(1)))
struct HarnessTests {
    /// POSTs `event` in HTTP binary mode to `sink`; returns the status and `Retry-After`.
    private func post(
        _ event: CloudEvent, to sink: ControllableSink, timeout: TimeAmount = .seconds(60)
    ) async throws -> (status: Int, retryAfter: String?) {
        var request = HTTPClientRequest(url: sink.url)
        request.method = .POST
        request.headers.add(name: "ce-specversion", value: "1.0")
        request.headers.add(name: "ce-id", value: event.id)
        request.headers.add(name: "ce-source", value: event.source)
        request.headers.add(name: "ce-type", value: event.type)
        if let subject = event.subject { request.headers.add(name: "ce-subject", value: subject) }
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: event.data?.bodyBytes(contentType: event.dataContentType) ?? []))
        let response = try await HTTPClient.shared.execute(request, timeout: timeout)
        _ = try await response.body.collect(upTo: 1 << 16)
        return (Int(response.status.code), response.headers.first(name: "retry-after"))
    }

    @Test func theSinkAnswersAsToldAndRecordsWhatItAccepted() async throws {
        try await ControllableSink.withSink { sink in
            let prefix = "h"
            #expect(try await post(TestEvents.event(0, prefix: prefix), to: sink).status == 202)
            #expect(try await post(TestEvents.event(0, prefix: prefix), to: sink).status == 202, "a duplicate is accepted")
            #expect(try await post(TestEvents.event(4, prefix: prefix), to: sink).status == 202)

            sink.behaviour = .status(500)
            #expect(try await post(TestEvents.event(1, prefix: prefix), to: sink).status == 500)
            sink.behaviour = .status(429, retryAfter: "1")
            let throttled = try await post(TestEvents.event(1, prefix: prefix), to: sink)
            #expect(throttled.status == 429 && throttled.retryAfter == "1")

            sink.behaviour = .reject(ids: [TestEvents.id(2, prefix: prefix)])
            #expect(try await post(TestEvents.event(2, prefix: prefix), to: sink).status == 400)
            #expect(try await post(TestEvents.event(3, prefix: prefix), to: sink).status == 202)

            sink.behaviour = .slow(.milliseconds(300))
            let clock = ContinuousClock()
            let start = clock.now
            #expect(try await post(TestEvents.event(1, prefix: prefix), to: sink).status == 202)
            #expect(clock.now - start >= .milliseconds(300))

            #expect(sink.acceptedIDs == ["h-0", "h-0", "h-4", "h-3", "h-1"])
            #expect(sink.distinctIDs == ["h-0", "h-1", "h-3", "h-4"])
            #expect(sink.duplicateCount == 1)
            #expect(sink.firstAcceptanceOrder(subject: "key-0") == ["h-0", "h-4"])
            #expect(sink.statusCounts == [202: 5, 500: 1, 429: 1, 400: 1])
            #expect(sink.latestRequests.last?.header("CE-Subject") == "key-1")
            #expect(sink.undecodableRequests.isEmpty)
            #expect(await sink.waitUntil(distinct: 4, prefix: "h-", timeout: .seconds(1)))
            #expect(await !sink.waitUntil(distinct: 5, timeout: .milliseconds(100)))
        }
    }

    @Test func aRequestThatIsNotACloudEventIsAnswered400AndRecorded() async throws {
        try await ControllableSink.withSink { sink in
            var request = HTTPClientRequest(url: sink.url)
            request.method = .POST
            request.body = .bytes(ByteBuffer(string: "not an event"))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            #expect(response.status.code == 400)
            #expect(sink.undecodableRequests.count == 1)
            #expect(sink.distinctIDs.isEmpty)
        }
    }

    @Test func theSinkGoesDownAndComesBackOnTheSamePort() async throws {
        try await ControllableSink.withSink { sink in
            #expect(try await post(TestEvents.event(0, prefix: "d"), to: sink).status == 202)
            await sink.stop()
            #expect(!TCPProbe.accepts(host: "127.0.0.1", port: sink.port, timeoutMilliseconds: 500), "nothing listens")
            // The client retries a refused connection until its deadline: a short one.
            await #expect(throws: (any Error).self) {
                try await post(TestEvents.event(1, prefix: "d"), to: sink, timeout: .milliseconds(300))
            }
            try await sink.start()
            #expect(TCPProbe.accepts(host: "127.0.0.1", port: sink.port, timeoutMilliseconds: 500))
            #expect(try await post(TestEvents.event(2, prefix: "d"), to: sink).status == 202)
            #expect(sink.distinctIDs == ["d-0", "d-2"])
        }
    }

    @Test func aSpawnedProcessGetsSIGTERMAndCanBeKilled() async throws {
        try await withTemporaryDirectory("spawn") { directory in
            // The shell exits 7 on TERM only if TERM reaches it (not blocked by an inherited mask).
            let graceful = try SpawnedProcess(
                "/bin/sh", ["-c", "trap 'exit 7' TERM; echo up; while :; do sleep 0.05; done"], outputPath: "\(directory)/a.log")
            #expect(await pollUntil(timeout: .seconds(30)) { graceful.output.contains("up") })
            graceful.signal(SIGTERM)
            #expect(await graceful.waitForExit(timeout: .seconds(5)) == .exited(7))

            // (dash dies of a TERM that arrives while it waits for a child, trap or not.)
            let ignoring =
                "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(30)"
            let stubborn = try SpawnedProcess("/usr/bin/python3", ["-c", ignoring], outputPath: "\(directory)/b.log")
            #expect(await pollUntil(timeout: .seconds(30)) { stubborn.output.contains("up") })
            stubborn.signal(SIGTERM)
            #expect(await stubborn.waitForExit(timeout: .milliseconds(300)) == nil, "ignored TERM")
            stubborn.signal(SIGKILL)
            #expect(await stubborn.waitForExit(timeout: .seconds(5)) == .signalled(SIGKILL))
        }
    }

    @Test func aSpawnedProcessInheritsNoDescriptorButItsOutput() async throws {
        try await withTemporaryDirectory("fds") { directory in
            try await ControllableSink.withSink { _ in
                // The sink's listening socket is open in this process; the child must not hold it.
                let child = try SpawnedProcess(
                    "/usr/bin/python3", ["-c", "import os; print(sorted(os.listdir('/proc/self/fd')))"],
                    outputPath: "\(directory)/fds.log")
                #expect(await child.waitForExit(timeout: .seconds(10)) == .exited(0))
                // 3 is the directory listdir itself opened.
                #expect(child.output == "['0', '1', '2', '3']\n")
            }
        }
    }

    @Test func theCEBinaryIsFound() throws {
        let executable = try BridgeProcess.executable()
        #expect(FileManager.default.isExecutableFile(atPath: executable))
    }
}

/// The publisher's three shapes arrive at a plain subscriber as the same events.
@Suite(.mqttBroker, .timeLimit(.minutes(1)))
struct PublisherHarnessTests {
    @Test(arguments: EventPublisher.Encoding.allCases)
    func eachEncodingArrivesAsTheEvent(_ encoding: EventPublisher.Encoding) async throws {
        let topic = Broker.uniqueTopic("enc")
        let prefix = Broker.uniqueID("enc")
        // A 3.1.1 message has no properties: only a 3.1.1 subscriber reads it as structured.
        let configuration = MQTTClientConfiguration(
            host: Broker.host, port: Broker.port, protocolVersion: encoding == .mqtt311Structured ? .v311 : .v5,
            clientID: Broker.uniqueID("sub"), cleanStart: true, operationTimeout: .seconds(30))
        try await MQTTClient.withClient(configuration: configuration) { subscriber in
            let stream = try await subscriber.subscribe(to: "\(topic)/#")
            try await EventPublisher.withPublisher { publisher in
                try await publisher.publish(0..<3, prefix: prefix, topic: topic, as: encoding)
            }
            let received = try await withTimeout(.seconds(60), "3 events from \(topic)") {
                var received: [CloudEvent] = []
                for try await delivery in stream {
                    received.append(try delivery.event())
                    if received.count == 3 { break }
                }
                return received
            }
            #expect(received.map(\.id) == (0..<3).map { TestEvents.id($0, prefix: prefix) })
            #expect(received.first?.subject == "key-0")
            #expect(received.first?.extensions["seq"] == .string("0"))
        }
    }

    @Test func aPrivateBrokerRestartsOnItsPort() async throws {
        try await withTemporaryDirectory("mosq") { directory in
            let broker = try await PrivateMosquitto(directory: directory)
            try await broker.restart()
            let configuration = MQTTClientConfiguration(
                host: "127.0.0.1", port: broker.port, clientID: Broker.uniqueID("p"), cleanStart: true,
                operationTimeout: .seconds(5))
            try await MQTTClient.withClient(configuration: configuration) { client in
                try await client.publish(MQTTMessage(topic: "t", payload: [1]))
            }
            await broker.stop()
        }
    }
}
