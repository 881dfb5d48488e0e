import ArgumentParser
import CloudEvents

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
            """
    )

    @Argument(help: "Where to send: memory://name, http(s)://host[:port]/path or mqtt(s)://host[:port]/topic.")
    var endpoint: String

    @Option(help: "Content mode: binary, structured or batch (overrides the endpoint's mode=).")
    var mode: ModeName?

    @Option(help: "Event format for structured and batch mode (overrides the endpoint's format=).")
    var format: FormatName?

    @Option(
        help:
            "HTTP: seconds one attempt may take (connecting, which is retried until then, and the response). MQTT: seconds to connect, and to get the acknowledgement."
    )
    var timeout: Double = 30

    @Option(help: "HTTP: retries after a network error, 5xx, 404, 408, 409 or 429 (with backoff).")
    var retries: Int = 2

    @OptionGroup var event: EventOptions

    @OptionGroup var tls: TLSOptions

    func validate() throws {
        if timeout <= 0 { throw ValidationError("--timeout must be positive") }
        if retries < 0 { throw ValidationError("--retries must not be negative") }
    }

    func run() async throws {
        let target = try Transports.endpoint(endpoint, mode: mode?.mode, format: format)
        switch target.scheme {
        case "memory":
            let channel = try InProcessChannel.channel(for: target, formats: Formats.registry)
            try await sendInProcess(try event.event(), over: channel, endpoint: target)
        case "http", "https":
            try await HTTPTransport.send(
                try event.event(), to: target, url: endpoint, tls: tls.settings, timeout: timeout, retries: retries)
        case "mqtt", "mqtts":
            try await MQTTTransport.send(try event.event(), to: target, tls: tls.settings, timeout: timeout)
        default:
            throw Transports.unsupported(target)
        }
    }

    /// Sends through the channel while a receiver in this process prints what arrived.
    private func sendInProcess(_ event: CloudEvent, over channel: InProcessChannel, endpoint: Endpoint) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for try await delivery in channel.deliveries() {
                    MessagePrinter.describe(delivery.message, endpoint: endpoint)
                    delivery.accept()
                    return
                }
            }
            do { try await channel.send(event) } catch {
                throw Console.fail("sending to \(endpoint) failed: \(error)", ExitStatus.transportFailed)
            }
            try await group.waitForAll()
        }
    }
}

/// Prints a message as a binding carries it.
enum MessagePrinter {
    static func describe(_ message: Message, endpoint: Endpoint) {
        Console.line("delivered over \(endpoint) in \(message.contentMode) mode")
        switch message.content {
        case .binary(let attributes, let data):
            for attribute in attributes {
                Console.line("  \(attribute.name): \(attribute.value.canonicalString)  (\(attribute.value.type))")
            }
            if let data { Console.line("  body (\(data.count) bytes): \(printable(data))") } else { Console.line("  no body") }
        case .structured(let content), .batch(let content):
            Console.line("  content type: \(content.mediaType)")
            Console.line("  body (\(content.body.count) bytes): \(printable(content.body))")
        }
    }

    /// UTF-8 text without control characters as it is; anything else (a Protobuf body,
    /// binary data) as hex.
    private static func printable(_ bytes: [UInt8]) -> String {
        if let text = String(validating: bytes, as: UTF8.self), !text.unicodeScalars.contains(where: { $0.value < 0x20 }) {
            return text
        }
        return bytes.map { ($0 < 0x10 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
