import CloudEvents
import Foundation

/// One header line of a raw HTTP request: the name exactly as sent, the value as bytes.
public struct RawHTTPHeader: Sendable, Hashable {
    /// The name, in the sender's casing.
    public var name: String
    /// The value's bytes, without the surrounding optional whitespace.
    public var value: [UInt8]

    /// A header `name: value`.
    ///
    /// - Parameters:
    ///   - name: the name as sent.
    ///   - value: the value's bytes.
    public init(name: String, value: [UInt8]) {
        self.name = name
        self.value = value
    }

    /// A header whose value is `value`'s UTF-8 bytes.
    ///
    /// - Parameters:
    ///   - name: the name as sent.
    ///   - value: the value as text.
    public init(_ name: String, _ value: String) {
        self.init(name: name, value: Array(value.utf8))
    }
}

/// An HTTP request as it came off the socket, before any decoder saw it.
public struct RawHTTPRequest: Sendable, Hashable {
    /// The method (`POST`).
    public var method: String
    /// The request target (`/conformance/cell`).
    public var target: String
    /// The header lines in order.
    public var headers: [RawHTTPHeader]
    /// The body (de-chunked when it came chunked).
    public var body: [UInt8]

    /// A request with these parts.
    ///
    /// - Parameters:
    ///   - method: the method.
    ///   - target: the request target.
    ///   - headers: the header lines.
    ///   - body: the body.
    public init(method: String = "POST", target: String = "/", headers: [RawHTTPHeader], body: [UInt8]) {
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
    }

    /// The headers named `name`, compared case-insensitively as HTTP requires.
    public func headers(named name: String) -> [RawHTTPHeader] {
        headers.filter { $0.name.lowercased() == name.lowercased() }
    }
}

/// A loopback TCP listener that takes HTTP/1.1 requests one at a time, answers each
/// `202 Accepted` (`Content-Length: 0`, `Connection: close`), and keeps the raw header lines
/// and body: what a sender put on the wire, read without the HTTP binding's decoder.
public final class RawHTTPCapture: Sendable {
    /// The port it listens on (on `127.0.0.1`).
    public let port: Int
    private let listener: WireSocket
    private struct State {
        var requests: [RawHTTPRequest] = []
        var errors: [String] = []
        var stopped = false
    }
    private let state = Locked(State())

    /// The largest request head and body it reads.
    static let maximumHead = 64 * 1024
    static let maximumBody = 16 * 1024 * 1024

    private init() throws(WireProbeError) {
        (listener, port) = try WireSocket.listenOnLoopback()
    }

    /// Runs a capture for the duration of `body`, on a thread of its own, and closes it on
    /// every path.
    ///
    /// - Parameter body: what to do with the capture (point a sender at ``port``).
    /// - Returns: what `body` returns.
    /// - Throws: ``WireProbeError`` when the listener cannot be opened, or what `body` throws.
    public static func withCapture<Result: Sendable>(_ body: (RawHTTPCapture) async throws -> Result) async throws -> Result {
        let capture = try RawHTTPCapture()
        // The accept loop's thread starts here, not from a task: a test run whose concurrency
        // pool is busy must not leave connections waiting in the backlog meanwhile.
        let (ended, end) = AsyncStream<Void>.makeStream()
        let thread = Thread {
            capture.serve()
            end.finish()
        }
        thread.name = "raw-http-capture"
        thread.start()
        let outcome: Swift.Result<Result, any Error>
        do { outcome = .success(try await body(capture)) } catch { outcome = .failure(error) }
        capture.state.withLock { $0.stopped = true }
        for await _ in ended {}
        capture.listener.close()
        return try outcome.get()
    }

    /// The errors met reading requests (a malformed head, an over-long body), in order.
    public var errors: [String] { state.withLock { $0.errors } }

    /// The next captured request, or `nil` when none arrives before `deadline`.
    public func next(before deadline: ContinuousClock.Instant) async -> RawHTTPRequest? {
        while true {
            if let request = state.withLock({ $0.requests.isEmpty ? nil : $0.requests.removeFirst() }) { return request }
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(2))
            if Task.isCancelled { return nil }
        }
    }

    /// The accept loop: one connection at a time, until stopped.
    private func serve() {
        while !state.withLock({ $0.stopped }) {
            let connection: WireSocket?
            do { connection = try listener.accept(milliseconds: 20) } catch {
                state.withLock { $0.errors.append("\(error)") }
                return
            }
            guard let connection else { continue }
            defer { connection.close() }
            do {
                if let request = try Self.readRequest(from: connection) {
                    state.withLock { $0.requests.append(request) }
                    try connection.write(
                        Array("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8))
                }
            } catch {
                state.withLock { $0.errors.append("\(error)") }
                try? connection.write(
                    Array("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8))
            }
        }
    }

    /// Reads one request; `nil` when the peer closed before sending one. Each read waits at
    /// most 5 s.
    static func readRequest(from connection: WireSocket) throws(WireProbeError) -> RawHTTPRequest? {
        var buffer: [UInt8] = []
        func more() throws(WireProbeError) -> Bool {
            guard let bytes = try connection.read(milliseconds: 5000) else {
                throw WireProbeError(operation: "read an HTTP request", reason: "no bytes within 5 s")
            }
            buffer += bytes
            return !bytes.isEmpty
        }
        var headEnd: Int?
        while headEnd == nil {
            headEnd = endOfHead(buffer)
            if headEnd != nil { break }
            guard buffer.count <= maximumHead else {
                throw WireProbeError(operation: "read an HTTP request", reason: "head over \(maximumHead) bytes")
            }
            guard try more() else {
                if buffer.isEmpty { return nil }
                throw WireProbeError(operation: "read an HTTP request", reason: "the peer closed mid-head")
            }
        }
        var request = try parseHead(Array(buffer[..<headEnd!]))
        var rest = Array(buffer[(headEnd! + 4)...])
        buffer = []
        let chunked = request.headers(named: "Transfer-Encoding").contains {
            String(decoding: $0.value, as: UTF8.self).lowercased().contains("chunked")
        }
        if chunked {
            request.body = try readChunked(&rest, connection: connection)
        } else if let length = request.headers(named: "Content-Length").first {
            guard let count = Int(String(decoding: length.value, as: UTF8.self)), (0...maximumBody).contains(count) else {
                throw WireProbeError(operation: "read an HTTP request", reason: "bad Content-Length")
            }
            while rest.count < count {
                guard let bytes = try connection.read(milliseconds: 5000), !bytes.isEmpty else {
                    throw WireProbeError(operation: "read an HTTP request body", reason: "ended or stalled early")
                }
                rest += bytes
            }
            request.body = Array(rest.prefix(count))
        }
        return request
    }

    private static func endOfHead(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index
        }
        return nil
    }

    /// Parses a request head (without its final empty line): the request line, then header
    /// lines split at the first `:`, values trimmed of spaces and tabs, names kept as sent.
    static func parseHead(_ head: [UInt8]) throws(WireProbeError) -> RawHTTPRequest {
        var lines: [[UInt8]] = []
        var start = 0
        var index = 0
        while index < head.count {
            if head[index] == 13, index + 1 < head.count, head[index + 1] == 10 {
                lines.append(Array(head[start..<index]))
                index += 2
                start = index
            } else {
                index += 1
            }
        }
        lines.append(Array(head[start...]))
        let requestLine = String(decoding: lines[0], as: UTF8.self).split(separator: " ")
        guard requestLine.count == 3 else {
            throw WireProbeError(operation: "parse an HTTP request", reason: "bad request line")
        }
        var headers: [RawHTTPHeader] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
                throw WireProbeError(operation: "parse an HTTP request", reason: "header line without ':'")
            }
            var value = line[(colon + 1)...]
            while let first = value.first, first == 32 || first == 9 { value.removeFirst() }
            while let last = value.last, last == 32 || last == 9 { value.removeLast() }
            headers.append(RawHTTPHeader(name: String(decoding: line[..<colon], as: UTF8.self), value: Array(value)))
        }
        return RawHTTPRequest(
            method: String(requestLine[0]), target: String(requestLine[1]), headers: headers, body: [])
    }

    /// Reads a chunked body whose first bytes are in `rest`.
    private static func readChunked(_ rest: inout [UInt8], connection: WireSocket) throws(WireProbeError) -> [UInt8] {
        var body: [UInt8] = []
        func line() throws(WireProbeError) -> [UInt8] {
            while true {
                if let end = rest.indices.dropLast().first(where: { rest[$0] == 13 && rest[$0 + 1] == 10 }) {
                    defer { rest.removeFirst(end + 2) }
                    return Array(rest[..<end])
                }
                guard rest.count < maximumHead, let bytes = try connection.read(milliseconds: 5000), !bytes.isEmpty
                else { throw WireProbeError(operation: "read a chunked body", reason: "ended or stalled early") }
                rest += bytes
            }
        }
        while true {
            let sizeText = String(decoding: try line(), as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16),
                size >= 0, body.count + size <= maximumBody
            else { throw WireProbeError(operation: "read a chunked body", reason: "bad chunk size '\(sizeText)'") }
            if size == 0 {
                while !(try line()).isEmpty {}
                return body
            }
            while rest.count < size + 2 {
                guard let bytes = try connection.read(milliseconds: 5000), !bytes.isEmpty else {
                    throw WireProbeError(operation: "read a chunked body", reason: "ended or stalled early")
                }
                rest += bytes
            }
            body += rest[..<size]
            rest.removeFirst(size + 2)
        }
    }
}
