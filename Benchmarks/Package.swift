// swift-tools-version: 6.1
//
// Benchmarks for the CloudEvents toolkit, a package of their own (as swift-nio does) so
// that users of the library never resolve the benchmark tooling. Run with `Scripts/bench`
// (micro-benchmarks) and `Scripts/bench-http` (the HTTP receiver under wrk load).
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
    ],
    targets: [
        // The ~500-byte sample event every benchmark uses.
        .target(
            name: "BenchmarkSupport",
            dependencies: [
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
        // Load-test servers for Scripts/bench-http (not benchmark targets: no plugin).
        .executableTarget(
            name: "BareHTTPServer",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Benchmarks/BareHTTPServer"
        ),
        .executableTarget(
            name: "ReceiverServer",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "CloudEventsHTTP", package: "swift-cloudevents"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/ReceiverServer"
        ),
    ]
)
