import BenchmarkSample
import CloudEvents
import CloudEventsMQTT
import LoadServerSupport
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

// The load side of Scripts/bench-bridge (issue #13): the MQTT publisher and the HTTP sink of
// one `ce bridge` run, in one process, and the sampler of the bridge's CPU time and RSS.
//
// 1. Starts the sink (SwiftNIO HTTP/1.1, keep-alive, ONE event-loop thread) on 127.0.0.1,
//    port 0, and prints `port N`; it answers every request 202 with no body, counts the
//    distinct `ce-id`s (and the duplicates), and takes each event's end-to-end latency as
//    its arrival time minus its `ce-time`, which the publisher set to the publish instant
//    (wall clock: publisher and sink share this process's clock).
// 2. Waits for PID-FILE (written by the script once it started `ce bridge`), then publishes
//    a probe event every 100 ms to PREFIX/probe until one reaches the sink: the bridge is
//    then subscribed and delivering (a probe published before it subscribed is lost, which
//    is why they repeat). Probes are not counted.
// 3. Publishes MESSAGES copies of the ~500-byte sample event (MQTT 5, QoS 1, binary mode),
//    each with its own id (`e-<n>`) and `time` = now, round-robin over TOPICS topics
//    PREFIX/d<k> (the bridge orders per topic: one topic would serialise every delivery),
//    with at most WINDOW publishes unacknowledged and at most IN-TRANSIT published but not
//    yet at the sink (as Scripts/bench-mqtt's clients: mosquitto drops QoS 1 messages for
//    a subscriber with 1000 queued, so a publisher that outruns the bridge loses messages).
// 4. Measures from the first publish until the sink has every id; meanwhile reads the
//    bridge's VmRSS from /proc/<pid>/status every 200 ms, and its utime + stime from
//    /proc/<pid>/stat at the first publish and at the last arrival.
//
// Usage: BridgeLoad HOST PORT PREFIX TOPICS MESSAGES WINDOW IN-TRANSIT TIMEOUT-SECONDS PID-FILE
//   prints `port N`, then one line: `bridge-load messages=N topics=K seconds=S
//   events_per_s=X p50_ms=A p99_ms=B duplicates=D cpu_us_per_event=C rss_max_kib=M
//   rss_median_kib=R`; exits 1 when not every event reached the sink within the timeout.

/// The whole of a small file (a /proc entry or the pid file), or nil when it cannot be read.
func readSmallFile(_ path: String) -> String? {
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { break }
        bytes += chunk[0..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// Nanoseconds since the epoch, the clock `ce-time` is written in.
func wallClockNanoseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}

/// The bridge's VmRSS in KiB, or nil once it is gone.
func residentKiB(pid: Int32) -> Int? {
    guard let status = readSmallFile("/proc/\(pid)/status") else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
    }
    return nil
}

/// The bridge's user + system CPU time in seconds (fields 14 and 15 of /proc/<pid>/stat,
/// counted after the command name, which may contain spaces).
func cpuSeconds(pid: Int32) -> Double? {
    guard let stat = readSmallFile("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return nil }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    // fields[0] is the state (field 3): utime is field 14, stime field 15.
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// What the sink has received: distinct measured ids, duplicates, latencies, probes; the
/// publisher waits on it to keep at most IN-TRANSIT events between publish and arrival.
final class SinkLedger: Sendable {
    private struct State {
        var seen: [Bool]
        var distinct = 0
        var duplicates = 0
        var probes = 0
        var latenciesNanoseconds: [Int64] = []
        var lastArrival: ContinuousClock.Instant?
        var waiter: (atLeast: Int, continuation: CheckedContinuation<Void, Never>)?
        var probeWaiter: CheckedContinuation<Void, Never>?
    }

    private let state: Mutex<State>
    let expected: Int

    init(expected: Int) {
        self.expected = expected
        var initial = State(seen: Array(repeating: false, count: expected))
        initial.latenciesNanoseconds.reserveCapacity(expected)
        state = Mutex(initial)
    }

    var distinct: Int { state.withLock { $0.distinct } }
    var duplicates: Int { state.withLock { $0.duplicates } }
    var lastArrival: ContinuousClock.Instant? { state.withLock { $0.lastArrival } }
    var latencies: [Int64] { state.withLock { $0.latenciesNanoseconds } }

    /// Records one request's event: `id` `e-<n>` (measured) or `probe-<n>`, `time` its
    /// `ce-time` header.
    func record(id: String, time: String?) {
        let arrival = wallClockNanoseconds()
        let arrivalInstant = ContinuousClock.now
        if id.hasPrefix("probe-") {
            let waiter = state.withLock { state in
                state.probes += 1
                defer { state.probeWaiter = nil }
                return state.probeWaiter
            }
            waiter?.resume()
            return
        }
        guard id.hasPrefix("e-"), let index = Int(id.dropFirst(2)), (0..<expected).contains(index) else {
            fail("the sink received an unexpected id '\(id)'")
        }
        guard let time, let timestamp = try? Timestamp(rfc3339: time) else {
            fail("event '\(id)' arrived without a valid ce-time ('\(time ?? "none")')")
        }
        let published = timestamp.secondsSinceEpoch * 1_000_000_000 + Int64(timestamp.nanosecond)
        let ready = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.seen[index] else {
                state.duplicates += 1
                return nil
            }
            state.seen[index] = true
            state.distinct += 1
            state.latenciesNanoseconds.append(arrival - published)
            if state.distinct == expected { state.lastArrival = arrivalInstant }
            guard let waiter = state.waiter, state.distinct >= waiter.atLeast else { return nil }
            state.waiter = nil
            return waiter.continuation
        }
        ready?.resume()
    }

    /// Returns once `target` distinct events arrived (one waiter at a time: the publisher).
    func wait(atLeast target: Int) async {
        guard state.withLock({ $0.distinct < target }) else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                guard state.distinct < target else { return true }
                state.waiter = (target, continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// Returns once a probe arrived, or after `timeout` (false then).
    func waitForProbe(timeout: Duration) async -> Bool {
        // The sleeper resumes the waiter on timeout; whoever takes it from the state resumes it.
        let sleeper = Task { [self] in
            try? await Task.sleep(for: timeout)
            state.withLock { state in
                defer { state.probeWaiter = nil }
                return state.probeWaiter
            }?.resume()
        }
        defer { sleeper.cancel() }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                guard state.probes == 0 else { return true }
                state.probeWaiter = continuation
                return false
            }
            if ready { continuation.resume() }
        }
        return state.withLock { $0.probes > 0 }
    }
}

/// Answers each complete request 202 with `content-length: 0` and records its event.
final class SinkHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let ledger: SinkLedger
    private var keepAlive = true
    private var id: String?
    private var time: String?

    init(ledger: SinkLedger) { self.ledger = ledger }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            keepAlive = head.isKeepAlive
            id = head.headers.first(name: "ce-id")
            time = head.headers.first(name: "ce-time")
        case .body:
            break
        case .end:
            guard let id else { fail("the sink received a request without ce-id") }
            ledger.record(id: id, time: time)
            var headers = HTTPHeaders()
            headers.add(name: "content-length", value: "0")
            if !keepAlive { headers.add(name: "connection", value: "close") }
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .accepted, headers: headers))), promise: nil)
            if keepAlive {
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            } else {
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }
}

/// Reads the bridge's RSS every 200 ms until cancelled; the samples in KiB.
final class RSSSampler: Sendable {
    private let samples = Mutex<[Int]>([])

    var values: [Int] { samples.withLock { $0 } }

    func run(pid: Int32) async {
        while !Task.isCancelled {
            if let kib = residentKiB(pid: pid) { samples.withLock { $0.append(kib) } }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }
}

/// The sample event as event `index` of the run (or a probe), timed now.
func event(id: String) throws -> CloudEvent {
    var event = SampleEvent.event
    event.id = id
    let now = wallClockNanoseconds()
    event.time = try Timestamp(
        secondsSinceEpoch: now / 1_000_000_000, nanosecond: Int(now % 1_000_000_000))
    return event
}

/// `value`, a duration in nanoseconds, in milliseconds with three decimals.
func milliseconds(_ nanoseconds: Int64) -> String {
    let microseconds = Int64((Double(nanoseconds) / 1000).rounded())
    let fraction = String(abs(microseconds) % 1000)
    return "\(microseconds / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
}

/// The value below which `fraction` of the sorted `values` lie (nearest rank).
func percentile(_ sorted: [Int64], _ fraction: Double) -> Int64 {
    guard !sorted.isEmpty else { return 0 }
    let rank = Int((fraction * Double(sorted.count)).rounded(.up))
    return sorted[min(max(rank, 1), sorted.count) - 1]
}

struct Settings {
    var host: String
    var port: Int
    var prefix: String
    var topics: Int
    var messages: Int
    var window: Int
    var inTransit: Int
    var timeout: Int
    var pidFile: String
}

func waitForPID(file: String) async -> Int32 {
    // The script writes the file right after starting the bridge; the run's timeout bounds this.
    while true {
        if let text = readSmallFile(file), let pid = Int32(text.filter { !$0.isWhitespace }), pid > 0 { return pid }
        try? await Task.sleep(for: .milliseconds(20))
    }
}

func run(_ settings: Settings, ledger: SinkLedger) async throws {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let server = try await ServerBootstrap(group: group)
        .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                try channel.pipeline.syncOperations.addHandler(SinkHandler(ledger: ledger))
            }
        }
        .bind(host: "127.0.0.1", port: 0)
        .get()
    emit("port \(server.localAddress?.port ?? 0)\n")

    let publisher = try await MQTTClient.connect(
        configuration: MQTTClientConfiguration(
            host: settings.host, port: settings.port, protocolVersion: .v5,
            clientID: "ce-bench-bridge-pub-\(getpid())", cleanStart: true, operationTimeout: .seconds(settings.timeout)))
    let pid = await waitForPID(file: settings.pidFile)

    var probe = 0
    repeat {
        guard kill(pid, 0) == 0 else { fail("the bridge (pid \(pid)) exited before it delivered a probe") }
        try await publisher.publish(
            try event(id: "probe-\(probe)").mqttMessage(topic: "\(settings.prefix)/probe", qos: .atLeastOnce, mode: .binary))
        probe += 1
    } while await !ledger.waitForProbe(timeout: .milliseconds(100))

    let sampler = RSSSampler()
    let sampling = Task { await sampler.run(pid: pid) }
    guard let cpuBefore = cpuSeconds(pid: pid) else { fail("cannot read /proc/\(pid)/stat") }
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for index in 0..<settings.messages {
            if index >= settings.window { try await group.next() }
            if index >= settings.inTransit { await ledger.wait(atLeast: index - settings.inTransit + 1) }
            let topic = "\(settings.prefix)/d\(index % settings.topics)"
            group.addTask {
                // Timed and encoded at the publish: ce-time is the publish instant.
                let message = try event(id: "e-\(index)").mqttMessage(topic: topic, qos: .atLeastOnce, mode: .binary)
                try await publisher.publish(message)
            }
        }
        try await group.waitForAll()
    }
    await ledger.wait(atLeast: settings.messages)
    guard let cpuAfter = cpuSeconds(pid: pid), let end = ledger.lastArrival else { fail("the bridge is gone") }
    sampling.cancel()
    _ = await sampling.value

    let elapsed = (end - start).components
    let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
    let latencies = ledger.latencies.sorted()
    let rss = sampler.values.sorted()
    let cpuPerEvent = (cpuAfter - cpuBefore) / Double(settings.messages) * 1e6
    emit(
        "bridge-load messages=\(settings.messages) topics=\(settings.topics) seconds=\(milliseconds(Int64(seconds * 1e6)))"
            + " events_per_s=\(Int((Double(settings.messages) / seconds).rounded()))"
            + " p50_ms=\(milliseconds(percentile(latencies, 0.50))) p99_ms=\(milliseconds(percentile(latencies, 0.99)))"
            + " duplicates=\(ledger.duplicates) cpu_us_per_event=\(Int(cpuPerEvent.rounded()))"
            + " rss_max_kib=\(rss.last ?? 0) rss_median_kib=\(rss.isEmpty ? 0 : rss[rss.count / 2])\n")
    await publisher.shutdown()
    try? await server.close()
    try? await group.shutdownGracefully()
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count == 9,
    let port = Int(arguments[1]), port > 0, let topics = Int(arguments[3]), topics > 0,
    let messages = Int(arguments[4]), messages > 0, let window = Int(arguments[5]), window > 0,
    let inTransit = Int(arguments[6]), inTransit > 0, let timeout = Int(arguments[7]), timeout > 0
else {
    fail("usage: BridgeLoad HOST PORT PREFIX TOPICS MESSAGES WINDOW IN-TRANSIT TIMEOUT-SECONDS PID-FILE")
}
let settings = Settings(
    host: arguments[0], port: port, prefix: arguments[2], topics: topics, messages: messages, window: window,
    inTransit: inTransit, timeout: timeout, pidFile: arguments[8])
let ledger = SinkLedger(expected: messages)
// Bounded in time whatever happens: a run that does not finish fails.
Task.detached {
    try await Task.sleep(for: .seconds(timeout))
    fail("timed out after \(timeout) s: \(ledger.distinct) of \(messages) events at the sink")
}
do {
    try await run(settings, ledger: ledger)
} catch {
    fail("\(error)")
}
