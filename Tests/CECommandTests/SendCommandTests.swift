import CloudEvents
import CloudEventsProtobuf
import Foundation
import Testing

/// `ce send` over `memory://`, run as a subprocess: it prints the message as delivered.
@Suite("ce send")
struct SendCommandTests {
    static let requiredOptions = ["--id", "1", "--source", "/s", "--type", "t"]

    @Test func binaryModePutsAttributesInMetadataAndDataInTheBody() async throws {
        let run = try await CE.run(["send", "memory://t"] + Self.requiredOptions + ["--data", #"{"a": 1}"#])
        #expect(run.status == 0, "\(run)")
        #expect(
            run.outputLines == [
                "delivered over memory://t in binary mode",
                "  specversion: 1.0  (String)",
                "  id: 1  (String)",
                "  source: /s  (URI-reference)",
                "  type: t  (String)",
                // JSON data implies application/json, written out when leaving the JSON format.
                "  datacontenttype: application/json  (String)",
                #"  body (8 bytes): {"a": 1}"#
            ])
    }

    @Test(arguments: [["--mode", "structured"], ["memory://t?mode=structured"], ["--format", "json", "--mode", "structured"]])
    func structuredJSON(_ arguments: [String]) async throws {
        let endpoint = arguments.first { $0.hasPrefix("memory:") } ?? "memory://t"
        let run = try await CE.run(
            ["send", endpoint] + arguments.filter { !$0.hasPrefix("memory:") } + Self.requiredOptions + ["--data", "[1]"])
        #expect(run.status == 0, "\(run)")
        let body = #"{"specversion":"1.0","id":"1","source":"/s","type":"t","data":[1]}"#
        #expect(
            run.outputLines == [
                "delivered over \(endpoint) in structured mode",
                "  content type: application/cloudevents+json",
                "  body (\(body.utf8.count) bytes): \(body)"
            ])
    }

    @Test func structuredProtobuf() async throws {
        let run = try await CE.run(
            ["send", "memory://t", "--mode", "structured", "--format", "protobuf"] + Self.requiredOptions
                + ["--datacontenttype", "text/plain", "--data", "hi"])
        #expect(run.status == 0, "\(run)")
        let lines = run.outputLines
        try #require(lines.count == 3, "\(run.output)")
        #expect(lines[0] == "delivered over memory://t in structured mode")
        #expect(lines[1] == "  content type: application/cloudevents+protobuf")
        let event = try ProtobufEventFormat().decode(try Self.hexBody(lines[2]))
        #expect(event == CloudEvent(id: "1", source: "/s", type: "t", dataContentType: "text/plain", data: .text("hi")))
    }

    @Test(arguments: ["json", "protobuf"])
    func batchModeSendsABatchOfOne(format: String) async throws {
        let run = try await CE.run(
            ["send", "memory://t", "--mode", "batch", "--format", format] + Self.requiredOptions + ["--subject", "x"])
        #expect(run.status == 0, "\(run)")
        let lines = run.outputLines
        try #require(lines.count == 3, "\(run.output)")
        #expect(lines[0] == "delivered over memory://t in batch mode")
        #expect(lines[1] == "  content type: application/cloudevents-batch+\(format)")
        let expected = CloudEvent(id: "1", source: "/s", type: "t", subject: "x")
        if format == "json" {
            let body = #"[{"specversion":"1.0","id":"1","source":"/s","type":"t","subject":"x"}]"#
            #expect(lines[2] == "  body (\(body.utf8.count) bytes): \(body)")
        } else {
            #expect(try ProtobufEventFormat().decodeBatch(try Self.hexBody(lines[2])) == [expected])
        }
    }

    @Test func everyOptionReachesTheEvent() async throws {
        let run = try await CE.run(
            ["send", "memory://t", "--mode", "structured"] + Self.requiredOptions + [
                "--subject", "sub", "--time", "2018-04-05T17:31:00.5+02:00", "--datacontenttype", "application/xml",
                "--dataschema", "https://example.com/s.xsd", "--ext", "color=blue", "--ext", "n:integer=5",
                "--ext", "flag:boolean=true", "--ext", "equation=a=b", "--data", "<a/>"
            ])
        #expect(run.status == 0, "\(run)")
        let event = try JSONEventFormat(extensionTypes: ["n": .integer]).decode(try Self.textBody(run))
        #expect(
            event
                == CloudEvent(
                    id: "1", source: "/s", type: "t", dataContentType: "application/xml", dataSchema: "https://example.com/s.xsd",
                    subject: "sub", time: try Timestamp(rfc3339: "2018-04-05T17:31:00.5+02:00"),
                    extensions: ["color": "blue", "n": 5, "flag": true, "equation": "a=b"], data: .text("<a/>")))
    }

    @Test func binaryModeKeepsExtensionTypes() async throws {
        let run = try await CE.run(
            ["send", "memory://t"] + Self.requiredOptions + [
                "--ext", "n:integer=5", "--ext", "u:uri=https://x.example/", "--ext", "b:binary=AAE=", "--time", "now"
            ])
        #expect(run.status == 0, "\(run)")
        #expect(run.outputLines.contains("  n: 5  (Integer)"))
        #expect(run.outputLines.contains("  u: https://x.example/  (URI)"))
        #expect(run.outputLines.contains("  b: AAE=  (Binary)"))
        let time = try #require(run.outputLines.first { $0.hasPrefix("  time: ") })
        #expect(time.hasSuffix("  (Timestamp)"))
        #expect(throws: Never.self) {
            try Timestamp(rfc3339: String(time.dropFirst("  time: ".count).dropLast("  (Timestamp)".count)))
        }
        #expect(run.outputLines.last == "  no body")
    }

    @Test func dataFileIsBinaryWithoutAContentType() async throws {
        let file = try Self.temporaryFile([0x00, 0xFF, 0x0A])
        defer { try? FileManager.default.removeItem(atPath: file) }
        let run = try await CE.run(["send", "memory://t", "--mode", "structured"] + Self.requiredOptions + ["--data-file", file])
        #expect(run.status == 0, "\(run)")
        let event = try JSONEventFormat().decode(try Self.textBody(run))
        #expect(event.data == .binary([0x00, 0xFF, 0x0A]))
        #expect(event.dataContentType == nil)
    }

    @Test func dataFileWithAJSONContentTypeMustBeJSON() async throws {
        let file = try Self.temporaryFile(Array(#"{"ok":true}"#.utf8))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let run = try await CE.run(
            ["send", "memory://t"] + Self.requiredOptions + ["--datacontenttype", "application/json", "--data-file", file])
        #expect(run.status == 0, "\(run)")
        #expect(run.outputLines.last == #"  body (11 bytes): {"ok":true}"#)
    }

    static let fileEvent = #"{"specversion":"1.0","id":"f","source":"/file","type":"t","n":7,"data":"text"}"#

    @Test func eventFileWithOverrides() async throws {
        let file = try Self.temporaryFile(Array(Self.fileEvent.utf8))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let run = try await CE.run("send", "memory://t", "--mode", "structured", "--event-file", file, "--subject", "added")
        #expect(run.status == 0, "\(run)")
        let event = try JSONEventFormat().decode(try Self.textBody(run))
        #expect(
            event
                == CloudEvent(
                    id: "f", source: "/file", type: "t", subject: "added", extensions: ["n": 7],
                    data: .json(try RawJSON(validating: #""text""#))))
    }

    @Test func eventFileFromStdin() async throws {
        let run = try await CE.run("send", "memory://t", "--mode", "batch", "--event-file", "-", input: Self.fileEvent)
        #expect(run.status == 0, "\(run)")
        #expect(run.outputLines.last?.hasSuffix("[\(Self.fileEvent)]") == true)
    }

    // MARK: Invalid input: exit 1 and one line naming what is wrong

    static let invalidSends: [(arguments: [String], mentions: String)] = [
        (["--data", "hello"], "application/json is implied"),
        (["--datacontenttype", "application/json", "--data", "{"], "data is not valid JSON"),
        (["--time", "yesterday"], "attribute 'time' must be an RFC 3339 timestamp"),
        (["--ext", "n:integer=five"], "attribute 'n' must be a whole decimal number"),
        (["--ext", "Upper=x"], "attribute 'Upper' is not a valid attribute name"),
        (["--ext", "subject=x"], "attribute 'subject' is a reserved name"),
        (["--dataschema", "relative/path"], "attribute 'dataschema' must be an absolute URI"),
        (["--specversion", "2.0"], "attribute 'specversion' has unsupported value '2.0'"),
        (["--data-file", "/nonexistent/file"], "cannot read file '/nonexistent/file'")
    ]

    @Test(arguments: invalidSends)
    func invalidEventExitsOneWithOneLine(arguments: [String], mentions: String) async throws {
        let run = try await CE.run(["send", "memory://t"] + Self.requiredOptions + arguments)
        #expect(run.status == 1, "\(run)")
        #expect(run.stdout.isEmpty)
        #expect(run.errorLines.count == 1, "\(run.stderr)")
        #expect(run.stderr.contains(mentions), "\(run.stderr)")
    }

    @Test(arguments: [
        ("kafka://localhost:9092/x", "scheme 'kafka' is not supported yet (\(BindingRegistryCommandTests.supported))"),
        ("localhost", "expected scheme://host"),
        ("memory://t?mode=sideways", "mode must be binary, structured or batch")
    ])
    func badEndpointExitsOneWithOneLine(endpoint: String, mentions: String) async throws {
        let run = try await CE.run(["send", endpoint] + Self.requiredOptions)
        #expect(run.status == 1, "\(run)")
        #expect(run.errorLines.count == 1, "\(run.stderr)")
        #expect(run.stderr.contains(mentions), "\(run.stderr)")
    }

    @Test func invalidEventFileNamesTheFileAndTheRule() async throws {
        let file = try Self.temporaryFile(Array(#"{"specversion":"1.0","id":"1","source":"/s"}"#.utf8))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let run = try await CE.run("send", "memory://t", "--event-file", file)
        #expect(run.status == 1, "\(run)")
        #expect(run.errorLines == ["ce: \(file): attribute 'type' is required but missing"])
    }

    // MARK: Usage errors: ArgumentParser's exit 64 with the subcommand's usage

    @Test(arguments: [
        (["--id", "1", "--source", "/s"], "give --event-file, or --id, --source and --type"),
        (["--event-file", "x.json", "--id", "1"], "--event-file cannot be combined"),
        (requiredOptions + ["--data", "1", "--data-file", "x"], "give --data or --data-file, not both"),
        (requiredOptions + ["--ext", "novalue"], "'novalue' is invalid for '--ext"),
        (requiredOptions + ["--ext", "n:color=red"], "'n:color=red' is invalid for '--ext"),
        (requiredOptions + ["--mode", "sideways"], "'sideways' is invalid for '--mode"),
        (requiredOptions + ["--format", "avro"], "'avro' is invalid for '--format")
    ])
    func usageErrorsExit64(arguments: [String], mentions: String) async throws {
        let run = try await CE.run(["send", "memory://t"] + arguments)
        #expect(run.status == 64, "\(run)")
        #expect(run.stderr.contains(mentions), "\(run.stderr)")
        #expect(run.stderr.contains("Usage: ce send"), "\(run.stderr)")
    }

    // MARK: Helpers

    /// The body of a printed structured message, as text.
    static func textBody(_ run: CERun) throws -> [UInt8] {
        let line = try #require(run.outputLines.last)
        let body = try #require(line.firstRange(of: "): "), "no body in \(line)")
        return Array(line[body.upperBound...].utf8)
    }

    /// The body of a printed message that `ce` shows in hex (Protobuf).
    static func hexBody(_ line: String) throws -> [UInt8] {
        let hex = Array(try #require(line.split(separator: " ").last).utf8)
        try #require(hex.count.isMultiple(of: 2))
        return try stride(from: 0, to: hex.count, by: 2).map { index in
            try #require(UInt8(String(decoding: hex[index...index + 1], as: UTF8.self), radix: 16))
        }
    }

    static func temporaryFile(_ bytes: [UInt8]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ce-test-\(UUID().uuidString)").path
        try #require(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        return path
    }
}
