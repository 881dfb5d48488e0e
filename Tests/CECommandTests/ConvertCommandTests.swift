import CloudEvents
import CloudEventsConformance
import CloudEventsProtobuf
import Testing

/// `ce convert`, run as a subprocess: stdin to stdout, one line on stderr for bad input.
@Suite("ce convert")
struct ConvertCommandTests {
    let json = JSONEventFormat()
    /// Decodes `ce`'s JSON output with the corpus's extension types.
    let typedJSON = JSONEventFormat(extensionTypes: Corpus.extensionTypes)

    @Test func jsonToJSONRewritesTheEventCompactly() async throws {
        let input = #"{ "specversion": "1.0", "type": "t", "id": "1", "source": "/s", "data": {"a": 1} }"#
        let run = try await CE.run("convert", "--from", "json", "--to", "json", input: input)
        #expect(run.status == 0, "\(run)")
        #expect(run.stderr.isEmpty)
        // Attributes in the canonical order, data as its JSON text, one line.
        #expect(run.output == #"{"specversion":"1.0","id":"1","source":"/s","type":"t","data":{"a": 1}}"# + "\n")
    }

    @Test(arguments: Corpus.events)
    func jsonToProtobufAndBack(_ item: Corpus.Case) async throws {
        let input = try json.encode(item.event)
        let toProtobuf = try await CE.run(["convert", "--from", "json", "--to", "protobuf"], input: input)
        try #require(toProtobuf.status == 0, "\(toProtobuf)")
        // The Protobuf bytes decode to the event `ce` read (JSON gave it no extension types).
        let untyped = try json.decode(input)
        let decoded = try ProtobufEventFormat().decode(toProtobuf.stdout)
        #expect(Equivalence.typedUTC.differences(untyped, decoded).isEmpty)

        let back = try await CE.run(["convert", "--from", "protobuf", "--to", "json"], input: toProtobuf.stdout)
        try #require(back.status == 0, "\(back)")
        #expect(back.stdout.last == 0x0A)
        let differences = Equivalence.typedUTC.differences(item.event, try typedJSON.decode(back.stdout))
        #expect(differences.isEmpty, "\(differences)")
    }

    static let batchSizes = [0, 1, Corpus.events.count { $0.event.specVersion == .v1_0 }]

    @Test(arguments: batchSizes)
    func batchThroughProtobufAndBack(size: Int) async throws {
        let events = Corpus.events.map(\.event).filter { $0.specVersion == .v1_0 }.prefix(size)
        let input = try json.encodeBatch(Array(events))
        let toProtobuf = try await CE.run(["convert", "--from", "json", "--to", "protobuf", "--batch"], input: input)
        try #require(toProtobuf.status == 0, "\(toProtobuf)")
        #expect(try ProtobufEventFormat().decodeBatch(toProtobuf.stdout).count == size)

        let back = try await CE.run(["convert", "--from", "protobuf", "--to", "json", "--batch"], input: toProtobuf.stdout)
        try #require(back.status == 0, "\(back)")
        let decoded = try typedJSON.decodeBatch(back.stdout)
        try #require(decoded.count == size)
        for (expected, actual) in zip(events, decoded) {
            #expect(Equivalence.typedUTC.differences(expected, actual).isEmpty, "\(expected.id)")
        }
    }

    @Test func emptyJSONBatchStaysAnEmptyArray() async throws {
        let run = try await CE.run("convert", "--from", "json", "--to", "json", "--batch", input: " [ ] ")
        #expect(run.status == 0, "\(run)")
        #expect(run.output == "[]\n")
    }

    struct InvalidInput: Sendable, CustomStringConvertible {
        var description: String
        var arguments: [String]
        var input: [UInt8]
        /// What the one stderr line must say: the position or attribute, and the rule.
        var mentions: [String]
    }

    static let invalidInputs = [
        InvalidInput(
            description: "malformed JSON", arguments: ["--from", "json", "--to", "protobuf"],
            input: Array(#"{"specversion":"1.0","id":"1",,"source":"/s"}"#.utf8),
            mentions: ["invalid JSON at byte 30", "expected a member name"]),
        InvalidInput(
            description: "truncated JSON", arguments: ["--from", "json", "--to", "json"],
            input: Array(#"{"specversion":"1.0","id":"1""#.utf8), mentions: ["byte 29", "end of input"]),
        InvalidInput(
            description: "missing type", arguments: ["--from", "json", "--to", "protobuf"],
            input: Array(#"{"specversion":"1.0","id":"1","source":"/s"}"#.utf8), mentions: ["'type'", "required"]),
        InvalidInput(
            description: "bad time", arguments: ["--from", "json", "--to", "json"],
            input: Array(#"{"specversion":"1.0","id":"1","source":"/s","type":"t","time":"2018-04-05"}"#.utf8),
            mentions: ["'time'", "RFC 3339", "2018-04-05"]),
        InvalidInput(
            description: "unknown specversion", arguments: ["--from", "json", "--to", "json"],
            input: Array(#"{"specversion":"2.0","id":"1","source":"/s","type":"t"}"#.utf8),
            mentions: ["'specversion'", "2.0"]),
        InvalidInput(
            description: "invalid Protobuf bytes", arguments: ["--from", "protobuf", "--to", "json"],
            input: [0xFF, 0xFF, 0xFF], mentions: ["Protobuf message"]),
        InvalidInput(
            description: "empty Protobuf message", arguments: ["--from", "protobuf", "--to", "json"],
            input: [], mentions: ["'specversion'", "required"]),
        InvalidInput(
            description: "batch whose first event has no type", arguments: ["--from", "json", "--to", "protobuf", "--batch"],
            input: Array(
                #"[{"specversion":"1.0","id":"1","source":"/s"},{"specversion":"0.3","id":"2","source":"/s","type":"t"}]"#
                    .utf8),
            mentions: ["event 0 of the batch", "'type'"]),
        InvalidInput(
            description: "single event where a batch is expected", arguments: ["--from", "json", "--to", "json", "--batch"],
            input: Array(#"{"specversion":"1.0","id":"1","source":"/s","type":"t"}"#.utf8),
            mentions: ["a batch must be a JSON array"])
    ]

    @Test(arguments: invalidInputs)
    func invalidInputExitsOneWithOneLine(_ invalid: InvalidInput) async throws {
        let run = try await CE.run(["convert"] + invalid.arguments, input: invalid.input)
        #expect(run.status == 1, "\(run)")
        #expect(run.stdout.isEmpty)
        #expect(run.errorLines.count == 1, "\(run.stderr)")
        for text in invalid.mentions {
            #expect(run.stderr.contains(text), "\(run.stderr) should mention \(text)")
        }
    }

    @Test func unknownFormatIsAUsageError() async throws {
        let run = try await CE.run("convert", "--from", "xml", "--to", "json", input: "{}")
        #expect(run.status == 64, "\(run)")
        #expect(run.stderr.contains("'xml' is invalid for '--from"))
    }
}
