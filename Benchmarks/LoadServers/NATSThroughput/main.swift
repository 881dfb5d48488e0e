import BenchmarkSample
import CloudEvents
import CloudEventsNATS
import LoadServerSupport
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

// The CloudEvents side of Scripts/bench-nats (issue #15): publish and publish → receive
// throughput through nats-server with the NATS binding, beside
// Benchmarks/NATSThroughput/nats_throughput.c, which writes pre-encoded protocol bytes to
// sockets. One process per role, as the C side, so that each role's CPU time is its own.
//
// Usage: NATSThroughput sub HOST PORT SUBJECT MESSAGES TIMEOUT-SECONDS
//          an NATSEventReceiver on SUBJECT; once the client's flush() says the SUB is in
//          place it prints `ready`, then decodes every delivery (delivery.event(), the id
//          checked) and accepts it, until MESSAGES; prints `nats-throughput role=sub
//          client=swift messages=N first_ns=F last_ns=L cpu_us=C`.
//        NATSThroughput pub HOST PORT SUBJECT MESSAGES TIMEOUT-SECONDS
//          an NATSEventSender to SUBJECT, binary mode: sends the sample event MESSAGES times
//          (encoded for every send), then flush(); prints `nats-throughput role=pub
//          client=swift messages=N start_ns=S end_ns=E cpu_us=C`.
//        NATSThroughput sub-client ... | pub-client ...   (the same arguments)
//          the NATS client alone, without the CloudEvents mapping: the publisher sends one
//          NATSMessage (the sample event encoded once) MESSAGES times with NATSClient.publish;
//          the subscriber counts with a bare NATSMessageConsumer on the event loop (no
//          decoding, no delivery stream). For telling the client's cost from the mapping's.
//        NATSThroughput sub-stream ...   (the same arguments)
//          the subscriber without NATSEventReceiver: NATSClient.messages(on:) and
//          NATSMessageReader(message).event() on the consumer's task (no Delivery, no
//          DeliveryStream); `client=stream` in the result line.
//        Times are CLOCK_MONOTONIC nanoseconds (comparable with the C side's and between the
//        two processes); cpu_us is getrusage user + system from the start (the publisher)
//        or `ready` (the subscriber) to the end. Exits 1 on a failure or when the run has
//        not finished within the timeout.
//        NATSThroughput --wire
//          prints the sample event's binary-mode NATS message for the C publisher:
//          `headers\t<the header block in hex>` and `payload\t<the payload in hex>`.
//        NATSThroughput --codec N
//          the mapping and the protocol codec alone, N times each, one thread: prints
//          `nats-codec encode_us=E hmsg_us=H decode_us=D` (µs of this thread's CPU time per
//          message: event → NATSMessage → HPUB bytes; HMSG bytes → NATSMessage through
//          NATSServerCommandDecoder; NATSMessage → event). Runs under callgrind, which the
//          async roles above do not (valgrind 3.19 stops in libdispatch).

struct Run {
    var host: String
    var port: Int
    var subject: String
    var messages: Int
    var timeout: Int

    var configuration: NATSClientConfiguration {
        var configuration = NATSClientConfiguration(host: host, port: port)
        configuration.name = "ce-bench-swift"
        configuration.operationTimeout = .seconds(timeout)
        return configuration
    }
}

/// Messages counted so far, for the timeout report.
let progress = Atomic<Int>(0)

func publish(_ run: Run, clientAlone: Bool) async throws {
    startDeadline(seconds: run.timeout) { "\(progress.load(ordering: .relaxed)) of \(run.messages) published" }
    let client = try await NATSClient.connect(configuration: run.configuration)
    let sender = try NATSEventSender(client: client, subject: run.subject, mode: .binary)
    let message = try NATSMessage(subject: run.subject, event: SampleEvent.event, mode: .binary)
    let cpuStart = processCPUMicroseconds()
    let start = monotonicNanoseconds()
    for index in 0..<run.messages {
        if clientAlone {
            try await client.publish(message)
        } else {
            // Encoding is part of the cost measured.
            try await sender.send(SampleEvent.event)
        }
        if index & 1023 == 0 { progress.store(index, ordering: .relaxed) }
    }
    try await client.flush()
    let end = monotonicNanoseconds()
    let cpu = processCPUMicroseconds() - cpuStart
    emit(
        "nats-throughput role=pub client=\(clientAlone ? "client" : "swift") messages=\(run.messages) "
            + "start_ns=\(start) end_ns=\(end) cpu_us=\(cpu)\n")
    await client.close()
}

func subscribe(_ run: Run) async throws {
    startDeadline(seconds: run.timeout) { "\(progress.load(ordering: .relaxed)) of \(run.messages) received" }
    let client = try await NATSClient.connect(configuration: run.configuration)
    let receiver = try await NATSEventReceiver.subscribe(client: client, subject: run.subject)
    try await client.flush()
    emit("ready\n")
    let cpuStart = processCPUMicroseconds()
    let expectedID = SampleEvent.event.id
    var first: Int64 = 0
    var count = 0
    for try await delivery in receiver.deliveries() {
        let event = try delivery.event()
        guard event.id == expectedID else { fail("received an event with id '\(event.id)'") }
        delivery.accept()
        count += 1
        if first == 0 { first = monotonicNanoseconds() }
        if count & 1023 == 0 { progress.store(count, ordering: .relaxed) }
        if count == run.messages { break }
    }
    let last = monotonicNanoseconds()
    let cpu = processCPUMicroseconds() - cpuStart
    guard count == run.messages else { fail("the deliveries ended after \(count) of \(run.messages)") }
    emit(
        "nats-throughput role=sub client=swift messages=\(run.messages) first_ns=\(first) last_ns=\(last) cpu_us=\(cpu)\n")
    await client.close()
}

/// The receive path without the delivery machinery: NATSClient.messages (the client's own
/// AsyncSequence) and NATSMessageReader.event() on the consumer's task, for telling the cost
/// of the bridge and DeliveryStream from the decoding's.
func subscribeStream(_ run: Run) async throws {
    startDeadline(seconds: run.timeout) { "\(progress.load(ordering: .relaxed)) of \(run.messages) received" }
    let client = try await NATSClient.connect(configuration: run.configuration)
    let messages = try await client.messages(on: run.subject)
    try await client.flush()
    emit("ready\n")
    let cpuStart = processCPUMicroseconds()
    let expectedID = SampleEvent.event.id
    var first: Int64 = 0
    var count = 0
    for try await message in messages {
        let event = try NATSMessageReader(message).event()
        guard event.id == expectedID else { fail("received an event with id '\(event.id)'") }
        count += 1
        if first == 0 { first = monotonicNanoseconds() }
        if count & 1023 == 0 { progress.store(count, ordering: .relaxed) }
        if count == run.messages { break }
    }
    let last = monotonicNanoseconds()
    let cpu = processCPUMicroseconds() - cpuStart
    guard count == run.messages else { fail("the messages ended after \(count) of \(run.messages)") }
    emit(
        "nats-throughput role=sub client=stream messages=\(run.messages) first_ns=\(first) last_ns=\(last) cpu_us=\(cpu)\n")
    await client.close()
}

/// Counts messages on the event loop and wakes the main task at the last one.
final class Counter: Sendable {
    private struct State {
        var count = 0
        var first: Int64 = 0
        var last: Int64 = 0
        var done: CheckedContinuation<Void, Never>?
        var finished = false
    }

    private let state = Mutex(State())
    let target: Int

    init(target: Int) { self.target = target }

    func count() {
        let (count, done) = state.withLock { state -> (Int, CheckedContinuation<Void, Never>?) in
            state.count += 1
            if state.count == 1 { state.first = monotonicNanoseconds() }
            guard state.count == target else { return (state.count, nil) }
            state.last = monotonicNanoseconds()
            state.finished = true
            defer { state.done = nil }
            return (state.count, state.done)
        }
        if count & 1023 == 0 { progress.store(count, ordering: .relaxed) }
        done?.resume()
    }

    /// Returns the first and last message's times once all arrived.
    func wait() async -> (first: Int64, last: Int64) {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let finished = state.withLock { state -> Bool in
                if !state.finished { state.done = continuation }
                return state.finished
            }
            if finished { continuation.resume() }
        }
        return state.withLock { ($0.first, $0.last) }
    }
}

func subscribeClientAlone(_ run: Run) async throws {
    startDeadline(seconds: run.timeout) { "\(progress.load(ordering: .relaxed)) of \(run.messages) received" }
    let client = try await NATSClient.connect(configuration: run.configuration)
    let counter = Counter(target: run.messages)
    _ = try await client.subscribe(
        to: run.subject,
        consumer: NATSMessageConsumer(
            deliver: { _, _ in
                counter.count()
                return .taken
            }, finish: { _ in }))
    try await client.flush()
    emit("ready\n")
    let cpuStart = processCPUMicroseconds()
    let (first, last) = await counter.wait()
    let cpu = processCPUMicroseconds() - cpuStart
    emit(
        "nats-throughput role=sub client=client messages=\(run.messages) first_ns=\(first) last_ns=\(last) cpu_us=\(cpu)\n")
    await client.close()
}

let arguments = Array(CommandLine.arguments.dropFirst())
let usage =
    "usage: NATSThroughput sub|pub|sub-client|pub-client|sub-stream HOST PORT SUBJECT MESSAGES TIMEOUT-SECONDS | --wire | --codec N"
if arguments == ["--wire"] {
    try printWire()
} else if arguments.count == 2, arguments[0] == "--codec", let count = Int(arguments[1]), count > 0 {
    try measureCodec(count)
} else {
    guard arguments.count == 6, ["sub", "pub", "sub-client", "pub-client", "sub-stream"].contains(arguments[0]),
        let port = Int(arguments[2]), let messages = Int(arguments[4]), messages > 0,
        let timeout = Int(arguments[5]), timeout > 0
    else { fail(usage) }
    let run = Run(host: arguments[1], port: port, subject: arguments[3], messages: messages, timeout: timeout)
    do {
        switch arguments[0] {
        case "sub": try await subscribe(run)
        case "pub": try await publish(run, clientAlone: false)
        case "sub-client": try await subscribeClientAlone(run)
        case "sub-stream": try await subscribeStream(run)
        default: try await publish(run, clientAlone: true)
        }
    } catch {
        fail("\(error)")
    }
}
