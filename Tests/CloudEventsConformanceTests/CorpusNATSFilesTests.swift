import CloudEvents
import CloudEventsConformance
import Testing

/// The invalid NATS set (`invalid/nats.json`): the bundled file loads with forty cases or more
/// (no header block, header values in hex, payloads), and a malformed entry names the file.
@Suite("Corpus: the invalid NATS set")
struct CorpusNATSFilesTests {
    @Test func theBundledSetLoadsWithEveryShape() {
        let cases = InvalidInputs.nats
        #expect(cases.count >= 40)
        #expect(cases.contains { $0.headers == nil }, "a case without a header block (PUB)")
        #expect(cases.contains { $0.headers == [] }, "a case with an empty header block")
        let notUTF8 = cases.first { $0.name == "binary: a ce-id value that is not UTF-8" }
        #expect(notUTF8?.headers?.first == RawNATSHeader(name: "ce-id", value: [0xFF]))
        #expect(cases.contains { ($0.headers ?? []).contains { $0.name == "CE-ID" } }, "ce-id and CE-ID")
    }

    @Test func aCaseIsReadAsWritten() throws {
        let text = #"""
            [{"name": "n", "headers": [["ce-id", "1"], {"name": "ce-x", "valueHex": "c3 28"}], "payloadHex": "00 ff", "error": "e"},
             {"name": "m", "headers": null, "payload": "{}", "error": "f"}]
            """#
        let cases = try CorpusFilesTests.withCases(["invalid/nats.json": text]) { try $0.invalidNATS() }
        #expect(cases.count == 2)
        #expect(cases[0].headers == [RawNATSHeader("ce-id", "1"), RawNATSHeader(name: "ce-x", value: [0xC3, 0x28])])
        #expect(cases[0].payload == [0x00, 0xFF])
        #expect(cases[1].headers == nil && cases[1].payload == Array("{}".utf8))
        let wire = cases[0].message(subject: "a.b").publishCommand
        #expect(
            wire == Array("HPUB a.b 32 34\r\nNATS/1.0\r\nce-id: 1\r\nce-x: ".utf8) + [0xC3, 0x28] + Array("\r\n\r\n".utf8) + [
                0, 0xFF, 0x0D, 0x0A
            ])
        #expect(cases[1].message(subject: "a.b").publishCommand == Array("PUB a.b 2\r\n{}\r\n".utf8))
    }

    @Test(arguments: [
        (#"[{"name": "n", "payload": "x", "error": "e"}]"#, "member 'headers' is missing"),
        (#"[{"name": "n", "headers": [["ce-id"]], "error": "e"}]"#, "each header must be [name, value]"),
        (#"[{"name": "n", "headers": [{"name": "ce-id", "valueHex": "f"}], "error": "e"}]"#, "odd number of digits"),
        (#"[{"name": "n", "headers": [], "payload": "x", "payloadHex": "00", "error": "e"}]"#, "are exclusive"),
        (#"[{"name": "n", "headers": [], "error": ""}]"#, "'error' must not be empty")
    ])
    func aMalformedEntryNamesTheFile(text: String, reason: String) throws {
        let error = try CorpusFilesTests.loadError(["invalid/nats.json": text]) { corpus throws(CorpusFileError) in
            _ = try corpus.invalidNATS()
        }
        #expect(error?.file == "invalid/nats.json")
        #expect(error?.reason.contains(reason) == true, "\(String(describing: error))")
    }
}
