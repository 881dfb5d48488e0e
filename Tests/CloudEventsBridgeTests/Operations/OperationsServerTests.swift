import AsyncHTTPClient
import CloudEventsBridge
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite("OperationsServer")
struct OperationsServerTests {
    @Test("/readyz answers 503 with the report until the routes are ready, then 200")
    func readiness() async throws {
        let health = BridgeHealth(routes: ["sensors"])
        try await withServer(health: health) { port, client in
            let before = try await get(client, port: port, path: "/readyz")
            #expect(before.status == 503)
            #expect(before.text == "not ready\nsensors: not subscribed, sink not answered yet\n")
            #expect(before.headers.first(name: "Content-Type") == "text/plain; charset=utf-8")

            health.setSubscribed("sensors", true)
            health.setSinkAnswered("sensors", true)
            let after = try await get(client, port: port, path: "/readyz")
            #expect(after.status == 200)
            #expect(after.text == "ready\nsensors: subscribed, sink answered\n")

            health.setStopping()
            let stopping = try await get(client, port: port, path: "/readyz?verbose=1")
            #expect(stopping.status == 503)
            #expect(stopping.text == "not ready\nsensors: subscribed, sink answered\nstopping\n")
        }
    }

    @Test("/healthz answers 200 ok while live, also when not ready, and 503 once stopped")
    func liveness() async throws {
        let health = BridgeHealth(routes: ["sensors"])
        try await withServer(health: health) { port, client in
            let live = try await get(client, port: port, path: "/healthz")
            #expect(live.status == 200)
            #expect(live.text == "ok\n")
            health.setStopped()
            let stopped = try await get(client, port: port, path: "/healthz")
            #expect(stopped.status == 503)
        }
    }

    @Test("/metrics answers the registry in the Prometheus text format")
    func metrics() async throws {
        let registry = PrometheusCollectorRegistry()
        let metrics = RouteMetrics(route: "sensors", factory: PrometheusMetricsFactory(registry: registry))
        metrics.received()
        metrics.dropped(.unreadable)
        try await withServer(health: BridgeHealth(routes: ["sensors"]), registry: registry) { port, client in
            let response = try await get(client, port: port, path: "/metrics")
            #expect(response.status == 200)
            #expect(response.headers.first(name: "Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
            #expect(response.text.contains("ce_bridge_received_total{route=\"sensors\"} 1\n"))
            #expect(response.text.contains("ce_bridge_dropped_total{route=\"sensors\",reason=\"unreadable\"} 1\n"))
            #expect(response.text.contains("# TYPE ce_bridge_end_to_end_latency_seconds histogram\n"))
            #expect(response.text == registry.emitToString())
        }
    }

    @Test("another path is 404, another method 405 naming GET")
    func otherRequests() async throws {
        try await withServer(health: BridgeHealth(routes: [])) { port, client in
            let missing = try await get(client, port: port, path: "/ready")
            #expect(missing.status == 404)
            let post = try await get(client, port: port, path: "/healthz", method: .POST)
            #expect(post.status == 405)
            #expect(post.headers.first(name: "Allow") == "GET")
        }
    }

    @Test("a keep-alive connection serves several requests; Connection: close ends it")
    func keepAlive() async throws {
        try await withServer(health: BridgeHealth(routes: [])) { port, _ in
            let socket = try LoopbackSocket(port: port)
            defer { socket.disconnect() }
            try socket.write(
                "GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n" + "GET /readyz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
            let text = try socket.receiveUntilClosed()
            #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(text.split(separator: "HTTP/1.1 200 OK\r\n", omittingEmptySubsequences: false).count == 3)
            #expect(text.contains("connection: keep-alive\r\n") || text.contains("Connection: keep-alive\r\n"))
            #expect(text.hasSuffix("ready\n"))
        }
    }

    @Test("a request body over the bound is answered 413 and the connection closed")
    func boundedBody() async throws {
        try await withServer(health: BridgeHealth(routes: [])) { port, _ in
            let socket = try LoopbackSocket(port: port)
            defer { socket.disconnect() }
            // One byte over 16 KiB: the server has read the whole request when it answers,
            // so its close is a FIN, not a reset that could lose the answer.
            let size = 16 * 1024 + 1
            try socket.write(
                "GET /healthz HTTP/1.1\r\nHost: test\r\nContent-Length: \(size)\r\n\r\n" + String(repeating: "x", count: size))
            let text = try socket.receiveUntilClosed()
            #expect(text.hasPrefix("HTTP/1.1 413 Payload Too Large\r\n"))
        }
    }

    @Test("cancelling run() returns and closes the open connections")
    func stops() async throws {
        let server = try await OperationsServer.bind(
            configuration: OperationsConfiguration(host: "127.0.0.1", port: 0), health: BridgeHealth(routes: []),
            metrics: PrometheusCollectorRegistry(), logger: quietLogger)
        let running = Task { try await server.run() }
        let socket = try LoopbackSocket(port: server.port)
        defer { socket.disconnect() }
        try socket.write("GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        let first = try socket.receive()
        #expect(first.hasPrefix("HTTP/1.1 200 OK\r\n"))

        running.cancel()
        try await running.value
        // The kept-alive connection is closed by the server, not left to the client.
        #expect(try socket.receiveUntilClosed() == "")
        // (Whether the port still accepts is not checked: in a full parallel run another
        // suite's listener may be given the freed port at once.)
    }

    @Test("a port in use is reported with the address")
    func portInUse() async throws {
        try await withServer(health: BridgeHealth(routes: [])) { port, _ in
            let error = await #expect(throws: (any Error).self) {
                _ = try await OperationsServer.bind(
                    configuration: OperationsConfiguration(host: "127.0.0.1", port: port), health: BridgeHealth(routes: []),
                    metrics: PrometheusCollectorRegistry(), logger: quietLogger)
            }
            #expect("\(error.map { "\($0)" } ?? "")".contains("127.0.0.1:\(port)"))
        }
    }
}

private let quietLogger = Logger(label: "operations-test") { _ in SwiftLogNoOpLogHandler() }

/// Binds a server on a loopback port the system chooses, serves while `body` runs, and stops it.
private func withServer(
    health: BridgeHealth, registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
    _ body: (_ port: Int, _ client: HTTPClient) async throws -> Void
) async throws {
    let server = try await OperationsServer.bind(
        configuration: OperationsConfiguration(host: "127.0.0.1", port: 0), health: health, metrics: registry,
        logger: quietLogger)
    let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
    do {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            try await body(server.port, client)
            group.cancelAll()
        }
    } catch {
        try? await client.shutdown()
        throw error
    }
    try await client.shutdown()
}

private func get(
    _ client: HTTPClient, port: Int, path: String, method: HTTPMethod = .GET
) async throws -> (status: Int, headers: HTTPHeaders, text: String) {
    var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
    request.method = method
    let response = try await client.execute(request, timeout: .seconds(30))
    let body = try await response.body.collect(upTo: 1 << 20)
    return (Int(response.status.code), response.headers, String(decoding: body.readableBytesView, as: UTF8.self))
}

/// A blocking TCP client socket on 127.0.0.1, for what HTTPClient hides: several requests on
/// one connection, and the server closing it. Every receive waits at most 10 s.
private final class LoopbackSocket {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private let descriptor: Int32

    init(port: Int) throws {
        #if canImport(Glibc)
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let code = errno
            close(descriptor)
            throw Failure(description: "connect to 127.0.0.1:\(port): errno \(code)")
        }
        self.descriptor = descriptor
    }

    func write(_ text: String) throws {
        let bytes = Array(text.utf8)
        var offset = 0
        // Bounded by the byte count: every pass sends at least one byte or throws.
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw Failure(description: "send: errno \(errno)") }
            offset += sent
        }
    }

    /// What one read returns (at least one byte), or throws when nothing arrives in 10 s.
    func receive() throws -> String {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { throw Failure(description: "receive: \(count == 0 ? "closed" : "errno \(errno)")") }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }

    /// Everything until the server closes the connection; throws when it stays open 10 s
    /// without sending, or after 1 MiB.
    func receiveUntilClosed() throws -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while received.count < 1 << 20 {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count == 0 { return String(decoding: received, as: UTF8.self) }
            guard count > 0 else { throw Failure(description: "receive: errno \(errno)") }
            received += buffer[..<count]
        }
        throw Failure(description: "more than 1 MiB without a close")
    }

    func disconnect() {
        close(descriptor)
    }
}
