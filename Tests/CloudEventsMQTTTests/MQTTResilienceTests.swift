import CloudEvents
import Foundation
import Synchronization
import Testing

@testable import CloudEventsMQTT

#if canImport(Glibc)
    import Glibc
#endif

/// Reconnection, persistence, back-pressure and wills, against real brokers: the shared
/// one, and a private mosquitto this suite restarts.
@Suite(.mqttBroker, .timeLimit(.minutes(2)))
struct MQTTResilienceTests {
    @Test func aBrokerRestartMidStreamLosesNoQoS1MessageWithAPersistentSession() async throws {
        let broker = try PrivateBroker()
        defer { broker.stop() }
        var subscriberConfiguration = broker.configuration(clientID: Broker.uniqueID("sub"))
        subscriberConfiguration.cleanStart = false
        let subscriber = try await MQTTClient.connect(configuration: subscriberConfiguration)
        let publisher = try await MQTTClient.connect(configuration: broker.configuration(clientID: Broker.uniqueID("pub")))
        let topic = Broker.uniqueTopic()
        let stream = try await subscriber.subscribe(to: topic, qos: .atLeastOnce)
        let count = 200
        let received = Task {
            // Distinct ids until all arrived (QoS 1 may deliver one twice), or 30 s passed.
            try await withThrowingTaskGroup(of: Set<String>.self) { group in
                group.addTask {
                    var ids = Set<String>()
                    for try await delivery in stream {
                        ids.insert(try delivery.event().id)
                        if ids.count == count { break }
                    }
                    return ids
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(30))
                    return []
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
        }
        for index in 0..<count {
            if index == count / 2 { try broker.restart() }
            var event = sampleEvent
            event.id = "\(index)"
            // Waits through the restart: the client reconnects, then the publish is acknowledged.
            try await publisher.publish(try event.mqttMessage(topic: topic, qos: .atLeastOnce))
        }
        let ids = try await received.value
        #expect(ids.count == count, "missing: \(Set((0..<count).map(String.init)).subtracting(ids).sorted().prefix(10))")
        #expect(subscriber.connectionCount >= 2, "the subscriber reconnected")
        #expect(publisher.connectionCount >= 2, "the publisher reconnected")
        await publisher.shutdown()
        await subscriber.shutdown()
    }

    @Test func duringALongReconnectBackoffAPublishTimesOutOnTimeAndShutdownIsPrompt() async throws {
        let broker = try PrivateBroker()
        var configuration = broker.configuration(clientID: Broker.uniqueID("backoff"))
        // The first reconnect comes 8 to 12 s after the loss; the operation timeout is 1 s.
        configuration.reconnect = .exponential(initial: .seconds(10), maximum: .seconds(10))
        configuration.operationTimeout = .seconds(1)
        let client = try await MQTTClient.connect(configuration: configuration)
        broker.stop()
        for _ in 0..<200 where client.isConnected { try await Task.sleep(for: .milliseconds(25)) }
        try #require(!client.isConnected)

        let clock = ContinuousClock()
        let start = clock.now
        await #expect { try await client.publish(MQTTMessage(topic: "t", payload: [1])) } throws: { error in
            (error as? TransportError)?.code == .timedOut
        }
        #expect(clock.now - start < .seconds(5), "failed at its deadline, not after the backoff")

        let shutdownStart = clock.now
        await client.shutdown()
        #expect(clock.now - shutdownStart < .seconds(5), "the backoff does not hold up the shutdown")
        #expect(client.connectionCount == 1)
    }

    @Test func aConsumerPausingLongerThanTheKeepaliveKeepsItsConnectionAndItsMessages() async throws {
        var configuration = Broker.configuration()
        configuration.keepAlive = .seconds(5)
        configuration.receiveBufferCapacity = 8
        let topic = Broker.uniqueTopic()
        let consumer = try await MQTTClient.connect(configuration: configuration)
        let stream = try await consumer.subscribe(to: topic)
        let count = 300
        try await MQTTClient.withClient(configuration: Broker.configuration()) { publisher in
            for index in 0..<count {
                var event = sampleEvent
                event.id = "\(index)"
                try await publisher.publish(try event.mqttMessage(topic: topic, qos: .atLeastOnce))
            }
        }
        // Not reading for more than twice the keepalive (the broker drops a client after 1.5×).
        try await Task.sleep(for: .seconds(12))
        #expect(consumer.isConnected)
        let deliveries = try await collect(count, from: stream, timeout: .seconds(15))
        #expect(deliveries.count == count)
        #expect(try deliveries.map { try $0.event().id } == (0..<count).map(String.init), "all, in order")
        #expect(consumer.connectionCount == 1, "never reconnected")
        await consumer.shutdown()
    }

    @Test func aLostConnectionPublishesTheWillAndTheClientResubscribes() async throws {
        let willTopic = Broker.uniqueTopic("will")
        let topic = Broker.uniqueTopic("after")
        var configuration = Broker.configuration()
        configuration.will = try sampleEvent.mqttMessage(topic: willTopic, qos: .atLeastOnce)
        let watcher = try await MQTTClient.connect(configuration: Broker.configuration())
        let wills = try await watcher.subscribe(to: willTopic)
        let client = try await MQTTClient.connect(configuration: configuration)
        let stream = try await client.subscribe(to: topic)

        client.simulateConnectionLoss()
        let will = try #require(try await collect(1, from: wills).first, "the broker published the will")
        #expect(differences(sampleEvent, try will.event()) == [])

        let deadline = ContinuousClock.now + .seconds(10)
        while client.connectionCount < 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(client.connectionCount == 2)
        // Clean start: the session is gone, so only the client's resubscription brings this.
        try await Task.sleep(for: .milliseconds(200))
        try await watcher.publish(try sampleEvent.mqttMessage(topic: topic))
        #expect(differences(sampleEvent, try await collect(1, from: stream).first?.event()) == [])

        // A clean shutdown sends DISCONNECT: no will.
        await client.shutdown()
        #expect(try await collect(1, from: wills, timeout: .seconds(1)).isEmpty)
        await watcher.shutdown()
    }

    @Test func aQoS0PublishLostWithTheConnectionFailsInsteadOfHanging() async throws {
        // Not a guarantee test, a liveness one: whatever happens to a QoS 0 publish racing a
        // lost connection, the call returns within the operation timeout.
        let topic = Broker.uniqueTopic()
        try await MQTTClient.withClient(configuration: Broker.configuration()) { client in
            async let publishes: Void = withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<100 {
                    group.addTask { try? await client.publish(try sampleEvent.mqttMessage(topic: topic, qos: .atMostOnce)) }
                }
                try await group.waitForAll()
            }
            client.simulateConnectionLoss()
            try await publishes
            try await client.publish(try sampleEvent.mqttMessage(topic: topic, qos: .atLeastOnce))
        }
    }
}

/// A mosquitto of this suite's own (so restarting it disturbs no other test), with
/// persistence in a temporary directory, on a free loopback port.
final class PrivateBroker {
    let port: Int
    let directory: URL
    private var pid: pid_t = 0

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ce-mqtt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        port = try freePort()
        let user = ProcessInfo.processInfo.environment["USER"] ?? String(cString: getpwuid(getuid())!.pointee.pw_name)
        let configuration = """
            listener \(port) 127.0.0.1
            allow_anonymous true
            persistence true
            persistence_location \(directory.path)/
            user \(user)
            log_dest file \(directory.path)/mosquitto.log

            """
        try configuration.write(to: directory.appendingPathComponent("mosquitto.conf"), atomically: true, encoding: .utf8)
        try start()
    }

    func configuration(clientID: String) -> MQTTClientConfiguration {
        MQTTClientConfiguration(
            host: "127.0.0.1", port: port, clientID: clientID, cleanStart: true, keepAlive: .seconds(5),
            reconnect: .exponential(initial: .milliseconds(50), maximum: .milliseconds(500)),
            operationTimeout: .seconds(20))
    }

    private func start() throws {
        pid = try spawnWithDefaultSignals(tool("mosquitto"), ["-c", directory.appendingPathComponent("mosquitto.conf").path])
        // Ready when the port accepts connections.
        for _ in 0..<100 {
            if canConnect(port) { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw TransportError(.connectionFailed, "the private mosquitto did not start on port \(port)")
    }

    /// SIGTERM (mosquitto saves its sessions and queued messages), then start again.
    func restart() throws {
        terminate()
        try start()
    }

    func stop() {
        terminate()
        try? FileManager.default.removeItem(at: directory)
    }

    private func terminate() {
        guard pid > 0 else { return }
        kill(pid, SIGTERM)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        pid = 0
    }
}

/// Starts `executable` with every signal unblocked and at its default action. (A child
/// started by Foundation's `Process` here inherits a blocked SIGTERM, so mosquitto would
/// never get to save its sessions and exit.)
private func spawnWithDefaultSignals(_ executable: String, _ arguments: [String]) throws -> pid_t {
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var none = sigset_t()
    sigemptyset(&none)
    var all = sigset_t()
    sigfillset(&all)
    posix_spawnattr_setsigmask(&attributes, &none)
    posix_spawnattr_setsigdefault(&attributes, &all)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, executable, nil, &attributes, argv, environ)
    guard rc == 0 else { throw TransportError(.connectionFailed, "cannot start \(executable): \(rc)") }
    return pid
}

private func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw TransportError(.connectionFailed, "no free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}

private func canConnect(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}
