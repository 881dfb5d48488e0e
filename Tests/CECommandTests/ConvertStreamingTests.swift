import CloudEvents
import CloudEventsConformance
import CloudEventsProtobuf
import CloudEventsTestSupport
import Foundation
import Testing

@testable import ce

/// `ce convert` streaming (issue 16): JSON batches, JSON Lines and Protobuf batches element
/// by element, errors naming the element, `--skip-invalid`, input split across read blocks,
/// and memory bounded by the largest event. Real subprocesses, like ``ConvertCommandTests``.
@Suite("ce convert streaming")
struct ConvertStreamingTests {
    let json = JSONEventFormat()
    let typedJSON = JSONEventFormat(extensionTypes: Corpus.extensionTypes)

    /// The corpus's 1.0 events (a batch shares one specversion).
    static let events = Corpus.events.map(\.event).filter { $0.specVersion == .v1_0 }

    /// What `ce listen` prints for `event`: its JSON, data minified, on one line.
    func line(_ event: CloudEvent) throws -> [UInt8] {
        var event = event
        if case .json(let data) = event.data { event.data = .json(data.minified()) }
        return try json.encode(event) + [0x0A]
    }

    /// One line per event, as `ce listen` prints them.
    func lines(_ events: [CloudEvent]) throws -> [UInt8] {
        try events.flatMap { try line($0) }
    }

    // MARK: Shapes

    @Test func batchToBatchIsWhatTheInMemoryCodecWrites() async throws {
        let input = try json.encodeBatch(Self.events)
        let run = try await CE.run(["convert", "--from", "json", "--to", "json", "--batch"], input: input)
        try #require(run.status == 0, "\(run)")
        #expect(run.stdout == (try json.encodeBatch(json.decodeBatch(input))) + [0x0A])
    }

    @Test func batchToLinesPrintsWhatListenPrints() async throws {
        // Pretty-printed JSON data must still come out on one line.
        var events = Self.events
        events.append(
            CloudEvent(id: "pretty", source: "/s", type: "t", data: .json(try RawJSON(validating: "{\n  \"a\": [1, 2]\n}"))))
        let input = try json.encodeBatch(events)
        let run = try await CE.run(["convert", "--from", "json", "--to", "jsonl", "--batch"], input: input)
        try #require(run.status == 0, "\(run)")
        #expect(run.stdout == (try lines(try json.decodeBatch(input))))
        #expect(run.outputLines.count == events.count)
        #expect(run.outputLines.last?.hasSuffix(#""data":{"a":[1,2]}}"#) == true)
    }

    @Test func linesToBatchAndBack() async throws {
        let input = try lines(Self.events)
        let toBatch = try await CE.run(["convert", "--from", "jsonl", "--to", "json", "--batch"], input: input)
        try #require(toBatch.status == 0, "\(toBatch)")
        let decoded = try typedJSON.decodeBatch(toBatch.stdout)
        try #require(decoded.count == Self.events.count)
        // The lines carry JSON data minified.
        let expectedEvents = try Self.events.map { try typedJSON.decode(try line($0)) }
        for (expected, actual) in zip(expectedEvents, decoded) {
            #expect(Equivalence.typedUTC.differences(expected, actual).isEmpty, "\(expected.id)")
        }
        let back = try await CE.run(["convert", "--from", "json", "--to", "jsonl", "--batch"], input: toBatch.stdout)
        try #require(back.status == 0, "\(back)")
        #expect(back.stdout == input)
    }

    @Test func linesToLinesIgnoresBlankLinesAndCarriageReturns() async throws {
        let events = Array(Self.events.prefix(3))
        var input: [UInt8] = Array("\n  \n".utf8)
        for event in events { input += try json.encode(event) + Array("\r\n\t\n".utf8) }
        input.removeLast()  // the last line without its newline
        let run = try await CE.run(["convert", "--from", "jsonl", "--to", "jsonl"], input: input)
        try #require(run.status == 0, "\(run)")
        #expect(run.stdout == (try lines(events)))
        #expect(run.stderr.isEmpty)
    }

    @Test func emptyLinesInputIsAnEmptyBatch() async throws {
        let run = try await CE.run("convert", "--from", "jsonl", "--to", "json", "--batch", input: "\n\n")
        #expect(run.status == 0, "\(run)")
        #expect(run.output == "[]\n")
    }

    @Test func linesToProtobufBatchIsWhatProtobufCPacks() async throws {
        let run = try await CE.run(["convert", "--from", "jsonl", "--to", "protobuf", "--batch"], input: try lines(Self.events))
        try #require(run.status == 0, "\(run)")
        // The events ce decoded from the lines (no extension types), as one batch.
        let decoded = try Self.events.map { try json.decode(try line($0)) }
        #expect(run.stdout == (try ProtobufEventFormat().encodeBatch(decoded)))
    }

    @Test func protobufBatchToLines() async throws {
        let input = try ProtobufEventFormat().encodeBatch(Self.events)
        let run = try await CE.run(["convert", "--from", "protobuf", "--to", "jsonl", "--batch"], input: input)
        try #require(run.status == 0, "\(run)")
        #expect(run.stdout == (try lines(try ProtobufEventFormat().decodeBatch(input))))
    }

    @Test func singleEventToALine() async throws {
        let input = #"{ "specversion": "1.0", "type": "t", "id": "1", "source": "/s", "data": {"a": 1} }"#
        let run = try await CE.run("convert", "--from", "json", "--to", "jsonl", input: input)
        #expect(run.status == 0, "\(run)")
        #expect(run.output == #"{"specversion":"1.0","id":"1","source":"/s","type":"t","data":{"a":1}}"# + "\n")
    }

    // MARK: Bad elements

    /// Events 0, 2 and 3 are valid; event 1 has no `type`.
    static let batchWithBadSecond =
        #"[{"specversion":"1.0","id":"0","source":"/s","type":"t"}, {"specversion":"1.0","id":"1","source":"/s"},"#
        + #"{"specversion":"1.0","id":"2","source":"/s","type":"t"},{"specversion":"1.0","id":"3","source":"/s","type":"t"}]"#

    @Test func aBadElementFailsNamingItsIndexAfterWritingTheOnesBefore() async throws {
        let run = try await CE.run("convert", "--from", "json", "--to", "jsonl", "--batch", input: Self.batchWithBadSecond)
        #expect(run.status == 1, "\(run)")
        #expect(run.errorLines.count == 1, "\(run.stderr)")
        #expect(run.stderr.contains("event 1 of the batch"), "\(run.stderr)")
        #expect(run.stderr.contains("'type'") && run.stderr.contains("required"), "\(run.stderr)")
        #expect(run.stderr.contains("the 1 event converted before it was written"), "\(run.stderr)")
        #expect(run.outputLines == [#"{"specversion":"1.0","id":"0","source":"/s","type":"t"}"#])
    }

    @Test func skipInvalidReportsSkipsAndCounts() async throws {
        let run = try await CE.run(
            "convert", "--from", "json", "--to", "jsonl", "--batch", "--skip-invalid", input: Self.batchWithBadSecond)
        #expect(run.status == 0, "\(run)")
        #expect(run.outputLines.map { $0.contains(#""id":"1""#) } == [false, false, false])
        #expect(run.outputLines.count == 3)
        #expect(run.errorLines.count == 2, "\(run.stderr)")
        #expect(run.errorLines.first?.contains("skipped event 1 of the batch: attribute 'type'") == true, "\(run.stderr)")
        #expect(run.errorLines.last == "ce: converted 3 events, skipped 1 invalid event", "\(run.stderr)")
    }

    @Test func skipInvalidSkipsMalformedElementsToo() async throws {
        let input =
            #"[{"specversion":"1.0","id":"0","source":"/s","type":"t"},{"specversion":"1.0","id":"1",,"x":"]"},"#
            + #"{"specversion":"1.0","id":"2","source":"/s","type":"t"}]"#
        let run = try await CE.run("convert", "--from", "json", "--to", "json", "--batch", "--skip-invalid", input: input)
        #expect(run.status == 0, "\(run)")
        let ids = try json.decodeBatch(run.stdout).map(\.id)
        #expect(ids == ["0", "2"])
        // The byte offset is the input's, not the element's.
        #expect(run.errorLines.first?.contains("event 1 of the batch: invalid JSON at byte 87") == true, "\(run.stderr)")
    }

    @Test func aBadLineFailsNamingTheLine() async throws {
        let input =
            "\n" + #"{"specversion":"1.0","id":"0","source":"/s","type":"t"}"# + "\n\n"
            + #"{"specversion":"1.0","id":"1","source":"/s","type":"t","time":"yesterday"}"# + "\n"
        let run = try await CE.run("convert", "--from", "jsonl", "--to", "jsonl", input: input)
        #expect(run.status == 1, "\(run)")
        #expect(run.stderr.contains("line 4: attribute 'time'"), "\(run.stderr)")
        #expect(run.outputLines.count == 1)

        let skipping = try await CE.run("convert", "--from", "jsonl", "--to", "jsonl", "--skip-invalid", input: input)
        #expect(skipping.status == 0, "\(skipping)")
        #expect(skipping.errorLines.first?.contains("skipped line 4: attribute 'time'") == true, "\(skipping.stderr)")
        #expect(skipping.errorLines.last == "ce: converted 1 event, skipped 1 invalid event")
    }

    @Test func mixedSpecVersionsAreFineLineToLineButNotIntoABatch() async throws {
        let input =
            #"{"specversion":"1.0","id":"0","source":"/s","type":"t"}"# + "\n"
            + #"{"specversion":"0.3","id":"1","source":"/s","type":"t"}"# + "\n"
        let lines = try await CE.run("convert", "--from", "jsonl", "--to", "jsonl", input: input)
        #expect(lines.status == 0, "\(lines)")
        #expect(lines.outputLines.count == 2)

        let batch = try await CE.run("convert", "--from", "jsonl", "--to", "json", "--batch", input: input)
        #expect(batch.status == 1, "\(batch)")
        #expect(batch.stderr.contains("line 2: specversion 0.3 differs"), "\(batch.stderr)")
    }

    @Test func mixedSpecVersionsInABatchFailAfterTheEventsBefore() async throws {
        let input =
            #"[{"specversion":"1.0","id":"1","source":"/s","type":"t"},{"specversion":"0.3","id":"2","source":"/s","type":"t"}]"#
        let run = try await CE.run("convert", "--from", "json", "--to", "protobuf", "--batch", input: input)
        #expect(run.status == 1, "\(run)")
        #expect(run.errorLines.count == 1)
        #expect(run.stderr.contains("event 1 of the batch: specversion 0.3 differs"), "\(run.stderr)")
        // Event 0 went out as the batch's first field; the rest never did.
        let first = try json.decode(Array(#"{"specversion":"1.0","id":"1","source":"/s","type":"t"}"#.utf8))
        let expected = try ProtobufEventFormat().encodeBatch([first])
        #expect(run.stdout == expected)
    }

    struct Truncated: Sendable, CustomStringConvertible {
        var description: String
        var input: String
        var mentions: [String]
    }

    static let truncatedInputs = [
        Truncated(description: "nothing", input: "  ", mentions: ["byte 0", "end of input", "a JSON array"]),
        Truncated(description: "just the bracket", input: "[", mentions: ["byte 1", "end of input"]),
        Truncated(
            description: "inside the second event",
            input: #"[{"specversion":"1.0","id":"1","source":"/s","type":"t"},{"specversion":"1.0","id"#,
            mentions: ["event 1 of the batch", "byte 81", "end of input", "1 event converted before it was written"]),
        Truncated(
            description: "after an event",
            input: #"[{"specversion":"1.0","id":"1","source":"/s","type":"t"} "#,
            mentions: ["event 1 of the batch", "byte 57", "end of input, expected ',' or ']'"]),
        Truncated(
            description: "after a comma",
            input: #"[{"specversion":"1.0","id":"1","source":"/s","type":"t"},"#,
            mentions: ["event 1 of the batch", "byte 57", "end of input"]),
        Truncated(
            description: "a trailing comma", input: #"[{"specversion":"1.0","id":"1","source":"/s","type":"t"},]"#,
            mentions: ["event 1 of the batch", "byte 57", "unexpected ']'"]),
        Truncated(
            description: "something after the batch", input: #"[] x"#, mentions: ["byte 3", "after the JSON value"])
    ]

    @Test(arguments: truncatedInputs)
    func truncatedOrBrokenBatchesFail(_ truncated: Truncated) async throws {
        let run = try await CE.run(
            "convert", "--from", "json", "--to", "jsonl", "--batch", "--skip-invalid", input: truncated.input)
        #expect(run.status == 1, "\(run)")
        #expect(run.errorLines.count == 1, "\(run.stderr)")
        for text in truncated.mentions {
            #expect(run.stderr.contains(text), "\(run.stderr) should mention \(text)")
        }
    }

    @Test func truncatedProtobufBatchNamesTheEvent() async throws {
        let input = try ProtobufEventFormat().encodeBatch(Array(Self.events.prefix(3)))
        let run = try await CE.run(["convert", "--from", "protobuf", "--to", "jsonl", "--batch"], input: Array(input.dropLast(3)))
        #expect(run.status == 1, "\(run)")
        #expect(run.stderr.contains("event 2 of the batch"), "\(run.stderr)")
        #expect(run.stderr.contains("Protobuf"), "\(run.stderr)")
        #expect(run.outputLines.count == 2)
    }

    @Test func usageErrors() async throws {
        let linesToJSON = try await CE.run("convert", "--from", "jsonl", "--to", "json", input: "")
        #expect(linesToJSON.status == 64, "\(linesToJSON)")
        #expect(linesToJSON.stderr.contains("add --batch"))
        let skipSingle = try await CE.run("convert", "--from", "json", "--to", "json", "--skip-invalid", input: "")
        #expect(skipSingle.status == 64, "\(skipSingle)")
        #expect(skipSingle.stderr.contains("--skip-invalid needs"))
    }

    // MARK: Blocks and memory

    /// Strings with what would end an element if read outside a string: `,`, `]`, `}`, an
    /// escaped quote, an escaped backslash before a quote.
    static let trickyEvent = CloudEvent(
        id: #"a,]}"\\"#, source: "/s", type: #"t\",{"#, subject: #"\\"#,
        extensions: ["x": .string(#"]"#)],
        data: .json(try! RawJSON(validating: #"{"k":["],}\"\\",[{}]],"v":"\\\""}"#)))

    @Test func theElementScannerFindsTheSameEndWhereverABlockEnds() throws {
        let element = try json.encode(Self.trickyEvent)
        let bytes = element + Array(" ,".utf8)
        try bytes.withUnsafeBytes { buffer in
            var whole = ConvertJSONElementScanner()
            let scanned = whole.scan(buffer, from: 0, to: buffer.count)
            let expected = try #require(scanned)
            #expect(expected == element.count + 1)
            for split in 0...buffer.count {
                var scanner = ConvertJSONElementScanner()
                let first = scanner.scan(buffer, from: 0, to: split)
                let found = first ?? scanner.scan(buffer, from: split, to: buffer.count)
                #expect(found == expected, "split at \(split)")
            }
        }
    }

    @Test func elementsSplitAcrossReadBlocks() async throws {
        // A batch far larger than a read block, with an event larger than a block and tricky
        // strings at many offsets from the block boundaries.
        let big = CloudEvent(
            id: "big", source: "/s", type: "t",
            data: .json(try RawJSON(validating: "\"" + String(repeating: "x,]}\\\\", count: 100_000) + "\"")))
        var events: [CloudEvent] = []
        for index in 0..<10_000 {
            var event = Self.trickyEvent
            event.id = "\(index)" + String(repeating: "\"", count: index % 7)
            events.append(index == 5_000 ? big : event)
        }
        let input = try json.encodeBatch(events)
        #expect(input.count > 4 * ConvertInput.blockSize)
        let run = try await CE.run(["convert", "--from", "json", "--to", "json", "--batch"], input: input, timeLimit: 60)
        try #require(run.status == 0, "\(run)")
        #expect(run.stdout == input + [0x0A])

        let lines = try await CE.run(["convert", "--from", "json", "--to", "jsonl", "--batch"], input: input, timeLimit: 60)
        try #require(lines.status == 0, "\(lines)")
        #expect(lines.stdout == (try self.lines(events)))
        let back = try await CE.run(["convert", "--from", "jsonl", "--to", "json", "--batch"], input: lines.stdout, timeLimit: 60)
        try #require(back.status == 0, "\(back)")
        #expect(back.stdout == input + [0x0A])
    }

    @Test func aBadElementSplitAcrossBlocksIsSkippedWhole() async throws {
        // Event 2 has no type and ~600 KB of data: it spans several read blocks.
        let bad = CloudEvent(
            id: "bad", source: "/s", type: "t",
            data: .json(try RawJSON(validating: "\"" + String(repeating: "x,]}", count: 150_000) + "\"")))
        let badJSON = try json.encode(bad).replacing(Array(#""type":"t","#.utf8), with: [])
        let good = try (0..<5).map { try json.encode(CloudEvent(id: "\($0)", source: "/s", type: "t")) }
        let input =
            Array("[".utf8) + good[0] + [0x2C] + good[1] + [0x2C] + badJSON + [0x2C] + good[2] + [0x2C] + good[3]
            + Array("]".utf8)
        let run = try await CE.run(
            ["convert", "--from", "json", "--to", "jsonl", "--batch", "--skip-invalid"], input: input, timeLimit: 60)
        #expect(run.status == 0, "\(run)")
        #expect(run.outputLines.count == 4)
        #expect(run.errorLines.first?.contains("skipped event 2 of the batch: attribute 'type'") == true, "\(run.stderr)")
        let failing = try await CE.run(["convert", "--from", "json", "--to", "jsonl", "--batch"], input: input, timeLimit: 60)
        #expect(failing.status == 1)
        #expect(failing.stderr.contains("event 2 of the batch: attribute 'type'"), "\(failing.stderr)")
        #expect(failing.stderr.contains("the 2 events converted before it were written"), "\(failing.stderr)")
        #expect(failing.outputLines.count == 2)
    }

    /// In-process (files for stdin and stdout): a bad event after several flushes' worth of
    /// output fails the run naming its line, after the events before it were written.
    @Test func inProcessFailureAfterManyEvents() throws {
        let events = Array(Array(repeating: Self.events, count: 40).joined())
        try #require(events.count > 1_100)
        var eventLines = try events.map { try line($0) }
        // A bad event past the first groups sent to the writer: no type.
        eventLines[1_000] = Array(#"{"specversion":"1.0","id":"x","source":"/s"}"#.utf8) + [0x0A]
        let input = Array(eventLines.joined())
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ce-convert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let inputPath = directory.appendingPathComponent("input").path
        let outputPath = directory.appendingPathComponent("output").path
        try Data(input).write(to: URL(fileURLWithPath: inputPath))
        let inputDescriptor = open(inputPath, O_RDONLY)
        let outputDescriptor = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        try #require(inputDescriptor >= 0 && outputDescriptor >= 0)
        defer {
            close(inputDescriptor)
            close(outputDescriptor)
        }
        var stream = ConvertStream(
            from: .lines(json), to: ConvertSink(.jsonBatch(json), descriptor: outputDescriptor),
            input: ConvertInput(descriptor: inputDescriptor), sameSpecVersion: true, skipInvalid: false)
        var failure: ConvertFailure?
        do { try stream.run() } catch { failure = error }
        #expect(failure?.description.contains("line 1001: attribute 'type'") == true, "\(String(describing: failure))")
        #expect(failure?.description.contains("the 1000 events converted before it were written") == true)
        let output = try [UInt8](Data(contentsOf: URL(fileURLWithPath: outputPath)))
        // The 1,000 events before the bad one, as an unterminated batch.
        let expected = try json.encodeBatch(events.prefix(1_000).map { try json.decode(try line($0)) }).dropLast()
        #expect(output == Array(expected))
    }

    /// Peak memory does not follow the input: 50 MB of batch (and of JSON Lines) is converted
    /// in well under 64 MiB, the child's own peak RSS (`wait4`).
    @Test(arguments: ["json", "jsonl"])
    func largeInputInBoundedMemory(from shape: String) async throws {
        let count = 100_000
        // Built on a thread of its own: seconds of CPU on a loaded machine, too long to hold
        // a thread of the cooperative pool that every other test shares.
        let input = await onOwnThread {
            var input: [UInt8] = []
            input.reserveCapacity(count * 520)
            if shape == "json" { input.append(UInt8(ascii: "[")) }
            for index in 0..<count {
                if shape == "json" && index > 0 { input.append(UInt8(ascii: ",")) }
                input += Array(Self.sampleEventJSON(index).utf8)
                if shape == "jsonl" { input.append(0x0A) }
            }
            if shape == "json" { input.append(UInt8(ascii: "]")) }
            return input
        }
        #expect(input.count > 50_000_000)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ce-convert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let inputPath = directory.appendingPathComponent("input").path
        let outputPath = directory.appendingPathComponent("output").path
        try Data(input).write(to: URL(fileURLWithPath: inputPath))
        let to = shape == "json" ? "jsonl" : "json"
        let arguments = ["convert", "--from", shape, "--to", to] + (shape == "json" || to == "json" ? ["--batch"] : [])
        let child = try await ChildRun.run(arguments, stdin: inputPath, stdout: outputPath, timeLimit: 300)
        try #require(child.status == 0, "exit \(child.status)")
        let output = try Data(contentsOf: URL(fileURLWithPath: outputPath))
        if to == "jsonl" {
            #expect(output.count { $0 == 0x0A } == count)
        } else {
            let decoded = try await onOwnThread { try JSONEventFormat().decodeBatch([UInt8](output)).count }
            #expect(decoded == count)
        }
        #expect(child.peakResidentBytes < 64 * 1024 * 1024, "peak RSS \(child.peakResidentBytes) bytes")
    }

    /// An event shaped like the benchmarks' sample (about 500 bytes of JSON).
    static func sampleEventJSON(_ index: Int) -> String {
        #"{"specversion":"1.0","id":"9b3c6d4e-2f7a-4e1b-8c5d-\#(index)","source":"https://sensors.example.com/buildings/north/floor-3","#
            + #""type":"com.example.sensor.reading.v1","datacontenttype":"application/json","subject":"thermostat-42/temperature","#
            + #""time":"2026-11-22T10:15:30.123456789Z","traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","#
            + #""data":{"deviceId":"thermostat-42","reading":{"celsius":21.5,"humidity":48,"battery":0.87},"#
            + #""location":{"building":"north","floor":3,"room":"3.14"},"tags":["hvac","eu-west","calibrated"],"seq":1234567}}"#
    }
}

/// `ce` run with stdin and stdout on files, for its own peak memory.
///
/// The child is started by a small Python process, which reads the peak from
/// `getrusage(RUSAGE_CHILDREN)`: a child this test process spawned itself would report this
/// process's peak (Linux keeps the high-water mark of the address space it was spawned from
/// across `exec`), and the test process holds far more than the bound.
private struct ChildRun {
    var status: Int32
    /// The child's peak resident set (`ru_maxrss`), in bytes.
    var peakResidentBytes: Int

    static let script = """
        import resource, subprocess, sys
        with open(sys.argv[1], "rb") as stdin, open(sys.argv[2], "wb") as stdout:
            code = subprocess.run(sys.argv[4:], stdin=stdin, stdout=stdout, timeout=float(sys.argv[3])).returncode
        print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        """

    /// Runs `ce arguments` under Python, waiting without holding a cooperative thread.
    static func run(_ arguments: [String], stdin: String, stdout: String, timeLimit: Double) async throws -> ChildRun {
        let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let interpreter = try #require(python, "the memory bound is measured through python3 (Scripts/bootstrap installs it)")
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: interpreter)
        process.arguments = ["-c", Self.script, stdin, stdout, "\(timeLimit)", CE.executable] + arguments
        let report = Pipe()
        process.standardOutput = report
        try process.run()
        let text = try await onOwnThread { try report.fileHandleForReading.readToEnd() ?? Data() }
        // Python kills ce after `timeLimit`; this bound is for Python itself.
        if !(await process.waitForExit(timeout: .seconds(timeLimit + 30))) {
            process.terminate()
            Issue.record("ce \(arguments.joined(separator: " ")) outlived \(timeLimit) s")
        }
        let fields = String(decoding: text, as: UTF8.self).split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        try #require(fields.count == 2, "python3 reported '\(String(decoding: text, as: UTF8.self))'")
        return ChildRun(status: Int32(fields[0]), peakResidentBytes: fields[1] * 1024)
    }
}
