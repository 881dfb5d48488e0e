import Benchmark
import BenchmarkSupport
import CloudEvents
import CloudEventsHTTP
import HTTPTypes

/// Binary-mode HTTP mapping of the ~500-byte sample event (issue #4): the event to a
/// request's header fields and body, and back. Throughput is in events per second (one
/// event per iteration); targets are ≥ 2 M/s encode and ≥ 1 M/s decode on one core.
///
/// As in CodecBenchmarks, speed and allocations are registered separately: counting
/// mallocs interposes on every allocation and would slow the speed figures.
let benchmarks: @Sendable () -> Void = {
    registerForSpeedAndAllocations(registerHTTPBenchmarks)
}

/// Registers binary-mode encode and decode, names ending in `suffix`.
func registerHTTPBenchmarks(suffix: String) {
    let event = SampleEvent.event
    let encoded: (request: HTTPRequest, body: [UInt8])
    do {
        encoded = try event.httpRequest(authority: "127.0.0.1:8080", path: "/events")
        // The decode benchmark must measure a decode, not an error path.
        guard try CloudEvent(httpRequest: encoded.request, body: encoded.body) == event else {
            fatalError("the binary-mode HTTP round trip changed the sample event")
        }
    } catch {
        fatalError("the sample event does not map to HTTP: \(error)")
    }

    Benchmark("HTTP binary encode (event → HTTPRequest fields + body)\(suffix)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try event.httpRequest(authority: "127.0.0.1:8080", path: "/events"))
        }
    }

    Benchmark("HTTP binary decode (HTTPRequest fields + body → CloudEvent)\(suffix)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try CloudEvent(httpRequest: encoded.request, body: encoded.body))
        }
    }
}
