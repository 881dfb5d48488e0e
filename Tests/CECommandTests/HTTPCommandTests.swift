import CloudEvents
import CloudEventsConformance
import CloudEventsTestSupport
import Foundation
import Testing

/// `ce send http://…` to `ce listen http://…`, both run as subprocesses on 127.0.0.1.
@Suite("ce over HTTP")
struct HTTPCommandTests {
    static let eventOptions = [
        "--source", "/s", "--type", "t", "--subject", "sub", "--time", "2018-04-05T17:31:00Z",
        "--datacontenttype", "application/json", "--ext", "n:integer=5", "--ext", "flag:boolean=true",
        "--ext", "color=blue", "--data", #"{"a": [1, 2]}"#
    ]

    static func expected(id: String) throws -> CloudEvent {
        CloudEvent(
            id: id, source: "/s", type: "t", dataContentType: "application/json", subject: "sub",
            time: try Timestamp(rfc3339: "2018-04-05T17:31:00Z"), extensions: ["n": 5, "flag": true, "color": "blue"],
            data: .json(try RawJSON(validating: #"{"a":[1,2]}"#)))
    }

    /// Starts `ce listen` on an ephemeral port and returns it with the URL it printed.
    static func listen(_ arguments: [String], scheme: String = "http") async throws -> (CEProcess, url: String) {
        let listener = try CEProcess(["listen", "\(scheme)://127.0.0.1:0/events"] + arguments)
        let line = await listener.firstErrorLine()
        let prefix = "ce: listening on "
        guard let line, line.hasPrefix(prefix) else {
            throw ListenerDidNotStart(run: await listener.finish(timeLimit: 1))
        }
        return (listener, String(line.dropFirst(prefix.count)))
    }

    @Test func sendsInEveryModeToTheListener() async throws {
        let (listener, url) = try await Self.listen(["--count", "4", "--timeout", "90"])
        #expect(url.hasPrefix("http://127.0.0.1:") && url.hasSuffix("/events"), "\(url)")
        let sends: [(id: String, arguments: [String])] = [
            ("binary", [url]),
            ("json", [url + "?mode=structured&format=json"]),
            ("protobuf", [url, "--mode", "structured", "--format", "protobuf"]),
            ("batch", [url, "--mode", "batch"])
        ]
        // A path the listener does not serve: 404, not retried with --retries 0.
        let wrongPath = url.replacingOccurrences(of: "/events", with: "/wrong")
        let rejected = try await CE.run(["send", wrongPath, "--retries", "0", "--id", "x"] + Self.eventOptions)
        #expect(rejected.status == 3, "\(rejected)")
        #expect(rejected.stdout.isEmpty)
        #expect(rejected.errorLines.count == 1, "\(rejected.stderr)")
        #expect(rejected.stderr.contains("404"), "\(rejected.stderr)")
        #expect(rejected.stderr.contains("no CloudEvents receiver at '/wrong'"), "\(rejected.stderr)")

        for (id, arguments) in sends {
            let run = try await CE.run(["send"] + arguments + ["--id", id] + Self.eventOptions)
            #expect(run.status == 0, "\(id): \(run)")
            #expect(run.outputLines.first?.hasPrefix("202") == true && run.outputLines.count == 1, "\(id): \(run.output)")
            #expect(run.stderr.isEmpty, "\(id): \(run.stderr)")
        }

        let run = await listener.finish()
        #expect(!run.timedOut)
        #expect(run.status == 0, "\(run)")
        #expect(run.errorLines == ["ce: listening on \(url)"])
        let lines = run.outputLines
        try #require(lines.count == 4, "\(run.output)")
        let events = try lines.map { try JSONEventFormat().decode(Array($0.utf8)) }
        // Header-mapped extensions come back as Strings.
        #expect(Equivalence.headers.differences(try Self.expected(id: "binary"), events[0]) == [])
        #expect(events[0].extensions["n"] == "5")
        #expect(events[1] == (try Self.expected(id: "json")))
        #expect(Equivalence.typedUTC.differences(try Self.expected(id: "protobuf"), events[2]) == [])
        #expect(events[3] == (try Self.expected(id: "batch")))
    }

    @Test func sendsOverHTTPSToAnHTTPSListener() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ce-https-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        // Self-signed for 127.0.0.1: the sender trusts it as its own authority.
        let openssl = ChildProcess()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", key, "-out", certificate,
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"
        ]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        try #require(await openssl.waitForExit(timeout: .seconds(120)), "openssl req did not end")
        try #require(openssl.terminationStatus == 0)

        let (listener, url) = try await Self.listen(
            ["--tls-cert", certificate, "--tls-key", key, "--count", "1", "--timeout", "90"], scheme: "https")
        #expect(url.hasPrefix("https://127.0.0.1:"), "\(url)")
        let untrusted = try await CE.run(["send", url, "--retries", "0", "--timeout", "30", "--id", "x"] + Self.eventOptions)
        #expect(untrusted.status == 3, "an untrusted certificate was accepted: \(untrusted)")
        let run = try await CE.run(["send", url, "--tls-ca", certificate, "--id", "tls"] + Self.eventOptions)
        #expect(run.status == 0, "\(run)")
        #expect(run.outputLines.first?.hasPrefix("202") == true, "\(run.output)")

        let listened = await listener.finish()
        #expect(listened.status == 0, "\(listened)")
        let events = try listened.outputLines.map { try JSONEventFormat().decode(Array($0.utf8)) }
        #expect(events.map(\.id) == ["tls"])
    }

    @Test func sendingWhereNothingListensExitsThree() async throws {
        // Port 1 needs root to bind: nothing listens there. async-http-client keeps trying to
        // connect until an attempt's --timeout, so both attempts take about 2 s.
        let run = try await CE.run(
            ["send", "http://127.0.0.1:1/events", "--retries", "1", "--timeout", "2", "--id", "1"] + Self.eventOptions,
            timeLimit: 20)
        #expect(!run.timedOut, "ce send outlived its --timeout and --retries")
        #expect(run.status == 3, "\(run)")
        #expect(run.stdout.isEmpty)
        #expect(run.errorLines.count == 1, "\(run.stderr)")
        #expect(run.stderr.hasPrefix("ce: sending to http://127.0.0.1:1/events failed: "), "\(run.stderr)")
    }

    @Test func listenTimeoutExitsTwo() async throws {
        let (listener, url) = try await Self.listen(["--count", "1", "--timeout", "1"])
        let run = await listener.finish()
        #expect(!run.timedOut, "ce listen outlived its own --timeout")
        #expect(run.status == 2, "\(run)")
        #expect(run.stdout.isEmpty)
        #expect(run.errorLines == ["ce: listening on \(url)", "ce: timed out after 1.0 s waiting for events on \(url)"])
    }

    @Test(arguments: [
        ("http://127.0.0.1/events", "give the port to listen on (0 for any free port)"),
        ("https://127.0.0.1:0/events", "listening on https:// needs --tls-cert and --tls-key")
    ])
    func unusableListenEndpointExitsOne(endpoint: String, mentions: String) async throws {
        let run = try await CE.run("listen", endpoint, "--timeout", "5")
        #expect(run.status == 1, "\(run)")
        #expect(run.errorLines.count == 1, "\(run.stderr)")
        #expect(run.stderr.contains(mentions), "\(run.stderr)")
    }

    @Test(arguments: [["--retries", "-1"], ["--timeout", "0"]])
    func badSendOptionsAreUsageErrors(_ arguments: [String]) async throws {
        let run = try await CE.run(["send", "http://127.0.0.1:1/x", "--id", "1", "--source", "/s", "--type", "t"] + arguments)
        #expect(run.status == 64, "\(run)")
        #expect(run.stderr.contains("Usage: ce send"), "\(run.stderr)")
    }
}

struct ListenerDidNotStart: Error, CustomStringConvertible {
    var run: CERun
    var description: String { "ce listen printed no 'listening on' line: \(run)" }
}
