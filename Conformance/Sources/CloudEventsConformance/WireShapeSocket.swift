import CloudEvents
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

#if canImport(Glibc)
    private let posixConnect = Glibc.connect
    private let posixAccept = Glibc.accept
    private let posixClose = Glibc.close
#elseif canImport(Darwin)
    private let posixConnect = Darwin.connect
    private let posixAccept = Darwin.accept
    private let posixClose = Darwin.close
#endif

/// Why a raw peer (``RawHTTPCapture``, ``RawMQTTSubscriber``) could not do its part: the
/// operation, and what the socket or the peer said.
public struct WireProbeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was being done (`connect to 127.0.0.1:1883`, `read CONNACK`).
    public var operation: String
    /// What went wrong.
    public var reason: String

    /// An error of `operation`, because of `reason`.
    ///
    /// - Parameters:
    ///   - operation: what was being done.
    ///   - reason: what went wrong.
    public init(operation: String, reason: String) {
        self.operation = operation
        self.reason = reason
    }

    /// `operation: reason`.
    public var description: String { "\(operation): \(reason)" }
}

/// A plain POSIX TCP socket with bounded, poll-timed reads, for the raw peers. Only the
/// raw peers' own threads block on it, never the cooperative pool.
final class WireSocket: Sendable {
    /// The file descriptor; closed once, under `closed`'s lock.
    let descriptor: Int32
    private let closed = Locked(false)

    private init(descriptor: Int32) {
        self.descriptor = descriptor
        #if canImport(Darwin)
            var on: Int32 = 1
            setsockopt(descriptor, SOL_SOCKET, SO_NOSIGPIPE, &on, socklen_t(MemoryLayout<Int32>.size))
        #endif
    }

    deinit { close() }

    private static func errnoText() -> String { String(cString: strerror(errno)) }

    /// A socket listening on `127.0.0.1`, any free port.
    ///
    /// - Returns: the socket and its port.
    /// - Throws: ``WireProbeError`` when the socket cannot be made or bound.
    static func listenOnLoopback() throws(WireProbeError) -> (WireSocket, Int) {
        let operation = "listen on 127.0.0.1"
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw WireProbeError(operation: operation, reason: errnoText()) }
        let listener = WireSocket(descriptor: fd)
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { throw WireProbeError(operation: operation, reason: errnoText()) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw WireProbeError(operation: operation, reason: errnoText()) }
        return (listener, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// A socket connected to `host:port` (IPv4; a name is resolved).
    ///
    /// - Throws: ``WireProbeError`` when the name does not resolve or the connection fails.
    static func connect(host: String, port: Int) throws(WireProbeError) -> WireSocket {
        let operation = "connect to \(host):\(port)"
        var hints = addrinfo()
        hints.ai_family = AF_INET
        #if canImport(Glibc)
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
            hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw WireProbeError(operation: operation, reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(list) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { throw WireProbeError(operation: operation, reason: errnoText()) }
        let connection = WireSocket(descriptor: fd)
        guard posixConnect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            throw WireProbeError(operation: operation, reason: errnoText())
        }
        return connection
    }

    /// Waits up to `milliseconds` for the socket to be readable.
    private func readable(milliseconds: Int32) -> Bool {
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        // A signal interrupting the wait is not the end of it (a loaded test run has many).
        let deadline = ContinuousClock.now + .milliseconds(Int(milliseconds))
        while true {
            let left = deadline - ContinuousClock.now
            let wait = max(
                0, Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
            let ready = poll(&entry, 1, wait)
            if ready >= 0 || errno != EINTR { return ready > 0 }
        }
    }

    /// The next connection, or `nil` when none came within `milliseconds`.
    ///
    /// - Throws: ``WireProbeError`` when `accept` fails.
    func accept(milliseconds: Int32) throws(WireProbeError) -> WireSocket? {
        guard readable(milliseconds: milliseconds) else { return nil }
        let fd = posixAccept(descriptor, nil, nil)
        guard fd >= 0 else { throw WireProbeError(operation: "accept", reason: Self.errnoText()) }
        return WireSocket(descriptor: fd)
    }

    /// Up to `maximum` bytes: `nil` when nothing came within `milliseconds`, empty at the end
    /// of the stream.
    ///
    /// - Throws: ``WireProbeError`` when `recv` fails.
    func read(maximum: Int = 65536, milliseconds: Int32) throws(WireProbeError) -> [UInt8]? {
        guard readable(milliseconds: milliseconds) else { return nil }
        var buffer = [UInt8](repeating: 0, count: maximum)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, maximum, 0) }
        guard count >= 0 else { throw WireProbeError(operation: "read", reason: Self.errnoText()) }
        return Array(buffer.prefix(count))
    }

    /// Writes every byte.
    ///
    /// - Throws: ``WireProbeError`` when `send` fails.
    func write(_ bytes: [UInt8]) throws(WireProbeError) {
        var offset = 0
        #if canImport(Glibc)
            let flags = Int32(MSG_NOSIGNAL)
        #else
            let flags: Int32 = 0
        #endif
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes {
                send(descriptor, $0.baseAddress! + offset, bytes.count - offset, flags)
            }
            guard written > 0 else { throw WireProbeError(operation: "write", reason: Self.errnoText()) }
            offset += written
        }
    }

    /// Closes the socket (once).
    func close() {
        let first = closed.withLock { closed -> Bool in
            defer { closed = true }
            return !closed
        }
        if first { _ = posixClose(descriptor) }
    }
}

/// Runs `body` on a thread of its own (a raw peer's blocking socket loop), off the
/// cooperative pool, and returns what it returns.
func runOnOwnThread<Value: Sendable>(
    named name: String, _ body: @escaping @Sendable () throws -> Value
) async throws -> Value {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.name = name
        thread.start()
    }
}
