// CodecInstructions OPERATION COUNT
//
// Runs one codec operation of the benchmark suite COUNT times on the sample event, on one
// thread, with nothing else: for Scripts/bench-instructions, which runs it under callgrind
// at two counts and divides the difference of the instruction counts by the difference of
// the counts. Instruction counts do not move with the machine's load, where this VM's wall
// time drifts by up to 1.7x between phases of a few hundred milliseconds (see the README).
//
// OPERATION is one of the names `CodecInstructions --list` prints; they are the operations
// of CodecBenchmarks and HTTPBenchmarks.
import BenchmarkSample
import CloudEvents
import CloudEventsHTTP
import CloudEventsProtobuf
import HTTPTypes

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Keeps a result alive past the operation, so that the work is not optimised away; not
/// generic, so that the result is borrowed, not copied, on its way in.
@inline(never) func keep(_ event: CloudEvent) { withExtendedLifetime(event) {} }
@inline(never) func keep(_ bytes: [UInt8]) { withExtendedLifetime(bytes) {} }
@inline(never) func keep(_ json: RawJSON) { withExtendedLifetime(json) {} }
@inline(never) func keep(_ request: (HTTPRequest, [UInt8])) { withExtendedLifetime(request) {} }

let event = SampleEvent.event
let json = JSONEventFormat()
let protobuf = ProtobufEventFormat()

/// Structured-mode encoding with `format`, as CodecBenchmarks does it: into an array
/// emptied (and freed) before each event.
func encoding(_ format: some EventFormat) -> (Int) throws -> Void {
    { count in
        var output = [UInt8]()
        for _ in 0..<count {
            output.removeAll(keepingCapacity: false)
            try format.encode(event, into: &output)
            keep(output)
        }
    }
}

/// Each operation, run `count` times.
let operations: KeyValuePairs<String, (Int) throws -> Void> = [
    "json-encode": encoding(json),
    // Decoding through the concrete formats, as CodecBenchmarks calls them (a generic
    // helper here measured some 230 instructions more per decode).
    "json-decode": { count in
        let bytes = SampleEvent.json
        for _ in 0..<count { keep(try json.decode(bytes)) }
    },
    "protobuf-encode": encoding(protobuf),
    "protobuf-decode": { count in
        let bytes = try protobuf.encode(event)
        for _ in 0..<count { keep(try protobuf.decode(bytes)) }
    },
    "json-data-validate": { count in
        // RawJSON(validating:): what the HTTP binary-mode and Protobuf decoders do with JSON data.
        let data = Array(SampleEvent.data.utf8)
        for _ in 0..<count { keep(try RawJSON(validating: data)) }
    },
    "http-binary-encode": { count in
        for _ in 0..<count { keep(try event.httpRequest(authority: "127.0.0.1:8080", path: "/events")) }
    },
    "http-binary-decode": { count in
        let (request, body) = try event.httpRequest(authority: "127.0.0.1:8080", path: "/events")
        for _ in 0..<count { keep(try CloudEvent(httpRequest: request, body: body)) }
    }
]

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments == ["--list"] {
    for (name, _) in operations { print(name) }
    exit(0)
}
guard arguments.count == 2, let operation = operations.first(where: { $0.key == arguments[0] })?.value,
    let count = Int(arguments[1]), count >= 0
else {
    fail("usage: CodecInstructions OPERATION COUNT | --list", status: 2)
}
do {
    try operation(count)
} catch {
    fail("CodecInstructions: \(error)", status: 1)
}

func fail(_ message: String, status: Int32) -> Never {
    let line = Array((message + "\n").utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(status)
}
