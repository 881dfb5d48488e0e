import ArgumentParser
import CloudEvents
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
            """
    )

    @Argument(help: "Where to listen: memory://name, ...")
    var endpoint: String

    @Option(help: "Exit 0 after this many events.")
    var count: Int?

    @Option(help: "Exit 2 if the events have not all arrived after this many seconds.")
    var timeout: Double?

    func validate() throws {
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        if let timeout, timeout <= 0 { throw ValidationError("--timeout must be positive") }
    }

    private enum Outcome { case received, timedOut, inputEnded }

    func run() async throws {
        let source = try Transports.endpoint(endpoint, mode: nil, format: nil)
        let receiver = try Transports.receiver(for: source)
        let outcome = try await withThrowingTaskGroup(of: Outcome.self) { group in
            group.addTask {
                try await receive(from: receiver)
                return .received
            }
            if let timeout {
                group.addTask {
                    try await Task.sleep(for: .seconds(timeout))
                    return .timedOut
                }
            }
            if let channel = receiver as? InProcessChannel {
                group.addTask {
                    await StdinFeeder.feed(channel)
                    return .inputEnded
                }
            }
            // The end of stdin ends nothing: the events sent may still arrive, or the timeout.
            while let outcome = try await group.next() {
                if outcome == .inputEnded { continue }
                group.cancelAll()
                return outcome
            }
            return .received
        }
        if outcome == .timedOut {
            throw Console.fail("timed out after \(timeout ?? 0) s waiting for events on \(source)", ExitStatus.timedOut)
        }
    }

    /// Prints events until `count` arrived (or the stream ends).
    private func receive(from receiver: any CloudEventReceiver) async throws {
        var printed = 0
        for try await delivery in receiver.deliveries() {
            do {
                for var event in try delivery.events(formats: Formats.registry) {
                    if case .json(let json) = event.data { event.data = .json(json.minified()) }
                    Console.write(try JSONEventFormat().encode(event) + [0x0A])
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
