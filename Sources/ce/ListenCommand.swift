import ArgumentParser
import CloudEvents
import CloudEventsHTTP
import CloudEventsMQTT
import Foundation

/// `ce listen`: prints each event received at an endpoint as one line of JSON.
struct ListenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "listen",
        abstract: "Receive events and print each as one line of JSON format on stdout.",
        discussion: """
            Exits 0 after --count events, 2 on --timeout. A message that is not a valid event is \
            reported on stderr (one line), rejected, and not counted; listening goes on.
            A memory:// endpoint is in-process: its senders are the lines of stdin, each one \
            JSON-format event, sent through the channel in the endpoint's mode and format.
            An http://host:port/path endpoint runs an HTTP server on host:port (port 0: any free \
            port, printed on stderr as 'ce: listening on http://host:PORT/path') that takes events \
            in binary, structured and batch mode at path (every path without one); it answers 202 \
            for each delivery, 400 for an invalid request. https:// serves HTTPS (and HTTP/2) \
            with --tls-cert and --tls-key; --tls-ca then requires client certificates.
            An mqtt:// or mqtts:// endpoint (mqtt://host:port/filter?version=5|3.1.1&qos=0|1|2) \
            subscribes to the filter, the URL path percent-decoded: write a '#' wildcard as %23 \
            (mqtt://localhost:1883/sensors/%23); $share/group/filter is a shared subscription. \
            ce prints 'ce: subscribed to FILTER at ENDPOINT' on stderr once the broker granted the \
            subscription. An MQTT 5 message without a Content Type is binary mode, as the spec \
            says: to receive from MQTT 3.1.1 publishers, listen with version=3.1.1. \
            Without clientid= ce connects with a fresh client id and a clean session; with one, \
            the session persists (messages published while ce is away wait for it) unless \
            cleanstart=true.
            """
    )

    @Argument(help: "Where to listen: memory://name, http(s)://host:port/path or mqtt(s)://host:port/filter.")
    var endpoint: String

    @OptionGroup var tls: TLSOptions

    @Option(help: "Exit 0 after this many events.")
    var count: Int?

    @Option(help: "Exit 2 if the events have not all arrived after this many seconds.")
    var timeout: Double?

    func validate() throws {
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        if let timeout, timeout <= 0 { throw ValidationError("--timeout must be positive") }
    }

    private enum Outcome { case received, timedOut, sourceEnded, drainTimedOut }

    func run() async throws {
        let (source, label) = try await ListenSource.open(endpoint, tls: tls.settings)
        let outcome = try await withThrowingTaskGroup(of: Outcome.self, returning: Outcome.self) { group in
            group.addTask {
                try await receive(from: source.receiver)
                return .received
            }
            if let timeout {
                group.addTask {
                    try await Task.sleep(for: .seconds(timeout))
                    return .timedOut
                }
            }
            group.addTask {
                try await source.serve()
                return .sourceEnded
            }
            // The end of stdin ends nothing: the events sent may still arrive, or the timeout.
            var received = false
            while let outcome = try await group.next() {
                switch outcome {
                case .received where source.drainsOnShutdown:
                    // Let the last responses go out: the source stops taking work and ends
                    // by itself (.sourceEnded), within a bound.
                    received = true
                    source.beginShutdown()
                    group.addTask {
                        try await Task.sleep(for: .seconds(5))
                        return .drainTimedOut
                    }
                case .sourceEnded where !received:
                    continue
                case .sourceEnded, .drainTimedOut:
                    group.cancelAll()
                    return .received
                case .received, .timedOut:
                    group.cancelAll()
                    return outcome
                }
            }
            return .received
        }
        if outcome == .timedOut {
            throw Console.fail("timed out after \(timeout ?? 0) s waiting for events on \(label)", ExitStatus.timedOut)
        }
    }

    /// Prints events until `count` arrived (or the stream ends).
    private func receive(from receiver: any CloudEventReceiver) async throws {
        var printed = 0
        for try await delivery in receiver.deliveries() {
            do {
                for event in try delivery.events(formats: Formats.registry) {
                    try Console.event(event)
                    printed += 1
                }
                delivery.accept()
            } catch {
                Console.error("invalid message: \(error)")
                delivery.reject(reason: "\(error)")
            }
            if let count, printed >= count { return }
        }
    }
}

/// What `ce listen` receives from, and what runs beside its deliveries until cancelled.
enum ListenSource {
    /// An in-process channel; its senders are stdin's lines.
    case memory(InProcessChannel)
    /// A bound HTTP server.
    case http(HTTPEventReceiver)
    /// An MQTT subscription.
    case mqtt(MQTTClient, MQTTEventReceiver)

    /// The source for endpoint `text`, ready to serve, and how to name it in messages.
    static func open(_ text: String, tls: TLSSettings) async throws -> (ListenSource, label: String) {
        let (text, anyPort) = HTTPTransport.withoutPortZero(text)
        let endpoint = try Transports.endpoint(text, mode: nil, format: nil)
        switch endpoint.scheme {
        case "memory":
            return (.memory(try InProcessChannel.channel(for: endpoint, formats: Formats.registry)), endpoint.description)
        case "http", "https":
            let (receiver, url) = try await HTTPTransport.bind(endpoint, anyPort: anyPort, tls: tls)
            return (.http(receiver), url)
        case "mqtt", "mqtts":
            let (client, receiver) = try await MQTTTransport.subscribe(endpoint, tls: tls)
            return (.mqtt(client, receiver), endpoint.description)
        default:
            throw Transports.unsupported(endpoint)
        }
    }

    var receiver: any CloudEventReceiver {
        switch self {
        case .memory(let channel): channel
        case .http(let receiver): receiver
        case .mqtt(_, let receiver): receiver
        }
    }

    /// Feeds stdin into the channel; serves HTTP until cancelled (which closes the server).
    func serve() async throws {
        switch self {
        case .memory(let channel):
            await StdinFeeder.feed(channel)
        case .http(let receiver):
            do { try await receiver.run() } catch  where !(error is CancellationError) {
                throw Console.fail("the HTTP receiver failed: \(error)", ExitStatus.transportFailed)
            }
        case .mqtt(let client, _):
            // The client's own thread does the work; when cancelled, disconnect cleanly.
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
            await client.shutdown()
        }
    }

    /// Whether the source has responses to finish after the last event (HTTP: the last
    /// accepted delivery's 202), so that `beginShutdown()` must be awaited through `serve()`.
    var drainsOnShutdown: Bool {
        if case .http = self { true } else { false }
    }

    /// Stops taking work and lets requests in progress finish; `serve()` then returns.
    func beginShutdown() {
        if case .http(let receiver) = self { receiver.shutdown() }
    }
}

/// Feeds stdin's lines, each one JSON event, into an in-process channel. A line that is not
/// a valid event is reported (one line on stderr, with its line number) and skipped.
enum StdinFeeder {
    static func feed(_ channel: InProcessChannel) async {
        let lines = AsyncStream<String> { continuation in
            Thread {
                while let line = readLine() { continuation.yield(line) }
                continuation.finish()
            }.start()
        }
        var number = 0
        for await line in lines {
            number += 1
            if line.allSatisfy(\.isWhitespace) { continue }
            do {
                try await channel.send(try JSONEventFormat().decode(Array(line.utf8)))
            } catch {
                if Task.isCancelled { return }
                Console.error("stdin line \(number): \(error)")
            }
        }
    }
}
