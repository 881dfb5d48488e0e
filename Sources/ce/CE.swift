import ArgumentParser
import CloudEvents

/// `ce`: send, receive and convert CloudEvents from the command line.
///
/// Exit codes: 0 success; 1 invalid input (an event or message that breaks a rule; one line
/// on stderr names it); 2 timeout; 3 transport failure (connection, rejection).
@main
struct CE: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ce",
        abstract: "Send, receive and convert CloudEvents.",
        discussion: """
            Endpoints are URLs: memory://name (in-process), http(s)://host[:port]/path, \
            mqtt(s)://host[:port]/topic, amqp(s)://host[:port]/address, \
            nats(s)://host[:port]/subject. Query options: \
            mode=binary|structured|batch, format=\(Formats.registry.formats.map(\.name).joined(separator: "|")).
            \(Bindings.help)
            """,
        subcommands: [ConvertCommand.self, SendCommand.self, ListenCommand.self, ConformanceCommand.self, BridgeCommand.self]
    )
}
