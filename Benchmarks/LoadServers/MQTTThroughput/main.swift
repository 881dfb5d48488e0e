import BenchmarkSample
import CloudEvents
import CloudEventsMQTT
import LoadServerSupport
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

// The CloudEvents side of Scripts/bench-mqtt (issue #5): publish → receive throughput through
// a local broker with MQTTClient, beside Benchmarks/MQTTThroughput/mqtt_throughput.c, which
// moves the same PUBLISH with bare libmosquitto.
//
// A subscriber client and a publisher client (MQTT 5, clean start), one unique topic. The
// publisher keeps WINDOW publishes in flight, each encoding the sample event in binary mode
// and returning when the broker acknowledged it at the QoS, and at most IN-TRANSIT
// published but not yet received (as the C side: mosquitto drops messages for a subscriber
// with 1000 queued); the subscriber decodes every delivery and accepts it. Measured from
// the first publish until the subscriber has received them all.
//
// Usage: MQTTThroughput HOST PORT QOS MESSAGES WINDOW IN-TRANSIT TIMEOUT-SECONDS
//          prints one line: `mqtt-throughput client=swift qos=Q messages=N window=W
//          in_transit=T seconds=S msgs_per_s=X`; exits 1 when not all arrived within the
//          timeout.
//        MQTTThroughput --wire
//          prints the PUBLISH parts of the sample event in binary mode, for the C side:
//          `content-type\t<value>`, one `user-property\t<name>\t<value>` per User Property
//          in order, then `payload\t<bytes>` (the JSON data, one line).

func printWire() throws {
    let message = try SampleEvent.event.mqttMessage(topic: "wire", qos: .atLeastOnce, mode: .binary)
    func checked(_ text: String) -> String {
        guard !text.contains("\t"), !text.contains("\n"), !text.contains("\r"), !text.utf8.contains(0) else {
            fail("'\(text)' cannot be written as one tab-separated field")
        }
        return text
    }
    var lines = ""
    if let contentType = message.contentType { lines += "content-type\t\(checked(contentType))\n" }
    for property in message.userProperties {
        lines += "user-property\t\(checked(property.name))\t\(checked(property.value))\n"
    }
    let payload = String(decoding: message.payload, as: UTF8.self)
    guard payload.utf8.elementsEqual(message.payload) else { fail("the payload is not UTF-8 text") }
    lines += "payload\t\(checked(payload))\n"
    emit(lines)
}

/// The deliveries the subscriber has received so far; the publisher waits on it to keep at
/// most IN-TRANSIT messages between publish and receipt.
final class ReceivedCount: Sendable {
    private struct State {
        var count = 0
        var waiter: (atLeast: Int, continuation: CheckedContinuation<Void, Never>)?
    }

    private let state = Mutex(State())

    var value: Int { state.withLock { $0.count } }

    /// Counts one delivery and returns the new count.
    func increment() -> Int {
        let (count, ready) = state.withLock { state -> (Int, CheckedContinuation<Void, Never>?) in
            state.count += 1
            guard let waiter = state.waiter, state.count >= waiter.atLeast else { return (state.count, nil) }
            state.waiter = nil
            return (state.count, waiter.continuation)
        }
        ready?.resume()
        return count
    }

    /// Returns once the count is at least `target` (one waiter at a time: the publisher).
    func wait(atLeast target: Int) async {
        guard state.withLock({ $0.count < target }) else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                guard state.count < target else { return true }
                state.waiter = (target, continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }
}

let received = ReceivedCount()
/// Publishes acknowledged so far, for the timeout report.
let acknowledgedCount = Atomic<Int>(0)

func run(host: String, port: Int, qos: MQTTQoS, messages: Int, window: Int, inTransit: Int, timeout: Int) async throws {
    // Bounded in time whatever happens: a run that does not finish fails.
    Task.detached {
        try await Task.sleep(for: .seconds(timeout))
        fail(
            "timed out after \(timeout) s: \(acknowledgedCount.load(ordering: .relaxed)) of \(messages) publishes acknowledged, \(received.value) received"
        )
    }
    let topic = "ce-bench/mqtt-throughput/swift-\(getpid())-\(time(nil))-\(UInt32.random(in: 0...UInt32.max))"
    func configuration(_ role: String) -> MQTTClientConfiguration {
        MQTTClientConfiguration(
            host: host, port: port, protocolVersion: .v5, clientID: "ce-bench-\(role)-\(getpid())", cleanStart: true,
            operationTimeout: .seconds(timeout))
    }
    let subscriber = try await MQTTClient.connect(configuration: configuration("sub"))
    let publisher = try await MQTTClient.connect(configuration: configuration("pub"))
    let deliveries = try await subscriber.subscribe(to: topic, qos: qos)
    let expectedID = SampleEvent.event.id

    let start = ContinuousClock.now
    let consumer = Task { () throws -> ContinuousClock.Instant in
        for try await delivery in deliveries {
            let event = try delivery.event()
            guard event.id == expectedID else { fail("received an event with id '\(event.id)'") }
            delivery.accept()
            if received.increment() == messages { return .now }
        }
        fail("the deliveries ended after \(received.value) of \(messages)")
    }
    try await withThrowingTaskGroup(of: Void.self) { group in
        for index in 0..<messages {
            if index >= window {
                try await group.next()
                acknowledgedCount.add(1, ordering: .relaxed)
            }
            if index >= inTransit { await received.wait(atLeast: index - inTransit + 1) }
            group.addTask {
                // Encoding is part of the cost measured.
                let message = try SampleEvent.event.mqttMessage(topic: topic, qos: qos, mode: .binary)
                try await publisher.publish(message)
            }
        }
        while try await group.next() != nil { acknowledgedCount.add(1, ordering: .relaxed) }
    }
    let end = try await consumer.value
    let elapsed = (end - start).components
    let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
    let tenThousandths = Int((seconds * 10_000).rounded())
    let fraction = String(tenThousandths % 10_000)
    emit(
        "mqtt-throughput client=swift qos=\(qos.rawValue) messages=\(messages) window=\(window) in_transit=\(inTransit) "
            + "seconds=\(tenThousandths / 10_000).\(String(repeating: "0", count: 4 - fraction.count))\(fraction) "
            + "msgs_per_s=\(Int((Double(messages) / seconds).rounded()))\n")
    await publisher.shutdown()
    await subscriber.shutdown()
}

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments == ["--wire"] {
    try printWire()
} else {
    guard arguments.count == 7,
        let port = Int(arguments[1]), let qosNumber = Int(arguments[2]), let qos = MQTTQoS(rawValue: qosNumber),
        let messages = Int(arguments[3]), messages > 0, let window = Int(arguments[4]), window > 0,
        let inTransit = Int(arguments[5]), inTransit > 0, let timeout = Int(arguments[6]), timeout > 0
    else {
        fail("usage: MQTTThroughput HOST PORT QOS MESSAGES WINDOW IN-TRANSIT TIMEOUT-SECONDS | MQTTThroughput --wire")
    }
    do {
        try await run(
            host: arguments[0], port: port, qos: qos, messages: messages, window: window, inTransit: inTransit, timeout: timeout)
    } catch {
        fail("\(error)")
    }
}
