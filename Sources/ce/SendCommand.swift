import ArgumentParser
import CloudEvents
import CloudEventsTransports
import Logging

/// `ce send`: sends one event to an endpoint.
struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send one event to an endpoint.",
        discussion: """
            A memory:// endpoint is in-process: ce receives the message itself and prints it as it \
            arrived (content mode, attributes, body), which shows what a binding puts on the wire.
            An http:// or https:// endpoint gets a POST (https:// with TLS, verified against the \
            system's trust store); the mode= and format= options are not sent. ce prints the \
            response status, and the event the response carries as one JSON line. Exits 0 on \
            2xx, 3 (one line on stderr with the status and body) on a rejection or a transport \
            failure, after --retries.
            An mqtt:// or mqtts:// endpoint (mqtt://host:port/topic?version=5|3.1.1&qos=0|1|2&\
            mode=binary|structured&format=json|protobuf&retain=true) gets a PUBLISH; ce prints one \
            line once the broker acknowledged it at that QoS (mqtts:// verifies the broker against \
            --tls-ca, or the system's trust store). Without clientid= ce connects with a fresh \
            client id and a clean session.
            An amqp:// or amqps:// endpoint (amqp://[user:password@]host:port/address?\
            mode=binary|structured&format=json|protobuf&prefix=underscore|colon&durable=true|false) \
            sends over an AMQP 1.0 link to the address, the URL path after one '/' (RabbitMQ's \
            /queue/NAME is written with two: amqp://host:5672//queue/NAME); ce prints the peer's \
            outcome ('accepted'), and exits 3 on rejected (with the peer's condition and reason), \
            released or modified. A user name means SASL PLAIN, none SASL ANONYMOUS.
            A nats:// or natss:// endpoint (nats://[user:password@|token@]host:port/subject?\
            mode=binary|structured&format=json|protobuf&servers=host:port,...) publishes to the \
            subject (no wildcards); core NATS acknowledges nothing, so ce prints one line once \
            the message reached the server ('no acknowledgement'): a subscriber must be \
            listening already.
            """
    )

    @Argument(
        help:
            "Where to send: memory://name, http(s)://host[:port]/path, mqtt(s)://host[:port]/topic, amqp(s)://host[:port]/address or nats(s)://host[:port]/subject."
    )
    var endpoint: String

    @Option(help: "Content mode: binary, structured or batch (overrides the endpoint's mode=).")
    var mode: ModeName?

    @Option(help: "Event format for structured and batch mode (overrides the endpoint's format=).")
    var format: FormatName?

    @Option(
        help:
            "HTTP: seconds one attempt may take (connecting, TLS handshake included, and the response); a refused connection is retried with --retries. MQTT, AMQP: seconds to connect, and to get the acknowledgement. NATS: seconds to connect and to flush."
    )
    var timeout: Double = 30

    @Option(help: "HTTP: retries after a network error, 5xx, 404, 408, 409 or 429 (with backoff).")
    var retries: Int = 2

    @OptionGroup var event: EventOptions

    @OptionGroup var tls: TLSOptions

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if timeout <= 0 { throw ValidationError("--timeout must be positive") }
        if retries < 0 { throw ValidationError("--retries must not be negative") }
    }

    func run() async throws {
        let target = try Bindings.endpoint(endpoint, mode: mode?.mode, format: format)
        let binding = try Bindings.binding(for: target)
        let event = try event.event()
        let options = BindingOptions(
            formats: Formats.registry, tls: tls.settings, timeout: .seconds(timeout), retries: retries,
            // The send's failure is ce's own one line: the bindings' retries and give-ups
            // show with --verbose only.
            logger: logging.logger(quiet: .critical))
        let outcome: SendOutcome
        do {
            outcome = try await Bindings.registry.withSender(for: target, options: options) { sender in
                // In-process, nobody else receives: ce does, and the outcome describes what arrived.
                guard binding.isInProcess else { return try await sender.send(event) }
                return try await withThrowingTaskGroup(of: SendOutcome?.self) { group in
                    group.addTask { try await Self.acceptOne(at: target, options: options) }
                    group.addTask { try await sender.send(event) }
                    var outcome: SendOutcome?
                    while let result = try await group.next() { outcome = outcome ?? result }
                    // Both tasks ended; the sender's is the one with an outcome.
                    guard let outcome else { throw TransportError(.closed, "\(target): nothing was sent") }
                    return outcome
                }
            }
        } catch let error as TransportError where error.code == .invalidEndpoint {
            throw Console.fail("\(error)", ExitStatus.invalidInput)
        } catch {
            throw Console.fail("sending to \(target) failed: \(error)", Bindings.status(for: error))
        }
        Console.line(outcome.summary)
        if let reply = outcome.reply {
            do { try Console.event(try reply.event(formats: Formats.registry)) } catch {
                Console.error("the reply is not a valid event: \(error)")
            }
        }
    }

    /// Receives at `endpoint` in this process and accepts the first delivery.
    private static func acceptOne(at endpoint: Endpoint, options: BindingOptions) async throws -> SendOutcome? {
        try await Bindings.registry.withReceiver(for: endpoint, options: options) { receiver in
            for try await delivery in receiver.deliveries() {
                delivery.accept()
                break
            }
            return nil
        }
    }
}
