import CloudEvents
import Testing

/// `ce listen memory://…`, run as a subprocess: stdin's lines are the senders, each received
/// event is one JSON line on stdout.
@Suite("ce listen")
struct ListenCommandTests {
    /// Events that come back identical through every mode: an explicit `datacontenttype`
    /// (binary mode would add the implied one), minified JSON data (listen prints one line),
    /// UTC times (Protobuf keeps no offset), typed extensions.
    static let events = [
        CloudEvent(
            id: "1", source: "/s", type: "t", dataContentType: "application/json",
            data: .json(try! RawJSON(validating: #"{"a":[1,2]}"#))),
        CloudEvent(
            id: "2", source: "urn:x", type: "t", subject: "s", time: try! Timestamp(rfc3339: "2018-04-05T17:31:00Z"),
            extensions: ["n": 5, "flag": true], data: nil),
        CloudEvent(id: "3", source: "/s", type: "t", dataContentType: "text/plain", data: .text("two\nlines"))
    ]

    static func lines(_ events: [CloudEvent]) throws -> String {
        try events.map { String(decoding: try JSONEventFormat().encode($0), as: UTF8.self) + "\n" }.joined()
    }

    @Test(arguments: [
        "memory://in", "memory://in?mode=structured", "memory://in?mode=batch",
        "memory://in?mode=structured&format=protobuf", "memory://in?mode=batch&format=protobuf"
    ])
    func printsEachEventAsOneJSONLineAndExitsAfterCount(endpoint: String) async throws {
        let run = try await CE.run("listen", endpoint, "--count", "3", input: try Self.lines(Self.events))
        #expect(run.status == 0, "\(run)")
        #expect(run.stderr.isEmpty)
        let lines = run.outputLines
        try #require(lines.count == 3, "\(run.output)")
        for (line, expected) in zip(lines, Self.events) {
            #expect(try JSONEventFormat().decode(Array(line.utf8)) == expected)
        }
    }

    @Test func stopsAtCountEvenWithMoreInput() async throws {
        let run = try await CE.run("listen", "memory://in", "--count", "2", input: try Self.lines(Self.events))
        #expect(run.status == 0, "\(run)")
        #expect(run.outputLines.count == 2)
    }

    @Test func binaryModeWritesTheImpliedContentType() async throws {
        let input = #"{"specversion":"1.0","id":"1","source":"/s","type":"t","data":"x"}"# + "\n"
        let run = try await CE.run("listen", "memory://in", "--count", "1", input: input)
        #expect(run.status == 0, "\(run)")
        #expect(
            run.outputLines == [
                #"{"specversion":"1.0","id":"1","source":"/s","type":"t","datacontenttype":"application/json","data":"x"}"#
            ])
    }

    @Test func timeoutWithTooFewEventsExitsTwo() async throws {
        let run = try await CE.run(
            "listen", "memory://in", "--count", "2", "--timeout", "1", input: try Self.lines([Self.events[0]]))
        #expect(!run.timedOut, "ce listen outlived its own --timeout")
        #expect(run.status == 2, "\(run)")
        #expect(run.outputLines.count == 1)
        #expect(run.errorLines.count == 1)
        #expect(run.stderr.contains("timed out after 1.0 s"), "\(run.stderr)")
    }

    @Test func timeoutWithoutInputExitsTwo() async throws {
        let run = try await CE.run(["listen", "memory://in", "--timeout", "0.5"], input: [])
        #expect(!run.timedOut)
        #expect(run.status == 2, "\(run)")
        #expect(run.stdout.isEmpty)
    }

    @Test(arguments: [
        ("not json", "stdin line 2: invalid JSON at byte 0"),
        (#"{"specversion":"1.0","id":"x","source":"/s"}"#, "stdin line 2: attribute 'type' is required but missing"),
        (
            #"{"specversion":"1.0","id":"x","source":"/s","type":"t","Bad":1}"#,
            "stdin line 2: attribute 'Bad' is not a valid attribute name"
        )
    ])
    func invalidLineIsReportedAndNotCounted(line: String, message: String) async throws {
        let events = try Self.lines(Self.events).split(separator: "\n").map(String.init)
        let input = [events[0], line, "", events[1]].joined(separator: "\n") + "\n"
        let run = try await CE.run("listen", "memory://in", "--count", "2", "--timeout", "10", input: input)
        #expect(run.status == 0, "\(run)")
        #expect(run.outputLines.count == 2)
        #expect(try JSONEventFormat().decode(Array(run.outputLines[1].utf8)) == Self.events[1])
        #expect(run.errorLines.count == 1, "\(run.stderr)")
        #expect(run.stderr.hasPrefix("ce: \(message)"), "\(run.stderr)")
    }

    @Test func unsupportedSchemeExitsOne() async throws {
        let run = try await CE.run("listen", "kafka://localhost:9092/x", "--count", "1", input: "")
        #expect(run.status == 1, "\(run)")
        #expect(run.errorLines == ["ce: scheme 'kafka' is not supported yet (\(BindingRegistryCommandTests.supported))"])
    }

    @Test(arguments: [["--count", "0"], ["--timeout", "-1"], ["--count", "many"]])
    func badOptionsAreUsageErrors(_ arguments: [String]) async throws {
        let run = try await CE.run(["listen", "memory://in"] + arguments, input: [])
        #expect(run.status == 64, "\(run)")
        #expect(run.stderr.contains("Usage: ce listen"), "\(run.stderr)")
    }
}
