// swift-tools-version: 6.1
//
// The CloudEvents transport toolkit for Swift.
//
// Layout (given by the client): the core model, formats, message layer, transport
// protocols and the `ce` tool live in `Sources/`; each protocol binding is its own
// product under `Bindings/` so that a user of one binding never needs another's C
// library; the conformance corpus and runner live in `Conformance/`.
import PackageDescription

let upcomingFeatures: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "swift-cloudevents",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "CloudEvents", targets: ["CloudEvents"]),
        .library(name: "CloudEventsProtobuf", targets: ["CloudEventsProtobuf"]),
        .library(name: "CloudEventsConformance", targets: ["CloudEventsConformance"]),
        .library(name: "CloudEventsHTTP", targets: ["CloudEventsHTTP"]),
        .library(name: "CloudEventsMQTT", targets: ["CloudEventsMQTT"]),
        .library(name: "CloudEventsAMQP", targets: ["CloudEventsAMQP"]),
        .library(name: "CloudEventsNATS", targets: ["CloudEventsNATS"]),
        .library(name: "CloudEventsTransports", targets: ["CloudEventsTransports"]),
        .library(name: "CloudEventsBridge", targets: ["CloudEventsBridge"]),
        .executable(name: "ce", targets: ["ce"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // MARK: Core
        .target(
            name: "CloudEvents",
            path: "Sources/CloudEvents",
            swiftSettings: upcomingFeatures
        ),

        // MARK: Binding registry
        // The provider protocol every binding implements and the table of registered
        // bindings that `ce`, the conformance runner and the bridge look endpoints up in.
        .target(
            name: "CloudEventsTransports",
            dependencies: [
                "CloudEvents",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/CloudEventsTransports",
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "CloudEventsTransportsTests",
            dependencies: [
                "CloudEventsTransports", "CloudEvents",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/CloudEventsTransportsTests",
            swiftSettings: upcomingFeatures
        ),

        // MARK: C-library loop driver
        // The thread, wake-up, poll and deadline loop that drives a C client library's network
        // loop (libmosquitto now, qpid-proton's proactor next). Internal: no product.
        .target(
            name: "CloudEventsLoopDriver",
            dependencies: [
                "CloudEvents",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/CloudEventsLoopDriver",
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "CloudEventsLoopDriverTests",
            dependencies: ["CloudEventsLoopDriver", "CloudEvents"],
            path: "Tests/CloudEventsLoopDriverTests",
            swiftSettings: upcomingFeatures
        ),

        // MARK: Protobuf format
        // libprotobuf-c through pkg-config; the protoc-c output for cloudevents.proto
        // (regenerate with Scripts/generate-protobuf); the Swift codec; its tests.
        .systemLibrary(
            name: "CProtobufC",
            path: "Sources/CProtobufC",
            pkgConfig: "libprotobuf-c",
            providers: [.apt(["libprotobuf-c-dev"]), .brew(["protobuf-c"])]
        ),
        .target(
            name: "CCloudEventsProtobuf",
            dependencies: ["CProtobufC"],
            path: "Sources/CCloudEventsProtobuf",
            exclude: ["proto"]
        ),
        .target(
            name: "CloudEventsProtobuf",
            dependencies: ["CloudEvents", "CCloudEventsProtobuf"],
            path: "Sources/CloudEventsProtobuf",
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "CloudEventsProtobufTests",
            dependencies: ["CloudEventsProtobuf", "CloudEvents", "CloudEventsConformance", "CloudEventsTestSupport"],
            path: "Tests/CloudEventsProtobufTests",
            swiftSettings: upcomingFeatures
        ),

        // MARK: Conformance
        // The corpus (data files under Conformance/Cases, shipped as resources) and the runner
        // that pushes it through every registered binding.
        .target(
            name: "CloudEventsConformance",
            dependencies: [
                "CloudEvents",
                "CloudEventsTransports",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Conformance",
            exclude: ["Peers"],
            sources: ["Sources/CloudEventsConformance"],
            resources: [.copy("Cases")],
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "CloudEventsConformanceTests",
            dependencies: [
                "CloudEventsConformance", "CloudEvents", "CloudEventsProtobuf", "CloudEventsTransports", "CloudEventsHTTP",
                "CloudEventsMQTT", "CloudEventsTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/CloudEventsConformanceTests",
            swiftSettings: upcomingFeatures
        ),

        // MARK: HTTP binding
        // Mapping on swift-http-types, a receiver on SwiftNIO, a sender on async-http-client.
        .target(
            name: "CloudEventsHTTP",
            dependencies: [
                "CloudEvents",
                "CloudEventsTransports",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP2", package: "swift-nio-extras"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            path: "Bindings/HTTP",
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "CloudEventsHTTPTests",
            dependencies: [
                "CloudEventsHTTP",
                "CloudEvents",
                "CloudEventsTransports",
                "CloudEventsTestSupport",
                "CloudEventsProtobuf",
                "CloudEventsConformance",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/CloudEventsHTTPTests",
            swiftSettings: upcomingFeatures
        ),

        // MARK: MQTT binding
        // libmosquitto through pkg-config (Debian: libmosquitto-dev), the mapping, and a
        // client that owns the library's network loop on a thread of its own.
        .systemLibrary(
            name: "CMosquitto",
            path: "Bindings/CMosquitto",
            pkgConfig: "libmosquitto",
            providers: [.apt(["libmosquitto-dev"]), .brew(["mosquitto"])]
        ),
        .target(
            name: "CloudEventsMQTT",
            dependencies: [
                "CloudEvents",
                "CloudEventsTransports",
                "CloudEventsLoopDriver",
                "CMosquitto",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Bindings/MQTT",
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "CloudEventsMQTTTests",
            dependencies: [
                "CloudEventsMQTT", "CloudEvents", "CloudEventsProtobuf", "CloudEventsConformance", "CloudEventsTransports",
                "CloudEventsLoopDriver", "CMosquitto", "CloudEventsTestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/CloudEventsMQTTTests",
            swiftSettings: upcomingFeatures
        ),

        // MARK: AMQP 1.0 binding
        // qpid-proton (Debian: libqpid-proton11-dev; its pkg-config file is broken, so the
        // module map names the library), the mapping, and a client whose proactor runs on a
        // loop thread of its own (the loop driver MQTT uses).
        .systemLibrary(
            name: "CQpidProton",
            path: "Bindings/CQpidProton",
            providers: [.apt(["libqpid-proton11-dev"]), .brew(["qpid-proton"])]
        ),
        .target(
            name: "CloudEventsAMQP",
            dependencies: [
                "CloudEvents",
                "CloudEventsTransports",
                "CloudEventsLoopDriver",
                "CQpidProton",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Bindings/AMQP",
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "CloudEventsAMQPTests",
            dependencies: [
                "CloudEventsAMQP", "CloudEvents", "CloudEventsProtobuf", "CloudEventsConformance", "CloudEventsTransports",
                "CloudEventsLoopDriver", "CQpidProton", "CloudEventsTestSupport",
                // `ce`'s raw AMQP receiver for the wire rows, shared rather than copied.
                "ce",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/CloudEventsAMQPTests",
            swiftSettings: upcomingFeatures
        ),

        // MARK: NATS binding
        // The NATS client protocol spoken directly over TCP on SwiftNIO (no C library, no
        // second thread model): the protocol codec, a client with reconnect and
        // subscription replay, the `ce-` header mapping shared with HTTP.
        .target(
            name: "CloudEventsNATS",
            dependencies: [
                "CloudEvents",
                "CloudEventsTransports",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Bindings/NATS",
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "CloudEventsNATSTests",
            dependencies: [
                "CloudEventsNATS", "CloudEvents", "CloudEventsProtobuf", "CloudEventsConformance", "CloudEventsTransports",
                "CloudEventsTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/CloudEventsNATSTests",
            swiftSettings: upcomingFeatures
        ),

        // MARK: Bridge
        // The engine that moves events from any registered source binding to any sink
        // binding through a durable buffer (SQLite in WAL mode through GRDB), with retries,
        // dead-lettering, per-key ordering, metrics and tracing. It never names a binding.
        .target(
            name: "CloudEventsBridge",
            dependencies: [
                "CloudEvents",
                "CloudEventsTransports",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/CloudEventsBridge",
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "CloudEventsBridgeTests",
            dependencies: [
                "CloudEventsBridge", "CloudEvents", "CloudEventsTransports", "CloudEventsHTTP", "CloudEventsMQTT",
                "CloudEventsTestSupport",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/CloudEventsBridgeTests",
            swiftSettings: upcomingFeatures
        ),

        // MARK: The `ce` tool
        .executableTarget(
            name: "ce",
            dependencies: [
                "CloudEvents",
                "CloudEventsProtobuf",
                "CloudEventsHTTP",
                "CloudEventsMQTT",
                "CloudEventsAMQP",
                "CloudEventsNATS",
                "CloudEventsTransports",
                "CloudEventsConformance",
                "CloudEventsBridge",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/ce",
            swiftSettings: upcomingFeatures
        ),

        // MARK: Tests
        // What several test targets share (a log handler that keeps records in memory).
        .target(
            name: "CloudEventsTestSupport",
            dependencies: [.product(name: "Logging", package: "swift-log")],
            path: "Tests/Support/CloudEventsTestSupport",
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "CloudEventsTests",
            dependencies: ["CloudEvents", "CloudEventsConformance"],
            path: "Tests/CloudEventsTests",
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "CECommandTests",
            dependencies: [
                "ce", "CloudEvents", "CloudEventsProtobuf", "CloudEventsConformance", "CloudEventsTestSupport",
                "CloudEventsBridge", "CloudEventsTransports",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Tests/CECommandTests",
            swiftSettings: upcomingFeatures
        ),
    ]
)
