import Foundation
import Testing

/// `ce` finds its bindings in one registry: what it says about schemes it lacks, and what
/// the bindings log on its stderr.
@Suite("ce and the binding registry")
struct BindingRegistryCommandTests {
    static let supported = "supported: memory, http, https, mqtt, mqtts, amqp, amqps, nats, natss"

    @Test(arguments: ["send", "listen"])
    func unknownSchemeExitsOneNamingTheSupportedSchemes(command: String) async throws {
        let run = try await CE.run(
            [command, "kafka://127.0.0.1:9092/q", "--id", "1", "--source", "/s", "--type", "t"]
                .filter { command == "send" || !["--id", "1", "--source", "/s", "--type", "t"].contains($0) })
        #expect(run.status == 1, "\(run)")
        #expect(run.errorLines == ["ce: scheme 'kafka' is not supported yet (\(Self.supported))"])
    }

    @Test func anOptionNoBindingReadsExitsOne() async throws {
        let run = try await CE.run("send", "memory://t?qos=1", "--id", "1", "--source", "/s", "--type", "t")
        #expect(run.status == 1, "\(run)")
        #expect(run.errorLines == ["ce: memory://t?qos=1: unknown option 'qos' (known: format, mode)"])
    }

    @Test func aSenderRefusesPortZero() async throws {
        let run = try await CE.run("send", "http://127.0.0.1:0/x", "--id", "1", "--source", "/s", "--type", "t")
        #expect(run.status == 1, "\(run)")
        #expect(run.errorLines.count == 1 && run.stderr.contains("port must be a number from 1 to 65535"), "\(run.stderr)")
    }

    /// The HTTP receiver logs a refused request (413 here) at warning level: `ce listen`
    /// shows it as one `ce:` line with its metadata.
    @Test func listenPrintsARefusedRequestOnStderr() async throws {
        let listener = try CEProcess(["listen", "http://127.0.0.1:0/", "--count", "1", "--timeout", "90"])
        let prefix = "ce: listening on "
        guard let line = await listener.firstErrorLine(), line.hasPrefix(prefix) else {
            throw ListenerDidNotStart(run: await listener.finish(timeLimit: 1))
        }
        let url = String(line.dropFirst(prefix.count))
        let file = try SendCommandTests.temporaryFile([UInt8](repeating: 0x61, count: (1 << 20) + 1))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let tooLarge = try await CE.run(
            "send", url, "--retries", "0", "--id", "big", "--source", "/s", "--type", "t", "--datacontenttype",
            "application/octet-stream", "--data-file", file)
        #expect(tooLarge.status == 3, "\(tooLarge)")
        let fine = try await CE.run("send", url, "--id", "fine", "--source", "/s", "--type", "t")
        #expect(fine.status == 0, "\(fine)")

        let run = await listener.finish()
        #expect(run.status == 0, "\(run)")
        #expect(run.outputLines.count == 1)
        let logged = run.errorLines.dropFirst()
        #expect(logged.count == 1, "\(run.stderr)")
        #expect(logged.allSatisfy { $0.hasPrefix("ce: ") && $0.contains("status=413") }, "\(run.stderr)")
    }
}
