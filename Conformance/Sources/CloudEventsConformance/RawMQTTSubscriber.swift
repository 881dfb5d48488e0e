import CloudEvents
import Foundation

/// A minimal MQTT client over a plain TCP socket: CONNECT (5 or 3.1.1, clean start, no
/// credentials), SUBSCRIBE to one filter at QoS 1, then PUBLISH packets read and parsed
/// with ``RawMQTTPacket`` (each QoS 1 one acknowledged), and DISCONNECT. It reads what a
/// publisher put on the wire without the MQTT binding.
public final class RawMQTTSubscriber: Sendable {
    /// The version it connected with.
    public let version: RawMQTTVersion
    private let socket: WireSocket
    private struct State {
        var publishes: [RawMQTTPublish] = []
        var errors: [String] = []
        var stopped = false
    }
    private let state = Locked(State())

    private init(socket: WireSocket, version: RawMQTTVersion) {
        self.socket = socket
        self.version = version
    }

    /// Connects to `host:port`, subscribes to `topic`, runs `body`, and disconnects on every
    /// path. The handshake waits at most `timeout` for each answer.
    ///
    /// - Parameters:
    ///   - host: the broker's host.
    ///   - port: the broker's plain MQTT port.
    ///   - version: the protocol version to connect with.
    ///   - topic: the topic (or filter) to subscribe to before `body` runs.
    ///   - timeout: how long the broker may take to answer CONNECT and SUBSCRIBE.
    ///   - body: what to do while subscribed.
    /// - Returns: what `body` returns.
    /// - Throws: ``WireProbeError`` when the connection or subscription fails, or what `body`
    ///   throws.
    public static func withSubscriber<Result: Sendable>(
        host: String, port: Int, version: RawMQTTVersion, topic: String, timeout: Duration = .seconds(30),
        _ body: (RawMQTTSubscriber) async throws -> Result
    ) async throws -> Result {
        let milliseconds = Int32(clamping: timeout.milliseconds)
        let subscriber = try await runOnOwnThread(named: "raw-mqtt-connect") { () throws -> RawMQTTSubscriber in
            let socket = try WireSocket.connect(host: host, port: port)
            let subscriber = RawMQTTSubscriber(socket: socket, version: version)
            try subscriber.handshake(topic: topic, milliseconds: milliseconds)
            return subscriber
        }
        return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
            group.addTask { try await runOnOwnThread(named: "raw-mqtt-reader") { subscriber.readLoop() } }
            let outcome: Swift.Result<Result, any Error>
            do { outcome = .success(try await body(subscriber)) } catch { outcome = .failure(error) }
            subscriber.state.withLock { $0.stopped = true }
            try await group.waitForAll()
            try? subscriber.socket.write(RawMQTTPacket.disconnect)
            subscriber.socket.close()
            return try outcome.get()
        }
    }

    /// Errors the reader met after the subscription (a malformed packet, a lost connection).
    public var errors: [String] { state.withLock { $0.errors } }

    /// The next PUBLISH, or `nil` when none arrives before `deadline`.
    public func next(before deadline: ContinuousClock.Instant) async -> RawMQTTPublish? {
        while true {
            if let publish = state.withLock({ $0.publishes.isEmpty ? nil : $0.publishes.removeFirst() }) {
                return publish
            }
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(2))
            if Task.isCancelled { return nil }
        }
    }

    private let buffer = Locked([UInt8]())

    /// The next whole packet, reading as needed; `nil` when none came within `milliseconds`.
    private func nextFrame(milliseconds: Int32) throws(WireProbeError) -> RawMQTTPacket.Frame? {
        let deadline = ContinuousClock.now + .milliseconds(Int(milliseconds))
        while true {
            if let frame = try buffer.withLock({ (buffer) throws(WireProbeError) in try RawMQTTPacket.frame(&buffer) }) {
                return frame
            }
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return nil }
            guard let bytes = try socket.read(milliseconds: Int32(clamping: max(1, left.milliseconds))) else { return nil }
            guard !bytes.isEmpty else { throw WireProbeError(operation: "read from the broker", reason: "connection closed") }
            buffer.withLock { $0 += bytes }
        }
    }

    private func handshake(topic: String, milliseconds: Int32) throws(WireProbeError) {
        let clientID = "ce-raw-\(UInt32.random(in: 0...UInt32.max))"
        try socket.write(RawMQTTPacket.connect(clientID: clientID, version: version))
        guard let connack = try nextFrame(milliseconds: milliseconds), connack.type == 2, connack.body.count >= 2 else {
            throw WireProbeError(operation: "read CONNACK", reason: "no CONNACK within the timeout")
        }
        guard connack.body[1] == 0 else {
            throw WireProbeError(operation: "connect", reason: "the broker refused with code \(connack.body[1])")
        }
        try socket.write(RawMQTTPacket.subscribe(filter: topic, version: version))
        guard let suback = try nextFrame(milliseconds: milliseconds), suback.type == 9, let code = suback.body.last
        else { throw WireProbeError(operation: "read SUBACK", reason: "no SUBACK within the timeout") }
        guard code <= 2 else { throw WireProbeError(operation: "subscribe to \(topic)", reason: "reason code \(code)") }
    }

    /// Reads packets until stopped: PUBLISHes are parsed, kept and acknowledged; anything
    /// else is ignored.
    private func readLoop() {
        while !state.withLock({ $0.stopped }) {
            do {
                guard let frame = try nextFrame(milliseconds: 20), frame.type == 3 else { continue }
                let publish = try RawMQTTPacket.publish(frame, version: version)
                state.withLock { $0.publishes.append(publish) }
                if let id = publish.packetID { try socket.write(RawMQTTPacket.puback(id)) }
            } catch {
                state.withLock { $0.errors.append("\(error)") }
                return
            }
        }
    }
}
