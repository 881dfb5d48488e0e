import Benchmark
import BenchmarkSupport
import CloudEvents
import CloudEventsProtobuf

/// Structured-mode encode and decode of one ~500-byte event, per format. Throughput is in
/// events per second (one event per iteration); allocations per event are reported and
/// gated on, since they are deterministic where wall time is not.
///
/// Each operation is registered twice: once for speed (throughput, wall clock,
/// instructions) and once for allocations, because counting mallocs interposes on every
/// allocation and would slow the speed figures of allocation-heavy operations.
let benchmarks: @Sendable () -> Void = {
    registerForSpeedAndAllocations(registerCodecBenchmarks)
}

/// Registers encode and decode for JSON and Protobuf, names ending in `suffix`.
func registerCodecBenchmarks(suffix: String) {
    let event = SampleEvent.event
    let json = JSONEventFormat()
    let protobuf = ProtobufEventFormat()
    let jsonBytes = SampleEvent.json
    let protobufBytes: [UInt8] = (try? protobuf.encode(event)) ?? []

    Benchmark("JSON encode (\(jsonBytes.count) bytes)\(suffix)") { benchmark in
        var output = [UInt8]()
        for _ in benchmark.scaledIterations {
            output.removeAll(keepingCapacity: false)
            try json.encode(event, into: &output)
            blackHole(output)
        }
    }

    Benchmark("JSON decode (\(jsonBytes.count) bytes)\(suffix)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try json.decode(jsonBytes))
        }
    }

    Benchmark("Protobuf encode (\(protobufBytes.count) bytes)\(suffix)") { benchmark in
        var output = [UInt8]()
        for _ in benchmark.scaledIterations {
            output.removeAll(keepingCapacity: false)
            try protobuf.encode(event, into: &output)
            blackHole(output)
        }
    }

    Benchmark("Protobuf decode (\(protobufBytes.count) bytes)\(suffix)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try protobuf.decode(protobufBytes))
        }
    }
}
