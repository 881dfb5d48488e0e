import CloudEvents
import Testing

/// `ce bridge` from the shared mosquitto to a sink that fails in the ways sinks fail: down,
/// erroring, throttling, slow, refusing one event. Each test ends with every published id
/// accepted (duplicates allowed, counted and printed).
@Suite(.mqttBroker, .timeLimit(.minutes(2)))
struct SinkFaultTests {
    @Test func aSinkDownMidStreamLosesNothing() async throws {
        try await FaultRun.with("sinkdown") { run in
            try await run.startBridge(run.route())
            try await EventPublisher.withPublisher { publisher in
                try await publisher.publish(0..<50, prefix: run.prefix, topic: run.topic, interval: .milliseconds(5))
                // The stream flows before the sink goes down.
                #expect(await run.sink.waitUntil(distinct: 1, timeout: .seconds(60)), "nothing arrived before the outage")
                await run.sink.stop()
                try await publisher.publish(50..<150, prefix: run.prefix, topic: run.topic, interval: .milliseconds(5))
                try await Task.sleep(for: .seconds(2))
                try await run.sink.start()
            }
            await run.expectDelivered(TestEvents.ids(0..<150, prefix: run.prefix))
        }
    }

    @Test func aSinkAnswering500Then429WithRetryAfterThen202LosesNothing() async throws {
        try await FaultRun.with("errors") { run in
            run.sink.behaviour = .status(500)
            var route = run.route()
            // Enough attempts for the scripted errors: answers count against the attempts.
            route.extraArguments = ["--max-attempts", "50"]
            try await run.startBridge(route)
            try await EventPublisher.withPublisher { publisher in
                try await publisher.publish(0..<60, prefix: run.prefix, topic: run.topic, interval: .milliseconds(5))
            }
            #expect(await run.sink.waitUntil(answered: 500, count: 4, timeout: .seconds(60)))
            run.sink.behaviour = .status(429, retryAfter: "1")
            #expect(await run.sink.waitUntil(answered: 429, count: 4, timeout: .seconds(60)))
            try await Task.sleep(for: .milliseconds(1500))
            run.sink.behaviour = .accept
            await run.expectDelivered(TestEvents.ids(0..<60, prefix: run.prefix))
            print("[errors] answers: \(run.sink.statusCounts)")

            // Retry-After: 1 was honoured: an event answered 429 came back a second later at the earliest.
            let requests = run.sink.latestRequests
            var early: [String] = []
            for (index, request) in requests.enumerated() where request.status == 429 {
                guard let id = request.event?.id,
                    let next = requests[(index + 1)...].first(where: { $0.event?.id == id })
                else { continue }
                if next.receivedAt - request.receivedAt < .milliseconds(900) { early.append(id) }
            }
            #expect(early.isEmpty, "sent again less than 1 s after 429 with Retry-After: 1: \(early.prefix(5))")
        }
    }

    @Test func aSlowSinkIsSentToInParallelAcrossKeysInOrderWithinEach() async throws {
        try await FaultRun.with("slow") { run in
            run.sink.behaviour = .slow(.milliseconds(200))
            var route = run.route()
            route.extraArguments = ["--max-in-flight", "8"]
            try await run.startBridge(route)
            let keys = 8
            try await EventPublisher.withPublisher { publisher in
                try await publisher.publish(0..<80, prefix: run.prefix, topic: run.topic, keys: keys)
            }
            await run.expectDelivered(TestEvents.ids(0..<80, prefix: run.prefix))
            print("[slow] at most \(run.sink.maximumInFlight) requests at once")
            #expect(run.sink.maximumInFlight > 1, "one request at a time: no parallelism across keys")
            #expect(run.sink.maximumInFlight <= 8, "more than --max-in-flight at once")
            for key in 0..<keys {
                let order = run.sink.firstAcceptanceOrder(subject: "key-\(key)")
                let expected = Array(stride(from: key, to: 80, by: keys)).map { TestEvents.id($0, prefix: run.prefix) }
                #expect(order == expected, "key-\(key) out of order")
            }
        }
    }

    @Test func aPoisonEventGoesToTheDeadLetterSinkWhileTheRestFlow() async throws {
        try await FaultRun.with("poison") { run in
            try await ControllableSink.withSink { deadLetters in
                let poison = TestEvents.id(17, prefix: run.prefix)
                run.sink.behaviour = .reject(ids: [poison])
                var route = run.route()
                route.deadLetterURL = deadLetters.url
                try await run.startBridge(route)
                try await EventPublisher.withPublisher { publisher in
                    try await publisher.publish(0..<60, prefix: run.prefix, topic: run.topic)
                }
                let published = TestEvents.ids(0..<60, prefix: run.prefix)
                await run.expectDelivered(published, to: [run.sink, deadLetters])
                #expect(run.sink.distinctIDs == published.subtracting([poison]), "the rest, including the poison's key, flowed")
                #expect(deadLetters.distinctIDs == [poison])
                let letter = deadLetters.acceptedEvents.first
                print("[poison] dead letter: \(letter.map { "\($0.extensions)" } ?? "none")")
                #expect(letter?.type == TestEvents.type && letter?.subject == "key-1", "the event itself, dead-lettered")
            }
        }
    }

    @Test func aFullBufferPausesTheSourceAndLosesNothing() async throws {
        try await FaultRun.with("full") { run in
            var route = run.route()
            // A few events' worth: the sink is down, so the buffer fills at once.
            route.extraArguments = ["--max-buffer-bytes", "4096", "--metrics-listen", "127.0.0.1:0"]
            let bridge = try await run.startBridge(route)
            await run.sink.stop()
            try await EventPublisher.withPublisher { publisher in
                try await publisher.publish(0..<120, prefix: run.prefix, topic: run.topic, interval: .milliseconds(2))
            }
            #expect(
                await bridge.waitForOutput(containing: "the buffer is full", timeout: .seconds(30)),
                "the source was not paused:\n\(bridge.stderrTail())")
            try await Task.sleep(for: .seconds(1))
            try await run.sink.start()
            await run.expectDelivered(TestEvents.ids(0..<120, prefix: run.prefix))
            #expect(bridge.stderr.contains("the source resumes"))
            #expect(try await bridge.metric("ce_bridge_dropped_total") == 0, "a full buffer never drops")
            #expect(try await bridge.metric("ce_bridge_delivered_total") == Double(run.sink.acceptedIDs.count))
        }
    }
}
