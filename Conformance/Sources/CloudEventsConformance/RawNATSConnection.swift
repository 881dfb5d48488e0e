import CloudEvents
import Foundation

/// A minimal NATS client over a plain TCP socket: reads `INFO`, sends `CONNECT`
/// (`{"verbose":false,"pedantic":false,"headers":true,"protocol":1}`, with `user`/`pass` or
/// `auth_token` when given), optionally `SUB` to one subject, and waits for the `PONG` to a
/// `PING`; then a reader thread parses `MSG`/`HMSG` with ``RawNATSProtocol`` and answers
/// `PING`s. It reads what a publisher put on the wire, and publishes bytes a test chose
/// (`PUB`/`HPUB`), without the NATS binding's client or decoder.
public final class RawNATSConnection: Sendable {
    private let socket: WireSocket
    private struct State {
        var messages: [RawNATSMessage] = []
        var errors: [String] = []
        var pongs = 0
        var stopped = false
    }
    private let state = Locked(State())
    /// Serialises writes: the reader thread answers `PING`s while a test publishes.
    private let writing = Locked(())
    private let buffer = Locked([UInt8]())
    /// The server's `INFO` JSON.
    public let serverInfo: String

    private init(socket: WireSocket, serverInfo: String) {
        self.socket = socket
        self.serverInfo = serverInfo
    }

    /// Connects to `host:port`, subscribes to `subject` when one is given, runs `body`, and
    /// closes on every path. The handshake waits at most `timeout` for each answer.
    ///
    /// - Parameters:
    ///   - host: the server's host.
    ///   - port: the server's client port.
    ///   - username: the user, or with no `password` the token; `nil` for none.
    ///   - password: the password.
    ///   - subject: the subject (wildcards allowed) to subscribe to before `body` runs, or `nil`.
    ///   - timeout: how long the server may take to send `INFO` and answer the `PING`.
    ///   - body: what to do while connected.
    /// - Returns: what `body` returns.
    /// - Throws: ``WireProbeError`` when the connection, the handshake or the subscription
    ///   fails (a `-ERR` names the server's reason), or what `body` throws.
    public static func withConnection<Result: Sendable>(
        host: String, port: Int, username: String? = nil, password: String? = nil, subscribingTo subject: String? = nil,
        timeout: Duration = .seconds(30), _ body: (RawNATSConnection) async throws -> Result
    ) async throws -> Result {
        let milliseconds = Int32(clamping: timeout.milliseconds)
        let connection = try await runOnOwnThread(named: "raw-nats-connect") { () throws -> RawNATSConnection in
            let socket = try WireSocket.connect(host: host, port: port)
            var pending: [UInt8] = []
            guard case .info(let info)? = try Self.nextFrame(socket, &pending, milliseconds: milliseconds) else {
                throw WireProbeError(operation: "read INFO from \(host):\(port)", reason: "no INFO within the timeout")
            }
            let connection = RawNATSConnection(socket: socket, serverInfo: info)
            connection.buffer.withLock { $0 = pending }
            try connection.handshake(username: username, password: password, subject: subject, milliseconds: milliseconds)
            return connection
        }
        return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
            group.addTask { try await runOnOwnThread(named: "raw-nats-reader") { connection.readLoop() } }
            let outcome: Swift.Result<Result, any Error>
            do { outcome = .success(try await body(connection)) } catch { outcome = .failure(error) }
            connection.state.withLock { $0.stopped = true }
            try await group.waitForAll()
            connection.socket.close()
            return try outcome.get()
        }
    }

    /// Errors the reader met after the handshake (a malformed command, `-ERR`, a lost connection).
    public var errors: [String] { state.withLock { $0.errors } }

    /// The next message, or `nil` when none arrives before `deadline`.
    public func next(before deadline: ContinuousClock.Instant) async -> RawNATSMessage? {
        while true {
            if let message = state.withLock({ $0.messages.isEmpty ? nil : $0.messages.removeFirst() }) {
                return message
            }
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(2))
            if Task.isCancelled { return nil }
        }
    }

    /// Publishes `message` as written (``RawNATSMessage/publishCommand``), headers and all,
    /// unchecked: the bytes a test chose, valid CloudEvents or not.
    ///
    /// - Throws: ``WireProbeError`` when the socket write fails.
    public func publish(_ message: RawNATSMessage) throws(WireProbeError) {
        try write(message.publishCommand)
    }

    /// Sends `PING` and waits for its `PONG`: the server has processed everything sent before.
    ///
    /// - Throws: ``WireProbeError`` when no `PONG` comes within `timeout` or the write fails.
    public func flush(timeout: Duration = .seconds(30)) async throws(WireProbeError) {
        let before = state.withLock { $0.pongs }
        try write(Array("PING\r\n".utf8))
        let deadline = ContinuousClock.now + timeout
        while state.withLock({ $0.pongs }) <= before {
            if let error = state.withLock({ $0.errors.first }) {
                throw WireProbeError(operation: "flush", reason: error)
            }
            guard ContinuousClock.now < deadline else {
                throw WireProbeError(operation: "flush", reason: "no PONG within \(timeout)")
            }
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    private func write(_ bytes: [UInt8]) throws(WireProbeError) {
        try writing.withLock { (_) throws(WireProbeError) in try socket.write(bytes) }
    }

    private static func nextFrame(_ socket: WireSocket, _ pending: inout [UInt8], milliseconds: Int32)
        throws(WireProbeError) -> RawNATSProtocol.Frame?
    {
        let deadline = ContinuousClock.now + .milliseconds(Int(milliseconds))
        while true {
            if let frame = try RawNATSProtocol.frame(&pending) { return frame }
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return nil }
            guard let bytes = try socket.read(milliseconds: Int32(clamping: max(1, left.milliseconds))) else { return nil }
            guard !bytes.isEmpty else {
                throw WireProbeError(operation: "read from the NATS server", reason: "connection closed")
            }
            pending += bytes
        }
    }

    private func nextFrame(milliseconds: Int32) throws(WireProbeError) -> RawNATSProtocol.Frame? {
        var pending = buffer.withLock { $0 }
        defer { buffer.withLock { $0 = pending } }
        return try Self.nextFrame(socket, &pending, milliseconds: milliseconds)
    }

    /// The `CONNECT` JSON: no echo of options beyond what the probe needs.
    static func connectJSON(username: String?, password: String?) -> String {
        var fields = [#""verbose":false"#, #""pedantic":false"#, #""headers":true"#, #""protocol":1"#]
        let quote = { (text: String) -> String in
            let data = (try? JSONSerialization.data(withJSONObject: [text], options: [])) ?? Data("[\"\"]".utf8)
            return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
        }
        if let username, let password {
            fields += [#""user":"# + quote(username), #""pass":"# + quote(password)]
        } else if let username {
            fields.append(#""auth_token":"# + quote(username))
        }
        return "{" + fields.joined(separator: ",") + "}"
    }

    private func handshake(username: String?, password: String?, subject: String?, milliseconds: Int32)
        throws(WireProbeError)
    {
        var command = "CONNECT \(Self.connectJSON(username: username, password: password))\r\n"
        if let subject { command += "SUB \(subject) 1\r\n" }
        try write(Array((command + "PING\r\n").utf8))
        while true {
            switch try nextFrame(milliseconds: milliseconds) {
            case .pong?: return
            case .error(let reason)?: throw WireProbeError(operation: "connect and subscribe", reason: "-ERR \(reason)")
            case .ping?: try write(Array("PONG\r\n".utf8))
            case nil: throw WireProbeError(operation: "connect and subscribe", reason: "no PONG within the timeout")
            case .info?, .ok?, .message?: continue
            }
        }
    }

    /// Reads commands until stopped: messages are kept, `PING`s answered, `PONG`s counted,
    /// `-ERR`s recorded.
    private func readLoop() {
        while !state.withLock({ $0.stopped }) {
            do {
                switch try nextFrame(milliseconds: 20) {
                case .message(_, let message)?: state.withLock { $0.messages.append(message) }
                case .ping?: try write(Array("PONG\r\n".utf8))
                case .pong?: state.withLock { $0.pongs += 1 }
                case .error(let reason)?: state.withLock { $0.errors.append("-ERR \(reason)") }
                case .info?, .ok?, nil: continue
                }
            } catch {
                state.withLock { $0.errors.append("\(error)") }
                return
            }
        }
    }
}
