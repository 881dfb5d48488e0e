// swift-tools-version: 6.1
//
// Benchmarks for the CloudEvents toolkit, a package of their own (as swift-nio does) so
// that users of the library never resolve the benchmark tooling. Run with `Scripts/bench`.
import PackageDescription

let package = Package(
    name: "swift-cloudevents-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named explicitly: a path dependency is otherwise named after the checkout folder.
        .package(name: "swift-cloudevents", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "CodecBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "CloudEvents", package: "swift-cloudevents"),
                .product(name: "CloudEventsProtobuf", package: "swift-cloudevents"),
            ],
            path: "Benchmarks/CodecBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
