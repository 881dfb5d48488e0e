// swift-tools-version: 6.1
//
// Benchmarks for the CloudEvents toolkit, a package of their own (as swift-nio does) so
// that users of the library never resolve the benchmark tooling. Run with `Scripts/bench`
// (micro-benchmarks), `Scripts/bench-http` (the HTTP receiver under wrk load),
// `Scripts/bench-http-sender` (the HTTP sender against a bare async-http-client loop),
// `Scripts/bench-mqtt` (MQTT publish → receive through the local broker),
// `Scripts/bench-amqp` (AMQP send → receive through RabbitMQ and peer to peer),
// `Scripts/bench-bridge` (ce bridge, MQTT → HTTP) and `Scripts/bench-instructions` (the
// codec operations' instructions per event, under callgrind).
import PackageDescription

let package = Package(
    name: "swift-cloudevents-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named explicitly: a path dependency is otherwise named after the checkout folder.
        .package(name: "swift-cloudevents", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        // Already dependencies of the HTTP binding; named here for direct use.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        // Already a dependency of the HTTP binding; named here for SenderLoad's bare client.
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        // The ~500-byte sample event every benchmark uses; without the benchmark package, so
        // that load-test executables do not link its malloc interposer.
        .target(
            name: "BenchmarkSample",
            dependencies: [
                .product(name: "CloudEvents", package: "swift-cloudevents"),
            ],
            path: "Benchmarks/BenchmarkSample"
        ),
        // Re-exports BenchmarkSample; helpers for the benchmark targets.
        .target(
            name: "BenchmarkSupport",
            dependencies: [
                "BenchmarkSample",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "CloudEvents", package: "swift-cloudevents"),
            ],
            path: "Benchmarks/BenchmarkSupport"
        ),
        .executableTarget(
            name: "CodecBenchmarks",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "CloudEvents", package: "swift-cloudevents"),
                .product(name: "CloudEventsProtobuf", package: "swift-cloudevents"),
            ],
            path: "Benchmarks/CodecBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "HTTPBenchmarks",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "CloudEvents", package: "swift-cloudevents"),
                .product(name: "CloudEventsHTTP", package: "swift-cloudevents"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            path: "Benchmarks/HTTPBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Executables that are not benchmarks live in LoadServers/, not Benchmarks/: the
        // benchmark plugin (ordo-one/benchmark 1.38.1, BenchmarkCommandPlugin.swift) runs as a
        // benchmark every executable target whose folder's parent is named `Benchmarks`,
        // plugin or not, so `Scripts/bench` would start these and fail on their usage text.
        // Load-test servers for Scripts/bench-http.
        // A synchronous harness for Scripts/bench-instructions (callgrind): instruction
        // counts of the codec operations, which the machine's load does not move.
        .executableTarget(
            name: "CodecInstructions",
            dependencies: [
                "BenchmarkSample",
                .product(name: "CloudEvents", package: "swift-cloudevents"),
                .product(name: "CloudEventsHTTP", package: "swift-cloudevents"),
                .product(name: "CloudEventsProtobuf", package: "swift-cloudevents"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            path: "LoadServers/CodecInstructions"
        ),
        // What the load servers share (output, failing, CPU clocks).
        .target(
            name: "LoadServerSupport",
            path: "LoadServers/LoadServerSupport"
        ),
        .executableTarget(
            name: "BareHTTPServer",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "LoadServers/BareHTTPServer"
        ),
        .executableTarget(
            name: "ReceiverServer",
            dependencies: [
                // Not BenchmarkSupport: that links the benchmark package's malloc interposer,
                // which would tax every allocation of this server and not of the bare one.
                "BenchmarkSample",
                .product(name: "CloudEventsHTTP", package: "swift-cloudevents"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "LoadServers/ReceiverServer"
        ),
        // The Swift side of Scripts/bench-mqtt; the C side is MQTTThroughput/mqtt_throughput.c,
        // built by the script.
        .executableTarget(
            name: "MQTTThroughput",
            dependencies: [
                "LoadServerSupport",
                "BenchmarkSample",
                .product(name: "CloudEvents", package: "swift-cloudevents"),
                .product(name: "CloudEventsMQTT", package: "swift-cloudevents"),
            ],
            path: "LoadServers/MQTTThroughput"
        ),
        // The Swift side of Scripts/bench-amqp; the C side is AMQPThroughput/amqp_throughput.c,
        // built by the script.
        .executableTarget(
            name: "AMQPThroughput",
            dependencies: [
                "LoadServerSupport",
                "BenchmarkSample",
                .product(name: "CloudEvents", package: "swift-cloudevents"),
                .product(name: "CloudEventsAMQP", package: "swift-cloudevents"),
            ],
            path: "LoadServers/AMQPThroughput"
        ),
        // The Swift side of Scripts/bench-nats; the C side is NATSThroughput/nats_throughput.c,
        // built by the script.
        .executableTarget(
            name: "NATSThroughput",
            dependencies: [
                "LoadServerSupport",
                "BenchmarkSample",
                .product(name: "CloudEvents", package: "swift-cloudevents"),
                .product(name: "CloudEventsNATS", package: "swift-cloudevents"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "LoadServers/NATSThroughput"
        ),
        // The publisher, HTTP sink and /proc sampler of Scripts/bench-bridge (ce bridge,
        // MQTT → HTTP); the bridge itself is the main package's `ce`.
        .executableTarget(
            name: "BridgeLoad",
            dependencies: [
                "LoadServerSupport",
                "BenchmarkSample",
                .product(name: "CloudEvents", package: "swift-cloudevents"),
                .product(name: "CloudEventsMQTT", package: "swift-cloudevents"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "LoadServers/BridgeLoad"
        ),
        // The load side of Scripts/bench-http-sender: HTTPEventSender beside a bare
        // async-http-client loop, against BareHTTPServer.
        .executableTarget(
            name: "SenderLoad",
            dependencies: [
                "LoadServerSupport",
                "BenchmarkSample",
                .product(name: "CloudEvents", package: "swift-cloudevents"),
                .product(name: "CloudEventsHTTP", package: "swift-cloudevents"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "LoadServers/SenderLoad"
        ),
    ]
)
