import CloudEventsNATS
import NIOCore
import Testing

@Suite struct ProtocolMalformedTests {
    /// Each malformed stream and a piece of the error message that names the problem.
    static let cases: [(input: String, names: String)] = [
        ("FOO bar\r\n", "unknown operation 'FOO': 'FOO bar'"),
        ("\rERR x\r\n", "unknown operation '\\rERR'"),
        ("PINGX\r\n", "unknown operation 'PINGX'"),
        ("\r\n", "empty control line"),
        ("  \t\r\n", "empty control line"),
        ("PING extra\r\n", "PING has unexpected fields: 'PING extra'"),
        ("+OK now\r\n", "+OK has unexpected fields"),
        ("MSG a\r\n", "MSG control line has 1 argument, expected 3 or 4: 'MSG a'"),
        ("MSG a 1 r x 5\r\n", "MSG control line has 5 arguments, expected 3 or 4"),
        ("MSG a 1 2 3 4 5 6 7\r\n", "MSG control line has 8 arguments, expected 3 or 4"),
        ("HMSG a 1 5\r\n", "HMSG control line has 3 arguments, expected 4 or 5"),
        ("MSG a 1 -5\r\n", "MSG size is not a number or too large: 'MSG a 1 -5'"),
        ("MSG a 1 +5\r\n", "MSG size is not a number"),
        ("MSG a 1 5x\r\n", "MSG size is not a number"),
        ("MSG a 1 99999999999999999999\r\n", "MSG size is not a number or too large: 'MSG a 1 99999999999999999999'"),
        ("MSG a 1 9223372036854775808\r\n", "MSG size is not a number or too large"),
        ("MSG a x 1\r\n", "MSG subscription id is not a number: 'MSG a x 1'"),
        ("MSG a -1 1\r\n", "MSG subscription id is not a number"),
        ("MSG a 18446744073709551616 1\r\n", "MSG subscription id is not a number"),
        ("HMSG a 1 5 x\r\n", "HMSG total size is not a number or too large"),
        ("HMSG a 1 99999999999999999999 2\r\n", "HMSG size is not a number or too large"),
        ("HMSG a 1 10 5\r\n", "HMSG header size 10 is larger than its total size 5: 'HMSG a 1 10 5'"),
        ("MSG a 1 3\r\nabcX\r\n", "payload of 3 bytes for 'a' is not followed by CRLF but 'X\\r'"),
        ("MSG a 1 3\r\nab\r\n\r\n", "payload of 3 bytes for 'a' is not followed by CRLF but '\\n\\r'"),
        ("MSG a 1 3\r\nabc\n\r\n", "not followed by CRLF but '\\n\\r'"),
        ("MSG a 1 9223372036854775807\r\n", "MSG payload of 9223372036854775807 bytes is over the limit of 67108864 bytes"),
        ("HMSG a 1 12 67108865\r\n", "HMSG payload of 67108865 bytes is over the limit"),
        ("INFO nope\r\n", "INFO is not a valid JSON object"),
        ("INFO [1]\r\n", "INFO is not a valid JSON object"),
        (#"INFO {"port":"x"}"# + "\r\n", "INFO is not a valid JSON object"),
        ("INFO\r\n", "INFO has no JSON"),
        ("INFO   \r\n", "INFO has no JSON")
    ]

    @Test(arguments: cases.indices)
    func malformedInputNamesTheProblem(index: Int) {
        let (input, names) = Self.cases[index]
        let error = ProtocolWire.error(input)
        #expect(error?.message.contains(names) == true, "\(input.debugDescription): \(String(describing: error))")
    }

    @Test func anErrorAfterGoodCommandsComesAfterThem() throws {
        var decoder = NATSServerCommandDecoder()
        var buffer = ByteBuffer(string: "PING\r\nBAD\r\n")
        #expect(try decoder.decode(buffer: &buffer) == .ping)
        #expect(throws: NATSProtocolError.self) { try decoder.decode(buffer: &buffer) }
    }

    @Test func aControlLineOverTheLimitFailsBeforeItsLineFeedArrives() {
        var decoder = NATSServerCommandDecoder(maximumControlLineLength: 100)
        var buffer = ByteBuffer(string: "MSG a.b" + String(repeating: "x", count: 90))
        #expect((try? decoder.decode(buffer: &buffer)) == .some(nil))
        buffer.writeString(String(repeating: "x", count: 10))
        do {
            _ = try decoder.decode(buffer: &buffer)
            Issue.record("a 107-byte line without LF decoded")
        } catch {
            #expect(error.message.hasPrefix("control line is longer than 100 bytes: 'MSG a.bxxx"))
            #expect(error.message.hasSuffix("…'"))
        }
    }

    @Test func aControlLineOneByteOverTheLimitFailsWhenItsLineFeedIsThere() {
        let subject = String(repeating: "s", count: 4097 - "MSG  1 0".utf8.count)
        #expect(ProtocolWire.error("MSG \(subject) 1 0\r\n\r\n")?.message.hasPrefix("control line is longer than 4096") == true)
        #expect(ProtocolWire.error("MSG \(subject) 1 0\n\r\n")?.message.hasPrefix("control line is longer than 4096") == true)
    }

    @Test func anInfoLineOverOneMebibyteFails() {
        let error = ProtocolWire.error("INFO {\"x\":\"" + String(repeating: "x", count: 1 << 20))
        #expect(error?.message.hasPrefix("control line is longer than 1048576 bytes: 'INFO {") == true)
        // Only INFO gets the larger limit: a MSG line starting like it does not.
        let msg = ProtocolWire.error("MSG INFO " + String(repeating: "x", count: 5000))
        #expect(msg?.message.hasPrefix("control line is longer than 4096 bytes") == true)
        #expect(
            ProtocolWire.error("INFOX " + String(repeating: "x", count: 5000))?.message.hasPrefix(
                "control line is longer than 4096") == true)
    }

    @Test func aPayloadOverTheLimitFailsBeforeItArrives() {
        let decoder = NATSServerCommandDecoder(maximumPayload: 10)
        #expect(
            ProtocolWire.error("MSG a 1 11\r\n", decoder: decoder)?.message
                == "MSG payload of 11 bytes is over the limit of 10 bytes")
        #expect(ProtocolWire.error("HMSG a 1 5 11\r\n", decoder: decoder)?.message.contains("over the limit of 10") == true)
        #expect(ProtocolWire.error("MSG a 1 10\r\n0123456789\r\n", decoder: decoder) == nil)
    }

    /// Bad header blocks in otherwise well-framed HMSGs.
    static let headerCases: [(header: String, names: String)] = [
        ("", "header block has no line end"),
        ("NATS/1.0", "header block has no line end"),
        ("HTTP/1.1\r\n\r\n", "header block does not start with 'NATS/1.0': 'HTTP/1.1'"),
        ("NATS/1.\r\n\r\n", "does not start with 'NATS/1.0'"),
        ("NATS/1.0503\r\n\r\n", "no space after 'NATS/1.0'"),
        ("NATS/1.0 5x3\r\n\r\n", "header status is not three digits: 'NATS/1.0 5x3'"),
        ("NATS/1.0 5030\r\n\r\n", "header status is not three digits"),
        ("NATS/1.0 50\r\n\r\n", "header status is not three digits"),
        ("NATS/1.0\r\nno colon\r\n\r\n", "header line has no ':': 'no colon'"),
        ("NATS/1.0\r\n: v\r\n\r\n", "header line has an empty name"),
        ("NATS/1.0\r\na b: c\r\n\r\n", "header name has whitespace or a control character: 'a b: c'"),
        ("NATS/1.0\r\n a: c\r\n\r\n", "header name has whitespace"),
        ("NATS/1.0\r\na\u{1}: c\r\n\r\n", "header name has whitespace or a control character: 'a\\x01: c'"),
        ("NATS/1.0\r\na: b\r\n", "header block does not end with an empty line"),
        ("NATS/1.0\r\na: b", "header block does not end with an empty line: 'a: b'"),
        ("NATS/1.0\r\n\r\nx", "header block has bytes after its closing empty line: 'x'"),
        ("NATS/1.0\r\n\r\n\r\n", "header block has bytes after its closing empty line")
    ]

    /// A bad header block in a well-framed HMSG is that message's fault, not the stream's: the
    /// message arrives marked with the problem, and the next command decodes.
    @Test(arguments: headerCases.indices)
    func aBadHeaderBlockMarksTheMessageNamingTheProblemAndTheSubject(index: Int) throws {
        let (header, names) = Self.headerCases[index]
        let commands = try ProtocolWire.decode(ProtocolCorpus.hmsg("the.subject", 1, header: header, payload: "p") + "PING\r\n")
        try #require(commands.count == 2, "\(commands)")
        guard case .message(let id, let message) = commands[0] else {
            Issue.record("not a message: \(commands[0])")
            return
        }
        #expect(id == 1 && message.subject == "the.subject" && message.payload == Array("p".utf8))
        let malformation = try #require(message.headers?.malformation)
        #expect(malformation.hasPrefix("HMSG for 'the.subject' has a bad header block: "), "\(malformation)")
        #expect(malformation.contains(names), "\(header.debugDescription): \(malformation)")
        #expect(message.headers?.isEmpty == true)
        #expect(commands[1] == .ping)
        #expect(throws: NATSProtocolError.self) { try NATSHeaders(parsing: Array(header.utf8)) }
    }

    @Test func aHeaderNameThatIsNotUTF8IsRefused() {
        var block = Array("NATS/1.0\r\n".utf8)
        block += [0xC3, 0x28] + Array(": v\r\n\r\n".utf8)
        #expect(throws: NATSProtocolError("header name is not UTF-8: '\\xC3(: v'")) { try NATSHeaders(parsing: block) }
    }

    @Test func errorsDescribeThemselvesAsNATSProtocolErrors() {
        #expect("\(NATSProtocolError("x"))" == "NATS protocol error: x")
    }
}
