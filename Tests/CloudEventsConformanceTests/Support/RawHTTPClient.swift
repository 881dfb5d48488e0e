import CloudEvents
import Dispatch
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One HTTP/1.1 response as read from the socket, not through any HTTP library.
struct RawHTTPResponse: Sendable, CustomStringConvertible {
    /// A header line of the response.
    struct Field: Sendable {
        var name: String
        var value: String
    }

    /// The status code of the status line.
    var status: Int
    /// The status line, as sent.
    var statusLine: String
    /// The header fields, in order.
    var fields: [Field]
    /// The body (`Content-Length` bytes).
    var body: [UInt8]

    /// The body as text.
    var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// The first value of the field `name` (case-insensitive).
    func field(_ name: String) -> String? {
        fields.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    var description: String { "\(statusLine) | \(bodyText)" }
}

/// Why a raw exchange failed (connecting, writing, reading, or a response that is not HTTP).
struct RawHTTPError: Error, CustomStringConvertible {
    var description: String
}

/// Writes an HTTP/1.1 request as raw bytes on a plain loopback TCP socket and reads the raw
/// response: for requests that an HTTP client library would refuse to build or would
/// normalise (repeated or differently cased fields, bytes beyond ASCII in a value).
///
/// The socket calls block, so they run on a Dispatch queue, never on the cooperative pool;
/// every call is bounded by `timeout` (`SO_RCVTIMEO`/`SO_SNDTIMEO`, and a deadline over the
/// whole exchange).
enum RawHTTPClient {
    /// The bytes of a `POST` request: the request line, `Host`, `fields` exactly as given
    /// (names and values as UTF-8, in order, repeats included), `Content-Length`, the body.
    static func post(path: String, host: String, fields: [(name: String, value: String)], body: [UInt8]) -> [UInt8] {
        var head = "POST \(path) HTTP/1.1\r\nHost: \(host)\r\n"
        for field in fields { head += "\(field.name): \(field.value)\r\n" }
        head += "Content-Length: \(body.count)\r\n\r\n"
        return Array(head.utf8) + body
    }

    /// Connects to `127.0.0.1:port`, writes `request`, reads one response and closes.
    ///
    /// - Throws: ``RawHTTPError`` naming the step that failed or timed out.
    static func exchange(_ request: [UInt8], port: Int, timeout: Duration = .seconds(30)) async throws -> RawHTTPResponse {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try blockingExchange(request, port: port, timeout: timeout) })
            }
        }
    }

    private static func blockingExchange(_ request: [UInt8], port: Int, timeout: Duration) throws -> RawHTTPResponse {
        let deadline = ContinuousClock.now + timeout
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw RawHTTPError(description: "socket: errno \(errno)") }
        defer { close(fd) }
        let milliseconds = Swift.max(1, timeout.milliseconds)
        var interval = timeval(tv_sec: .init(milliseconds / 1000), tv_usec: .init(milliseconds % 1000 * 1000))
        let size = socklen_t(MemoryLayout<timeval>.size)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &interval, size)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &interval, size)

        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else { throw RawHTTPError(description: "connect to 127.0.0.1:\(port): errno \(errno)") }

        var written = 0
        while written < request.count {
            guard ContinuousClock.now < deadline else {
                throw RawHTTPError(description: "writing the request timed out after \(written) bytes")
            }
            let count = request.withUnsafeBytes { send(fd, $0.baseAddress! + written, request.count - written, 0) }
            guard count > 0 else {
                throw RawHTTPError(description: "writing the request failed after \(written) bytes: errno \(errno)")
            }
            written += count
        }

        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        // Bounded by the deadline and by size: a response here is a line of text.
        while ContinuousClock.now < deadline, received.count < 1 << 20 {
            if let response = try parse(received) { return response }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 {
                if let response = try parse(received, atEnd: true) { return response }
                throw RawHTTPError(
                    description: "the connection closed before a whole response (\(received.count) bytes: "
                        + "\(String(decoding: received, as: UTF8.self)))")
            }
            guard count > 0 else {
                throw RawHTTPError(description: "reading the response failed or timed out: errno \(errno)")
            }
            received += chunk[..<count]
        }
        throw RawHTTPError(description: "no whole response within \(timeout) (\(received.count) bytes)")
    }

    /// The response in `bytes`, or `nil` while it is incomplete.
    private static func parse(_ bytes: [UInt8], atEnd: Bool = false) throws -> RawHTTPResponse? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard bytes.count >= 4,
            let headEnd = (0...(bytes.count - 4)).first(where: { bytes[$0..<($0 + 4)].elementsEqual(separator) })
        else { return nil }
        let lines = String(decoding: bytes[..<headEnd], as: UTF8.self).components(separatedBy: "\r\n")
        let statusLine = lines.first ?? ""
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw RawHTTPError(description: "not an HTTP/1 status line: '\(statusLine)'")
        }
        let fields = lines.dropFirst().compactMap { line -> RawHTTPResponse.Field? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return RawHTTPResponse.Field(
                name: String(line[..<colon]),
                value: line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        let bodyStart = headEnd + 4
        let response = RawHTTPResponse(status: status, statusLine: statusLine, fields: fields, body: [])
        guard let lengthText = response.field("Content-Length") else {
            // Without a length, the body runs to the end of the connection.
            return atEnd
                ? RawHTTPResponse(
                    status: status, statusLine: statusLine, fields: fields, body: Array(bytes[bodyStart...])) : nil
        }
        guard let length = Int(lengthText), length >= 0 else {
            throw RawHTTPError(description: "Content-Length '\(lengthText)' is not a length")
        }
        guard bytes.count - bodyStart >= length else { return nil }
        return RawHTTPResponse(
            status: status, statusLine: statusLine, fields: fields, body: Array(bytes[bodyStart..<(bodyStart + length)]))
    }
}
