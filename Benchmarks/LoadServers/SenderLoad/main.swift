import AsyncHTTPClient
import BenchmarkSample
import CloudEvents
import CloudEventsHTTP
import LoadServerSupport
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

// The load side of Scripts/bench-http-sender (issue #16): HTTPEventSender end to end beside a
// bare async-http-client loop, against the same server (Benchmarks/LoadServers/BareHTTPServer,
// a separate process), in one process and interleaved.
//
// - bare: one HTTPClient configured as HTTPEventSender.init configures its own (redirects
//   disallowed, HTTP version automatic, no connection-establishment retries, the connect
//   timeout = the sender's 30 s timeout, no tracer), executing with the sender's timeout a
//   pre-built HTTPClientRequest: POST, the header fields and body that HTTPEventSender
//   writes for the sample event in binary mode (the mapping's fields, by canonical name and
//   in order), and reading each response body.
// - sender: `HTTPEventSender.send(SampleEvent.event)` with the default configuration (binary
//   mode, POST), which encodes the event on every send.
//
// Each run sends REQUESTS requests from CONCURRENCY tasks that take the next request number
// from a shared counter. After one warm-up run of each, ROUNDS rounds run both, bare first
// in odd rounds and the sender first in even ones. Per run: requests/s, this process's CPU
// time per request (getrusage, user + system, every thread) and, with SERVER-PID, the
// server's (/proc/<pid>/stat utime + stime, in clock ticks). At the end: the medians and
// the ratio sender/bare of the median requests/s.
//
// Usage: SenderLoad PORT REQUESTS CONCURRENCY ROUNDS TIMEOUT-SECONDS [SERVER-PID]
//   prints one `run ...` line per run, then the `median ...` lines and `ratio ...`; exits 1
//   on any failed request, or when the whole does not finish within TIMEOUT-SECONDS.
// Env: SENDER_LOAD_ONLY=bare or =sender runs that side only, and prints its runs and median,
//   no ratio. Scripts/bench-http-sender runs one such process per run: with both sides in
//   one process, an A/A test (a second bare client in the sender's place) came out at
//   88-90 %, against ~100 % in separate processes. Also for a profile of one side
//   (`perf record -g SenderLoad ...`).

/// The server's user + system CPU time in microseconds (fields 14 and 15 of
/// /proc/<pid>/stat, counted after the command name, which may contain spaces).
func serverCPUMicroseconds(pid: Int32) -> Int64? {
    let descriptor = open("/proc/\(pid)/stat", O_RDONLY)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    var chunk = [UInt8](repeating: 0, count: 4096)
    let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
    guard count > 0 else { return nil }
    let stat = String(decoding: chunk[0..<count], as: UTF8.self)
    guard let close = stat.lastIndex(of: ")") else { return nil }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    // fields[0] is the state (field 3): utime is field 14, stime field 15.
    guard fields.count > 12, let user = Int64(fields[11]), let system = Int64(fields[12]) else { return nil }
    return (user + system) * 1_000_000 / Int64(sysconf(Int32(_SC_CLK_TCK)))
}

/// The median of the finite values; NaN when there is none.
func median(_ values: [Double]) -> Double {
    let sorted = values.filter(\.isFinite).sorted()
    guard !sorted.isEmpty else { return .nan }
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

func formatted(_ value: Double, decimals: Int) -> String {
    guard value.isFinite else { return "n/a" }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = Int((value * scale).rounded())
    guard decimals > 0 else { return String(scaled) }
    let sign = scaled < 0 ? "-" : ""
    let magnitude = abs(scaled)
    let fraction = String(magnitude % Int(scale))
    return sign + String(magnitude / Int(scale)) + "." + String(repeating: "0", count: decimals - fraction.count) + fraction
}

/// Requests completed in the current run, for the timeout report.
let completed = Atomic<Int>(0)
/// The run in progress, for the timeout report.
let phase = Mutex("starting")

/// `duration` as NIO takes it (whole nanoseconds).
func timeAmount(_ duration: Duration) -> TimeAmount {
    let (seconds, attoseconds) = duration.components
    return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
}

/// The bare client, configured as HTTPEventSender.init configures its own.
func makeBareClient(_ sender: HTTPSenderConfiguration) -> HTTPClient {
    var configuration = HTTPClient.Configuration()
    configuration.redirectConfiguration = .disallow
    configuration.httpVersion = .automatic
    configuration.connectionPool.retryConnectionEstablishment = false
    configuration.timeout.connect = timeAmount(sender.timeout)
    // The sender drops async-http-client's no-op tracer when none is bootstrapped (none is here).
    configuration.tracing.tracer = nil
    return HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
}

/// The request HTTPEventSender writes for the sample event in binary mode, built once.
func makeBareRequest(url: String) throws -> HTTPClientRequest {
    let (fields, body) = try SampleEvent.event.httpFields(mode: .binary)
    var request = HTTPClientRequest(url: url)
    request.method = .POST
    for field in fields { request.headers.add(name: field.name.canonicalName, value: field.value) }
    request.body = .bytes(ByteBuffer(bytes: body))
    return request
}

/// The next request number, shared by a run's tasks.
final class RequestCounter: Sendable {
    let value = Atomic<Int>(0)
}

/// Sends `count` requests with `send` from `concurrency` tasks; returns the seconds taken.
func load(count: Int, concurrency: Int, _ send: @escaping @Sendable () async throws -> Void) async throws -> Double {
    let next = RequestCounter()
    completed.store(0, ordering: .relaxed)
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<concurrency {
            group.addTask {
                while next.value.wrappingAdd(1, ordering: .relaxed).oldValue < count {
                    try await send()
                    completed.add(1, ordering: .relaxed)
                }
            }
        }
        try await group.waitForAll()
    }
    let elapsed = (ContinuousClock.now - start).components
    return Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
}

struct RunResult {
    var requestsPerSecond: Double
    var cpuMicrosecondsPerRequest: Double
    /// NaN without a server pid.
    var serverCPUMicrosecondsPerRequest: Double
}

func measure(
    _ name: String, count: Int, concurrency: Int, serverPID: Int32?, _ send: @escaping @Sendable () async throws -> Void
) async throws -> RunResult {
    phase.withLock { $0 = name }
    let serverBefore = serverPID.flatMap { serverCPUMicroseconds(pid: $0) }
    let cpuBefore = processCPUMicroseconds()
    let seconds = try await load(count: count, concurrency: concurrency, send)
    let cpuAfter = processCPUMicroseconds()
    let serverAfter = serverPID.flatMap { serverCPUMicroseconds(pid: $0) }
    var serverPerRequest = Double.nan
    if let serverBefore, let serverAfter { serverPerRequest = Double(serverAfter - serverBefore) / Double(count) }
    let result = RunResult(
        requestsPerSecond: Double(count) / seconds, cpuMicrosecondsPerRequest: Double(cpuAfter - cpuBefore) / Double(count),
        serverCPUMicrosecondsPerRequest: serverPerRequest)
    emit(
        "run \(name) requests_per_s=\(formatted(result.requestsPerSecond, decimals: 0)) cpu_us_per_request=\(formatted(result.cpuMicrosecondsPerRequest, decimals: 2)) server_cpu_us_per_request=\(formatted(result.serverCPUMicrosecondsPerRequest, decimals: 2))\n"
    )
    return result
}

/// Which sides run: `true` is the bare loop, `false` the sender.
func run(port: Int, requests: Int, concurrency: Int, rounds: Int, serverPID: Int32?, sides: Set<Bool>) async throws {
    let url = "http://127.0.0.1:\(port)/"
    let configuration = HTTPSenderConfiguration(url: url)
    let bareRequest = try makeBareRequest(url: url)
    let bareClient = makeBareClient(configuration)
    let timeout = timeAmount(configuration.timeout)
    let maximumBody = configuration.maximumResponseBodySize
    let bareSend: @Sendable () async throws -> Void = {
        let response = try await bareClient.execute(bareRequest, timeout: timeout)
        _ = try await response.body.collect(upTo: maximumBody)
        guard response.status == .ok else { fail("the server answered \(response.status)") }
    }
    emit(
        "sender-load url=\(url) requests=\(requests) concurrency=\(concurrency) rounds=\(rounds) server_pid=\(serverPID.map { String($0) } ?? "none")\n"
    )
    do {
        try await HTTPEventSender.withSender(configuration: configuration) { sender in
            let senderSend: @Sendable () async throws -> Void = { try await sender.send(SampleEvent.event) }
            // Warm-up: connections opened, code paths and allocator caches warm.
            let warmUp = max(1, requests / 10)
            if sides.contains(true) {
                _ = try await measure("warm-up bare", count: warmUp, concurrency: concurrency, serverPID: serverPID, bareSend)
            }
            if sides.contains(false) {
                _ = try await measure(
                    "warm-up sender", count: warmUp, concurrency: concurrency, serverPID: serverPID, senderSend)
            }
            var bare: [RunResult] = []
            var ours: [RunResult] = []
            for round in 1...rounds {
                // Alternating which goes first, so that neither always follows the other.
                for runsBare in round % 2 == 1 ? [true, false] : [false, true] where sides.contains(runsBare) {
                    let label = "round=\(round) \(runsBare ? "bare" : "sender")"
                    let result = try await measure(
                        label, count: requests, concurrency: concurrency, serverPID: serverPID,
                        runsBare ? bareSend : senderSend)
                    if runsBare { bare.append(result) } else { ours.append(result) }
                }
            }
            for (name, results) in [("bare", bare), ("sender", ours)] where !results.isEmpty {
                emit(
                    "median \(name) requests_per_s=\(formatted(median(results.map(\.requestsPerSecond)), decimals: 0)) cpu_us_per_request=\(formatted(median(results.map(\.cpuMicrosecondsPerRequest)), decimals: 2)) server_cpu_us_per_request=\(formatted(median(results.map(\.serverCPUMicrosecondsPerRequest)), decimals: 2))\n"
                )
            }
            guard sides.count == 2 else { return }
            let ratio = median(ours.map(\.requestsPerSecond)) / median(bare.map(\.requestsPerSecond))
            let cpuRatio = median(bare.map(\.cpuMicrosecondsPerRequest)) / median(ours.map(\.cpuMicrosecondsPerRequest))
            emit(
                "ratio sender/bare requests_per_s=\(formatted(ratio * 100, decimals: 1))% bare/sender cpu_per_request=\(formatted(cpuRatio * 100, decimals: 1))%\n"
            )
        }
    } catch {
        try? await bareClient.shutdown()
        throw error
    }
    try await bareClient.shutdown()
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count == 5 || arguments.count == 6,
    let port = Int(arguments[0]), let requests = Int(arguments[1]), let concurrency = Int(arguments[2]),
    let rounds = Int(arguments[3]), let timeout = Int(arguments[4]),
    requests > 0, concurrency > 0, rounds > 0, timeout > 0
else {
    fail("usage: SenderLoad PORT REQUESTS CONCURRENCY ROUNDS TIMEOUT-SECONDS [SERVER-PID]")
}
let serverPID: Int32? = arguments.count == 6 ? Int32(arguments[5]) : nil
let sides: Set<Bool>
switch getenv("SENDER_LOAD_ONLY").map({ String(cString: $0) }) {
case nil, "": sides = [true, false]
case "bare": sides = [true]
case "sender": sides = [false]
case let other?: fail("SENDER_LOAD_ONLY must be bare or sender, not '\(other)'")
}

// Bounded in time whatever happens.
Task.detached { [timeout] in
    try await Task.sleep(for: .seconds(timeout))
    fail(
        "timed out after \(timeout) s in \(phase.withLock { $0 }), \(completed.load(ordering: .relaxed)) requests done in that run"
    )
}
do {
    try await run(
        port: port, requests: requests, concurrency: concurrency, rounds: rounds, serverPID: serverPID, sides: sides)
} catch {
    fail("\(error)")
}
