#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A TCP socket bound to a loopback port but not listening: connections to the port are
/// refused, and the kernel gives the port to no one else's `bind(port: 0)` (it skips ports
/// in use when it picks one), so a stopped ``ControllableSink`` gets its port back, and a
/// bridge never reaches another test's sink there.
///
/// `SO_REUSEADDR` is set so that the bind succeeds while connections of the closed
/// listener linger in TIME_WAIT.
struct PortReservation: Sendable {
    /// The reserved port.
    let port: Int
    private let fd: Int32

    /// Reserves `port` on 127.0.0.1 (0: a free one) until ``release()``.
    ///
    /// - Throws: ``SinkError`` when the port is taken.
    init(port: Int = 0) throws {
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw SinkError(message: "socket: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else {
            let error = errno
            close(fd)
            throw SinkError(message: "cannot reserve 127.0.0.1:\(port): errno \(error)")
        }
        self.fd = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    /// Gives the port up (just before a listener binds it). Call it once.
    func release() {
        close(fd)
    }
}
