import BenchmarkSample
import CloudEvents
import CloudEventsAMQP
import LoadServerSupport
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

// The CloudEvents side of Scripts/bench-amqp (issue #14): send → receive throughput, settled,
// with the AMQP binding, beside Benchmarks/AMQPThroughput/amqp_throughput.c, which moves the
// same message with bare qpid-proton.
//
// broker: a receiver connection with an AMQPEventReceiver on the queue ADDRESS, then a sender
//         connection with an AMQPEventSender to it (RabbitMQ declares `/queue/NAME`).
// peer:   an AMQPListener on 127.0.0.1 (an ephemeral port) as the receiver, and a sender
//         connection to it with an AMQPEventSender to ADDRESS.
// The sender keeps WINDOW sends in flight, each encoding the sample event in binary mode and
// returning when the receiver's accepted disposition arrived, and at most IN-TRANSIT sent but
// not yet received; the receiver grants CREDIT, decodes every delivery (delivery.event()) and
// accepts it. Measured from the first send until every message is received and accepted.
//
// Usage: AMQPThroughput broker HOST PORT USER PASSWORD ADDRESS MESSAGES WINDOW IN-TRANSIT CREDIT TIMEOUT-SECONDS
//        AMQPThroughput peer ADDRESS MESSAGES WINDOW IN-TRANSIT CREDIT TIMEOUT-SECONDS
//          prints one line: `amqp-throughput client=swift mode=M messages=N window=W
//          in_transit=T credit=C seconds=S msgs_per_s=X`; exits 1 on a failure or when the
//          run has not finished within the timeout. USER may be `-` (SASL ANONYMOUS).
//        AMQPThroughput broker-engine ... | peer-engine ...   (the same arguments)
//          the connection engine alone, without the CloudEvents mapping: the sample event's
//          AMQP bytes encoded once and sent with AMQPSenderLink.send, every delivery accepted
//          by a bare AMQPDeliveryConsumer on the receiving loop thread (no decoding, no
//          delivery stream); `mode=broker-engine` or `peer-engine` in the result line. For
//          telling the engine's cost per message from the mapping's.
//        AMQPThroughput --wire
//          prints the AMQP message the binding sends for the sample event in binary mode,
//          for the C side: one line, `amqp\t<the encoded message in hex>`.
//        AMQPThroughput --codec N
//          the mapping alone, N times each, one thread: the sample event to AMQP bytes
//          (AMQPMessage + AMQPMessageCodec.encode) and back (decode, AMQPMessageReader,
//          event()); prints `amqp-codec encode_us=E decode_us=D` (µs of this thread's CPU
//          time per message), to tell the mapping's share of the Swift side's CPU per
//          message from the transport's.

func printWire() throws {
    let bytes = try AMQPMessageCodec.encode(try AMQPMessage(SampleEvent.event, mode: .binary))
    let digits = Array("0123456789abcdef".utf8)
    var hex = [UInt8]()
    hex.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        hex.append(digits[Int(byte >> 4)])
        hex.append(digits[Int(byte & 0x0f)])
    }
    emit("amqp\t\(String(decoding: hex, as: UTF8.self))\n")
}

func measureCodec(_ count: Int) throws {
    var bytes: [UInt8] = []
    let start = threadCPUSeconds()
    for _ in 0..<count { bytes = try AMQPMessageCodec.encode(try AMQPMessage(SampleEvent.event, mode: .binary)) }
    let encoded = threadCPUSeconds()
    var id = ""
    for _ in 0..<count {
        let message = try bytes.withUnsafeBytes { try AMQPMessageCodec.decode($0) }
        id = try AMQPMessageReader(message).message().event().id
    }
    let decoded = threadCPUSeconds()
    guard id == SampleEvent.event.id else { fail("the decoded event has id '\(id)'") }
    func microseconds(_ seconds: Double) -> String {
        let hundredths = Int((seconds / Double(count) * 1e8).rounded())
        return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
    }
    emit(
        "amqp-codec messages=\(count) encode_us=\(microseconds(encoded - start)) "
            + "decode_us=\(microseconds(decoded - encoded))\n")
}

/// The deliveries the receiver has taken so far; the sender waits on it to keep at most
/// IN-TRANSIT messages between send and receipt, and an engine-only run for the last one.
final class ReceivedCount: Sendable {
    private struct State {
        var count = 0
        var waiters: [(atLeast: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state = Mutex(State())

    var value: Int { state.withLock { $0.count } }

    /// Counts one delivery and returns the new count.
    func increment() -> Int {
        let (count, ready) = state.withLock { state -> (Int, [CheckedContinuation<Void, Never>]) in
            state.count += 1
            guard state.waiters.contains(where: { state.count >= $0.atLeast }) else { return (state.count, []) }
            let count = state.count
            let ready = state.waiters.filter { count >= $0.atLeast }.map(\.continuation)
            state.waiters.removeAll { count >= $0.atLeast }
            return (count, ready)
        }
        for continuation in ready { continuation.resume() }
        return count
    }

    /// Returns once the count is at least `target`.
    func wait(atLeast target: Int) async {
        guard state.withLock({ $0.count < target }) else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                guard state.count < target else { return true }
                state.waiters.append((target, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }
}

let received = ReceivedCount()
/// Sends accepted so far, for the timeout report.
let acceptedCount = Atomic<Int>(0)

struct Options {
    var peer: Bool
    var engineOnly = false
    var host = "127.0.0.1", port = 0, user = "-", password = "-"
    var address: String
    var messages: Int, window: Int, inTransit: Int, credit: Int, timeout: Int
}

/// Receives `options.messages` deliveries: decodes each, accepts it; returns the time of the last.
func consume(_ deliveries: DeliveryStream, messages: Int) async throws -> ContinuousClock.Instant {
    let expectedID = SampleEvent.event.id
    for try await delivery in deliveries {
        let event = try delivery.event()
        guard event.id == expectedID else { fail("received an event with id '\(event.id)'") }
        _ = delivery.accept()
        if received.increment() == messages { return .now }
    }
    fail("the deliveries ended after \(received.value) of \(messages)")
}

/// Runs `send` `options.messages` times, WINDOW at a time.
func produce(options: Options, _ send: @escaping @Sendable () async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for index in 0..<options.messages {
            if index >= options.window {
                try await group.next()
                acceptedCount.add(1, ordering: .relaxed)
            }
            if index >= options.inTransit { await received.wait(atLeast: index - options.inTransit + 1) }
            group.addTask { try await send() }
        }
        while try await group.next() != nil { acceptedCount.add(1, ordering: .relaxed) }
    }
}

func run(_ options: Options) async throws {
    // Bounded in time whatever happens: a run that does not finish fails.
    Task.detached {
        try await Task.sleep(for: .seconds(options.timeout))
        fail(
            "timed out after \(options.timeout) s: \(acceptedCount.load(ordering: .relaxed)) of \(options.messages) sends accepted, \(received.value) received"
        )
    }
    func configuration(_ role: String, port: Int, credentials: Bool) -> AMQPConnectionConfiguration {
        AMQPConnectionConfiguration(
            host: options.host, port: port,
            sasl: credentials ? .plain(username: options.user, password: options.password) : .anonymous,
            containerID: "ce-bench-swift-\(role)-\(getpid())", operationTimeout: .seconds(options.timeout))
    }
    let credentials = !options.peer && options.user != "-"
    let receiverConnection: AMQPConnection?
    let listener: AMQPListener?
    // nil in engine-only runs, whose consumer accepts each delivery and counts it at once.
    let deliveries: DeliveryStream?
    let senderPort: Int
    let engineConsumer = AMQPDeliveryConsumer(
        deliver: { delivery, _ in
            delivery.settle(.accepted)
            _ = received.increment()
            return .taken
        },
        finish: { _ in })
    if options.peer && options.engineOnly {
        let peer = try await AMQPListener.listen(
            host: options.host, port: 0, credit: options.credit, consumer: engineConsumer)
        listener = peer
        receiverConnection = nil
        deliveries = nil
        senderPort = peer.port
    } else if options.engineOnly {
        let connection = try await AMQPConnection.connect(
            configuration: configuration("receiver", port: options.port, credentials: credentials))
        _ = try await connection.openReceiver(address: options.address, credit: options.credit, consumer: engineConsumer)
        listener = nil
        receiverConnection = connection
        deliveries = nil
        senderPort = options.port
    } else if options.peer {
        // What AMQPEventReceiver does for a receiver link, for the listener's peer links.
        let bridge = AMQPDeliveryBridge(capacity: options.credit)
        let peer = try await AMQPListener.listen(
            host: options.host, port: 0, credit: options.credit, consumer: bridge.consumer)
        listener = peer
        receiverConnection = nil
        deliveries = bridge.stream
        senderPort = peer.port
    } else {
        let connection = try await AMQPConnection.connect(
            configuration: configuration("receiver", port: options.port, credentials: credentials))
        let receiver = try await AMQPEventReceiver.open(
            connection: connection, address: options.address, credit: options.credit)
        listener = nil
        receiverConnection = connection
        deliveries = receiver.deliveries()
        senderPort = options.port
    }
    let senderConnection = try await AMQPConnection.connect(
        configuration: configuration("sender", port: senderPort, credentials: credentials))
    let send: @Sendable () async throws -> Void
    if options.engineOnly {
        let link = try await senderConnection.openSender(address: options.address)
        let bytes = try AMQPMessageCodec.encode(try AMQPMessage(SampleEvent.event, mode: .binary))
        send = { try await link.send(bytes) }
    } else {
        let sender = try await AMQPEventSender.open(
            connection: senderConnection, address: options.address, mode: .binary)
        // Encoding is part of the cost measured: the sender encodes the event per send.
        send = { try await sender.send(SampleEvent.event) }
    }

    let start = ContinuousClock.now
    let messages = options.messages
    let consumer = Task { () async throws -> ContinuousClock.Instant in
        guard let deliveries else {
            await received.wait(atLeast: messages)
            return .now
        }
        return try await consume(deliveries, messages: messages)
    }
    try await produce(options: options, send)
    let lastAccepted = ContinuousClock.now
    let end = max(try await consumer.value, lastAccepted)
    let elapsed = (end - start).components
    let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
    let tenThousandths = Int((seconds * 10_000).rounded())
    let fraction = String(tenThousandths % 10_000)
    emit(
        "amqp-throughput client=swift mode=\(options.peer ? "peer" : "broker")\(options.engineOnly ? "-engine" : "") "
            + "messages=\(messages) "
            + "window=\(options.window) in_transit=\(options.inTransit) credit=\(options.credit) "
            + "seconds=\(tenThousandths / 10_000).\(String(repeating: "0", count: 4 - fraction.count))\(fraction) "
            + "msgs_per_s=\(Int((Double(messages) / seconds).rounded()))\n")
    await senderConnection.close()
    await receiverConnection?.close()
    await listener?.close()
}

func parse(_ arguments: [String]) -> Options? {
    func numbers(_ texts: ArraySlice<String>) -> [Int]? {
        let values = texts.compactMap { Int($0) }.filter { $0 > 0 }
        return values.count == texts.count ? values : nil
    }
    let engineOnly = arguments.first?.hasSuffix("-engine") ?? false
    let mode = engineOnly ? String(arguments[0].dropLast("-engine".count)) : arguments.first
    if arguments.count == 11, mode == "broker", let port = Int(arguments[2]), port > 0,
        let values = numbers(arguments[6...])
    {
        return Options(
            peer: false, engineOnly: engineOnly, host: arguments[1], port: port, user: arguments[3], password: arguments[4],
            address: arguments[5], messages: values[0], window: values[1], inTransit: values[2], credit: values[3],
            timeout: values[4])
    }
    if arguments.count == 7, mode == "peer", let values = numbers(arguments[2...]) {
        return Options(
            peer: true, engineOnly: engineOnly, address: arguments[1], messages: values[0], window: values[1],
            inTransit: values[2],
            credit: values[3], timeout: values[4])
    }
    return nil
}

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments == ["--wire"] {
    do { try printWire() } catch { fail("cannot encode the sample event: \(error)") }
} else if arguments.count == 2, arguments[0] == "--codec", let count = Int(arguments[1]), count > 0 {
    do { try measureCodec(count) } catch { fail("\(error)") }
} else {
    guard let options = parse(arguments) else {
        fail(
            "usage: AMQPThroughput broker HOST PORT USER PASSWORD ADDRESS MESSAGES WINDOW IN-TRANSIT CREDIT TIMEOUT-SECONDS"
                + " | AMQPThroughput peer ADDRESS MESSAGES WINDOW IN-TRANSIT CREDIT TIMEOUT-SECONDS"
                + " (broker-engine, peer-engine: the engine alone) | AMQPThroughput --wire | AMQPThroughput --codec N")
    }
    do {
        try await run(options)
    } catch {
        fail("\(error)")
    }
}
