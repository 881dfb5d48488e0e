import CloudEvents
import CloudEventsConformance
import Foundation
import Testing

/// The loader: today's corpus loads, and a missing or malformed file is an error naming
/// the file, never an empty list.
@Suite("Corpus: loading the files")
struct CorpusFilesTests {
    /// A scratch `Cases` folder with the given files, removed after `body`.
    static func withCases<T>(_ files: [String: String], _ body: (CorpusFiles) throws -> T) throws -> T {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("corpus-\(UUID().uuidString)")
        for folder in ["valid", "invalid"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        defer { try? FileManager.default.removeItem(at: root) }
        for (path, text) in files {
            try Data(text.utf8).write(to: root.appendingPathComponent(path))
        }
        return try body(CorpusFiles(directory: root))
    }

    static func loadError(_ files: [String: String], _ load: (CorpusFiles) throws(CorpusFileError) -> Void) throws
        -> CorpusFileError?
    {
        try withCases(files) { corpus -> CorpusFileError? in
            do throws(CorpusFileError) {
                try load(corpus)
                return nil
            } catch {
                return error
            }
        }
    }

    static let minimal = #"{"specversion":"1.0","id":"1","source":"/s","type":"t"}"#

    @Test func theBundledCorpusLoadsWithEveryManifestEntry() throws {
        let files = try CorpusFiles.bundled()
        let cases = try files.validCases()
        #expect(cases.count == Corpus.events.count)
        #expect(cases.map(\.name) == Corpus.events.map(\.name))
        #expect(cases.allSatisfy { $0.file != nil })
        #expect(try files.invalidJSON() == InvalidInputs.json)
        #expect(try files.invalidProtobuf() == InvalidInputs.protobuf)
        #expect(try files.invalidHTTP() == InvalidInputs.http)
        #expect(try files.invalidMQTT5() == InvalidInputs.mqtt5)
        #expect(try files.invalidAMQP() == InvalidInputs.amqp)
    }

    @Test func theUnionOfExtensionTypesCoversEveryCase() {
        for item in Corpus.events {
            for (name, type) in item.extensionTypes.types { #expect(Corpus.extensionTypes[name] == type, "\(name)") }
        }
        #expect(Corpus.extensionTypes["ts"] == .timestamp)
        #expect(Corpus.extensionTypes["bin"] == .binary)
    }

    @Test func aMissingManifestNamesTheManifest() throws {
        let error = try Self.loadError([:]) { corpus throws(CorpusFileError) in _ = try corpus.validCases() }
        #expect(error?.file == "valid/manifest.json")
        #expect(
            error?.description.hasPrefix("corpus file 'valid/manifest.json': cannot be read") == true,
            "\(String(describing: error))")
    }

    @Test func anEmptyManifestIsAnErrorNotAnEmptyCorpus() throws {
        let error = try Self.loadError(["valid/manifest.json": "[]"]) { corpus throws(CorpusFileError) in
            _ = try corpus.validCases()
        }
        #expect(error == CorpusFileError(file: "valid/manifest.json", reason: "holds no entries"))
    }

    @Test func aListedFileThatIsMissingIsNamed() throws {
        let manifest = #"[{"file": "001-gone.json", "description": "gone"}]"#
        let error = try Self.loadError(["valid/manifest.json": manifest]) { corpus throws(CorpusFileError) in
            _ = try corpus.validCases()
        }
        #expect(error?.file == "valid/001-gone.json")
    }

    @Test func anInvalidEventNamesItsFileAndTheRule() throws {
        let manifest = #"[{"file": "001-bad.json", "description": "bad"}]"#
        let error = try Self.loadError([
            "valid/manifest.json": manifest, "valid/001-bad.json": #"{"specversion":"1.0","id":"","source":"/s","type":"t"}"#
        ]) { corpus throws(CorpusFileError) in _ = try corpus.validCases() }
        #expect(error?.file == "valid/001-bad.json")
        #expect(error?.reason.contains("attribute 'id' must not be empty") == true, "\(String(describing: error))")
    }

    @Test func anUnlistedEventFileIsNamed() throws {
        let manifest = #"[{"file": "001-a.json", "description": "a"}]"#
        let error = try Self.loadError([
            "valid/manifest.json": manifest, "valid/001-a.json": Self.minimal, "valid/002-b.json": Self.minimal
        ]) { corpus throws(CorpusFileError) in _ = try corpus.validCases() }
        #expect(error == CorpusFileError(file: "valid/002-b.json", reason: "not listed in valid/manifest.json"))
    }

    @Test func aManifestEntryWithoutADescriptionIsNamed() throws {
        let error = try Self.loadError(["valid/manifest.json": #"[{"file": "001-a.json"}]"#]) { corpus throws(CorpusFileError) in
            _ = try corpus.validCases()
        }
        #expect(error?.file == "valid/manifest.json")
        #expect(error?.reason.contains("'description' is missing") == true, "\(String(describing: error))")
    }

    @Test func anUnknownTypeAndConflictingTypesAreRefused() throws {
        let unknown = #"[{"file": "001-a.json", "description": "a", "extensionTypes": {"x": "date"}}]"#
        let unknownError = try Self.loadError(["valid/manifest.json": unknown, "valid/001-a.json": Self.minimal]) {
            corpus throws(CorpusFileError) in _ = try corpus.validCases()
        }
        #expect(
            unknownError?.reason.contains("extension 'x' has unknown type 'date'") == true, "\(String(describing: unknownError))")

        let conflict = #"""
            [{"file": "001-a.json", "description": "a", "extensionTypes": {"x": "uri"}},
             {"file": "002-b.json", "description": "b", "extensionTypes": {"x": "timestamp"}}]
            """#
        let conflictError = try Self.loadError([
            "valid/manifest.json": conflict, "valid/001-a.json": Self.minimal, "valid/002-b.json": Self.minimal
        ]) { corpus throws(CorpusFileError) in _ = try corpus.validCases() }
        #expect(conflictError?.reason.contains("extension 'x' is declared Timestamp here and URI for '001-a.json'") == true)
    }

    @Test func malformedInvalidSetsNameTheirFile() throws {
        let missing = try Self.loadError([:]) { corpus throws(CorpusFileError) in _ = try corpus.invalidJSON() }
        #expect(missing?.file == "invalid/json.json")

        let notJSON = try Self.loadError(["invalid/protobuf.json": "[{"]) { corpus throws(CorpusFileError) in
            _ = try corpus.invalidProtobuf()
        }
        #expect(notJSON?.file == "invalid/protobuf.json")

        let oddHex = try Self.loadError(["invalid/protobuf.json": #"[{"name": "n", "hex": "0a 1", "error": "e"}]"#]) {
            corpus throws(CorpusFileError) in _ = try corpus.invalidProtobuf()
        }
        #expect(oddHex == CorpusFileError(file: "invalid/protobuf.json", reason: "entry 'n': 'hex' has an odd number of digits"))
        let split = try Self.loadError(["invalid/protobuf.json": #"[{"name": "n", "hex": "0 a", "error": "e"}]"#]) {
            corpus throws(CorpusFileError) in _ = try corpus.invalidProtobuf()
        }
        #expect(split == CorpusFileError(file: "invalid/protobuf.json", reason: "entry 'n': 'hex' splits a byte with a space"))
        let notHex = try Self.loadError(["invalid/protobuf.json": #"[{"name": "n", "hex": "0g", "error": "e"}]"#]) {
            corpus throws(CorpusFileError) in _ = try corpus.invalidProtobuf()
        }
        #expect(notHex?.reason.contains("not a hexadecimal digit") == true)

        let badPair = try Self.loadError([
            "invalid/http.json": #"[{"name": "n", "headers": [["ce-id"]], "error": "e"}]"#
        ]) { corpus throws(CorpusFileError) in _ = try corpus.invalidHTTP() }
        #expect(badPair?.file == "invalid/http.json")
        #expect(badPair?.reason.contains("must be [name, value]") == true)

        let noError = try Self.loadError(["invalid/json.json": #"[{"name": "n", "input": "{}", "error": ""}]"#]) {
            corpus throws(CorpusFileError) in _ = try corpus.invalidJSON()
        }
        #expect(noError == CorpusFileError(file: "invalid/json.json", reason: "entry 'n': 'error' must not be empty"))

        let repeated = try Self.loadError([
            "invalid/json.json": #"[{"name": "n", "input": "{}", "error": "e"}, {"name": "n", "input": "[]", "error": "e"}]"#
        ]) { corpus throws(CorpusFileError) in _ = try corpus.invalidJSON() }
        #expect(repeated?.reason.contains("repeats another entry's") == true)

        let noContentType = try Self.loadError([
            "invalid/mqtt5.json": #"[{"name": "n", "userProperties": [], "error": "e"}]"#
        ]) { corpus throws(CorpusFileError) in _ = try corpus.invalidMQTT5() }
        #expect(noContentType?.file == "invalid/mqtt5.json")
        #expect(noContentType?.reason.contains("contentType") == true, "\(String(describing: noContentType))")

        let both = try Self.loadError([
            "invalid/mqtt5.json":
                #"[{"name": "n", "contentType": null, "userProperties": [], "payload": "a", "payloadHex": "61", "error": "e"}]"#
        ]) { corpus throws(CorpusFileError) in _ = try corpus.invalidMQTT5() }
        #expect(
            both == CorpusFileError(file: "invalid/mqtt5.json", reason: "entry 'n': 'payload' and 'payloadHex' are exclusive"))
    }

    @Test func anAMQPCaseIsReadWithItsTypesAndAMalformedOneIsNamed() throws {
        let cases = try Self.withCases([
            "invalid/amqp.json": #"""
            [{"name": "n", "contentType": "text/plain", "properties": [["a", "long", 5000000000], ["b", "timestamp", 7],
            ["c", "symbol", "s"], ["d", "binary", "00ff"], ["e", "boolean", false]],
            "body": [{"data": "x"}, {"value": "v"}, {"sequence": ["q"]}], "error": "e"}]
            """#
        ]) { try $0.invalidAMQP() }
        let item = try #require(cases.first)
        #expect(
            item.properties.map(\.value) == [
                .long(5_000_000_000), .timestamp(7), .symbol("s"), .binary([0, 255]), .boolean(false)
            ])
        #expect(item.body.map(\.kind) == [.data, .amqpValue, .amqpSequence])
        #expect(try RawAMQPMessage(parsing: item.bytes).contentTypeField == .symbol("text/plain"))

        let wrongType = try Self.loadError([
            "invalid/amqp.json":
                #"[{"name": "n", "contentType": null, "properties": [["a", "int", "x"]], "body": [], "error": "e"}]"#
        ]) { corpus throws(CorpusFileError) in _ = try corpus.invalidAMQP() }
        #expect(wrongType?.reason.contains("\"x\" is not a value of AMQP type 'int'") == true, "\(String(describing: wrongType))")
        let badSection = try Self.loadError([
            "invalid/amqp.json": #"[{"name": "n", "contentType": null, "properties": [], "body": [{}], "error": "e"}]"#
        ]) { corpus throws(CorpusFileError) in _ = try corpus.invalidAMQP() }
        #expect(badSection?.reason.contains("exactly one of data, dataHex, value, sequence") == true)
    }

    @Test func hexAllowsSpacesBetweenBytesInEitherCase() throws {
        let cases = try Self.withCases(["invalid/protobuf.json": #"[{"name": "n", "hex": "0A ff 10", "error": "e"}]"#]) {
            try $0.invalidProtobuf()
        }
        #expect(cases.first?.bytes == [0x0A, 0xFF, 0x10])
        #expect(cases.first?.batch == false)
    }
}
