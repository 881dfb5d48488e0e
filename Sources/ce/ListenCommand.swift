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

    func run() async throws {
        let source = try Transports.endpoint(endpoint, mode: nil, format: nil)
        let receiver = try Transports.receiver(for: source)
        let received = try await withThrowingTaskGroup(of: Int?.self) { group -> Int? in
            group.addTask { try await receive(from: receiver) }
            if let timeout {
                group.addTask {
                    try await Task.sleep(for: .seconds(timeout))
                    return nil
                }
            }
            if source.scheme == "memory", let channel = receiver as? InProcessChannel {
                group.addTask {
                    await StdinFeeder.feed(channel)
                    return -1
                }
            }
            while let result = try await group.next() {
                if result == -1 { continue }  // stdin ended; keep waiting for the receiver or the timeout
                group.cancelAll()
                return result
            }
            return nil
        }
        guard received != nil else {
            throw Console.fail("timed out after \(timeout ?? 0) s waiting for events on \(source)", ExitStatus.timedOut)
        }
    }

    /// Prints events until `count` arrived (or the stream ends); returns how many.
    private func receive(from receiver: any CloudEventReceiver) async throws -> Int {
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
            if let count, printed >= count { return printed }
        }
        return printed
    }
}

/// Feeds stdin's lines, each one JSON event, into an in-process channel.
enum StdinFeeder {
    static func feed(_ channel: InProcessChannel) async {
        let lines = AsyncStream<String> { continuation in
            let thread = Thread {
                while let line = readLine() { continuation.yield(line) }
                continuation.finish()
            }
            thread.start()
        }
        for await line in lines where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            do {
                try await channel.send(try JSONEventFormat().decode(Array(line.utf8)))
            } catch let error as EventFormatError {
                Console.error("stdin: \(error)")
            } catch {
                if Task.isCancelled { return }
                Console.error("stdin: \(error)")
            }
        }
    }
}
