import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A plain TCP connection on loopback, for what HTTP clients do not let a test do:
/// pipelining, waiting for `100 Continue`, half a request line, a body that stops.
///
/// Unchecked: each socket belongs to one test, which makes one call at a time; the blocking
/// `recv` runs on a thread of its own (not the concurrency pool) only while that test
/// awaits it.
final class RawSocket: @unchecked Sendable {
    private let fd: Int32
    private var received: [UInt8] = []

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RawSocketError("socket() failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw RawSocketError("connect() to 127.0.0.1:\(port) failed: errno \(errno)")
        }
    }

    deinit { close(fd) }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        #expect(bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count)
    }

    /// Everything received until the peer closed the connection (`closed` true), or until
    /// `limit` passed (`closed` false).
    func readUntilClosed(within limit: Duration) async -> (text: String, closed: Bool) {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(returning: self.receiveBlocking(within: limit, until: { _ in false }))
            }
        }
    }

    /// Everything received so far, once it holds `statusLines` status lines in all and ends
    /// with a complete head (the responses here have no body or a one-line one), or after `limit`.
    func read(statusLines: Int, within limit: Duration) async -> String {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                let (text, _) = self.receiveBlocking(within: limit) { text in
                    text.components(separatedBy: "HTTP/1.1 ").count > statusLines && text.hasSuffix("\r\n\r\n")
                }
                continuation.resume(returning: text)
            }
        }
    }

    private func receiveBlocking(within limit: Duration, until done: (String) -> Bool) -> (String, Bool) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            let text = String(decoding: received, as: UTF8.self)
            if done(text) { return (text, false) }
            // Wait at most until the deadline, in steps, so that the loop ends in time.
            var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { return (String(decoding: received, as: UTF8.self), true) }
            if count < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { continue }
                // A reset closes the connection too.
                return (String(decoding: received, as: UTF8.self), true)
            }
            received += buffer[..<count]
        }
        return (String(decoding: received, as: UTF8.self), false)
    }
}

/// Why a ``RawSocket`` could not connect.
struct RawSocketError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
