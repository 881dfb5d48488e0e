import Benchmark
import CloudEvents
import CloudEventsProtobuf

/// Structured-mode encode and decode of one ~500-byte event, per format. Throughput is in
/// events per second (one event per iteration); allocations per event are reported and
/// gated on, since they are deterministic where wall time is not.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal, .instructions],
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 1_000_000
    )

    let event = SampleEvent.event
    let json = JSONEventFormat()
    let protobuf = ProtobufEventFormat()
    let jsonBytes = SampleEvent.json
    let protobufBytes: [UInt8] = (try? protobuf.encode(event)) ?? []

    Benchmark("JSON encode (\(jsonBytes.count) bytes)") { benchmark in
        var output = [UInt8]()
        for _ in benchmark.scaledIterations {
            output.removeAll(keepingCapacity: false)
            try json.encode(event, into: &output)
            blackHole(output)
        }
    }

    Benchmark("JSON decode (\(jsonBytes.count) bytes)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try json.decode(jsonBytes))
        }
    }

    Benchmark("Protobuf encode (\(protobufBytes.count) bytes)") { benchmark in
        var output = [UInt8]()
        for _ in benchmark.scaledIterations {
            output.removeAll(keepingCapacity: false)
            try protobuf.encode(event, into: &output)
            blackHole(output)
        }
    }

    Benchmark("Protobuf decode (\(protobufBytes.count) bytes)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try protobuf.decode(protobufBytes))
        }
    }
}
