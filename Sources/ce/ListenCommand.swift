import ArgumentParser
import CloudEvents
import CloudEventsTransports
import Foundation
import Logging

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
            An amqp:// or amqps:// endpoint (amqp://[user:password@]host:port/address?credit=N) \
            attaches a receiver link to the address, the URL path after one '/' (RabbitMQ's \
            /queue/NAME is written with two: amqp://host:5672//queue/NAME), and prints \
            'ce: receiving from ADDRESS at ENDPOINT' once attached. Each event is accepted, an \
            invalid message rejected with amqp:decode-error. With --listen (or listen=true) ce \
            listens on host:port for peers to connect and send, with no broker (port 0: any free \
            port, printed as 'ce: listening on amqp://host:PORT'); amqps:// then needs --tls-cert \
            and --tls-key.
            A nats:// or natss:// endpoint (nats://[user:password@|token@]host:port/subject?\
            queue=GROUP&servers=host:port,...) subscribes to the subject (wildcards: * for one \
            token, > for the rest) and prints 'ce: subscribed to SUBJECT at ENDPOINT (server …)' \
            once the server has the subscription; with queue= each event goes to one listener \
            of the group. Core NATS has no acknowledgements: settling is local, and what is \
            published before ce subscribes is not delivered.
            """
    )

    @Argument(
        help:
            "Where to listen: memory://name, http(s)://host:port/path, mqtt(s)://host:port/filter, amqp(s)://host:port/address or nats(s)://host:port/subject."
    )
    var endpoint: String

    @OptionGroup var tls: TLSOptions

    @OptionGroup var logging: LoggingOptions

    @Option(help: "Exit 0 after this many events.")
    var count: Int?

    @Flag(
        help: """
            Listen for peers to connect and send, with no broker (AMQP's peer mode; the \
            endpoint option listen=true).
            """)
    var listen = false

    @Option(help: "Exit 2 if the events have not all arrived after this many seconds.")
    var timeout: Double?

    func validate() throws {
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        if let timeout, timeout <= 0 { throw ValidationError("--timeout must be positive") }
    }

    private enum Outcome: Sendable { case received, timedOut, fed }

    func run() async throws {
        var source = try Bindings.endpoint(endpoint, listening: true)
        if listen { source = try Bindings.peerMode(source) }
        let binding = try Bindings.binding(for: source)
        let options = BindingOptions(formats: Formats.registry, tls: tls.settings, logger: logging.logger(quiet: .notice))
        let (outcome, label): (Outcome, String)
        do {
            (outcome, label) = try await Bindings.registry.withReceiver(for: source, options: options) { receiver in
                if let ready = receiver.readyMessage { Console.error(ready) }
                let outcome = try await receive(from: receiver, feeding: binding.isInProcess ? source : nil, options: options)
                return (outcome, receiver.endpoint.description)
            }
        } catch let error as ExitCode {
            throw error
        } catch {
            throw Console.fail("\(error)", Bindings.status(for: error))
        }
        if outcome == .timedOut {
            throw Console.fail("timed out after \(timeout ?? 0) s waiting for events on \(label)", ExitStatus.timedOut)
        }
    }

    /// Prints events until `count` arrived, the deliveries end, or the timeout. With
    /// `feeding`, stdin's lines are sent to that endpoint meanwhile (in-process senders).
    private func receive(from receiver: any BoundReceiver, feeding: Endpoint?, options: BindingOptions) async throws
        -> Outcome
    {
        try await withThrowingTaskGroup(of: Outcome.self, returning: Outcome.self) { group in
            group.addTask {
                try await printEvents(from: receiver)
                return .received
            }
            if let timeout {
                group.addTask {
                    try await Task.sleep(for: .seconds(timeout))
                    return .timedOut
                }
            }
            if let feeding {
                group.addTask {
                    try await Bindings.registry.withSender(for: feeding, options: options) { await StdinFeeder.feed($0) }
                    return .fed
                }
            }
            // The end of stdin ends nothing: the events sent may still arrive, or the timeout.
            while let outcome = try await group.next() {
                if outcome == .fed { continue }
                group.cancelAll()
                return outcome
            }
            return .received
        }
    }

    /// Prints events until `count` arrived (or the stream ends).
    private func printEvents(from receiver: any BoundReceiver) async throws {
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
                // AMQP's `amqp:decode-error`: the message, not the consumer, was at fault.
                delivery.reject(reason: "\(error)", condition: .invalidMessage)
            }
            if let count, printed >= count { return }
        }
    }
}

/// Feeds stdin's lines, each one JSON event, into an in-process channel. A line that is not
/// a valid event is reported (one line on stderr, with its line number) and skipped.
enum StdinFeeder {
    static func feed(_ sender: any BoundSender) async {
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
                _ = try await sender.send(try JSONEventFormat().decode(Array(line.utf8)))
            } catch {
                if Task.isCancelled { return }
                Console.error("stdin line \(number): \(error)")
            }
        }
    }
}
