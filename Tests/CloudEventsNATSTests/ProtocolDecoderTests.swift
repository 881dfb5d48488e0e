import CloudEventsNATS
import NIOCore
import NIOEmbedded
import Testing

@Suite struct ProtocolDecoderTests {
    @Test func everyCommandKindDecodesFromKnownBytes() throws {
        let commands = try ProtocolWire.decode(ProtocolCorpus.stream)
        #expect(commands.count == ProtocolCorpus.commands.count)
        for (got, expected) in zip(commands, ProtocolCorpus.commands) {
            #expect(got == expected)
        }
    }

    @Test func theStreamSplitAtEveryPositionDecodesTheSame() throws {
        let bytes = Array(ProtocolCorpus.stream.utf8)
        for cut in 0...bytes.count {
            let commands = try ProtocolWire.decode(bytes, cuts: [cut])
            #expect(commands == ProtocolCorpus.commands, "split at \(cut)")
        }
    }

    @Test func theStreamSplitTwiceAtSeededPositionsDecodesTheSame() throws {
        let bytes = Array(ProtocolCorpus.stream.utf8)
        var random = SeededRandom(seed: 0x4E41_5453)
        for _ in 0..<2_000 {
            let cuts = [random.below(bytes.count + 1), random.below(bytes.count + 1)].sorted()
            #expect(try ProtocolWire.decode(bytes, cuts: cuts) == ProtocolCorpus.commands, "split at \(cuts)")
        }
    }

    @Test func theStreamFedByteByByteDecodesTheSame() throws {
        let bytes = Array(ProtocolCorpus.stream.utf8)
        #expect(try ProtocolWire.decode(bytes, cuts: Array(1..<bytes.count)) == ProtocolCorpus.commands)
    }

    @Test func anIncompleteCommandWaitsForItsBytesWithoutConsumingThem() throws {
        var decoder = NATSServerCommandDecoder()
        var buffer = ByteBuffer(string: "MSG a 1 5\r\nhel")
        #expect(try decoder.decode(buffer: &buffer) == nil)
        #expect(try decoder.decodeLast(buffer: &buffer, seenEOF: true) == nil)
        buffer.writeString("lo\r")
        #expect(try decoder.decode(buffer: &buffer) == nil)
        buffer.writeString("\nPI")
        #expect(
            try decoder.decode(buffer: &buffer)
                == .message(subscriptionID: 1, NATSMessage(subject: "a", payload: Array("hello".utf8))))
        #expect(try decoder.decode(buffer: &buffer) == nil)
        #expect(buffer.readableBytes == 2)
        buffer.writeString("NG\r\n")
        #expect(try decoder.decode(buffer: &buffer) == .ping)
        #expect(buffer.readableBytes == 0)
    }

    @Test func aBareLineFeedEndsAControlLine() throws {
        #expect(
            try ProtocolWire.decode("PING\nMSG a 1 2\nhi\r\n") == [
                .ping, .message(subscriptionID: 1, NATSMessage(subject: "a", payload: Array("hi".utf8)))
            ])
    }

    @Test func theLargestSubscriptionIDAndAPayloadAtTheLimitDecode() throws {
        let decoder = NATSServerCommandDecoder(maximumPayload: 4)
        let commands = try ProtocolWire.decode(
            Array("MSG a 18446744073709551615 4\r\nabcd\r\n".utf8), decoder: decoder)
        #expect(commands == [.message(subscriptionID: .max, NATSMessage(subject: "a", payload: Array("abcd".utf8)))])
    }

    @Test func aControlLineAtTheLimitDecodes() throws {
        let subject = String(repeating: "s", count: 4096 - "MSG  1 0".utf8.count)
        let commands = try ProtocolWire.decode("MSG \(subject) 1 0\r\n\r\n")
        #expect(commands == [.message(subscriptionID: 1, NATSMessage(subject: subject))])
    }

    @Test func anInfoLongerThanTheControlLineLimitDecodes() throws {
        // A large cluster's INFO lists many servers: more than 4096 bytes.
        let urls = (0..<400).map { "10.0.\($0 / 250).\($0 % 250):4222" }
        let json = #"{"server_id":"S","connect_urls":["# + urls.map { "\"\($0)\"" }.joined(separator: ",") + "]}"
        #expect(json.utf8.count > 4096)
        let commands = try ProtocolWire.decode(Array("info \(json)\r\nPING\r\n".utf8), cuts: [3, 5000])
        guard case .info(let info) = commands.first else {
            Issue.record("no INFO: \(commands)")
            return
        }
        #expect(info.connectURLs == urls)
        #expect(commands.dropFirst() == [.ping])
    }

    @Test func minimalInfoTakesTheDefaults() throws {
        let commands = try ProtocolWire.decode("INFO {}\r\n")
        let expected = NATSServerInfo(
            serverID: "", version: "", proto: 0, host: "", port: 4222, headers: false, maxPayload: 1 << 20)
        #expect(commands == [.info(expected)])
        guard case .info(let info) = commands.first else { return }
        #expect(info.connectURLs.isEmpty && !info.lameDuckMode && info.clientID == nil && !info.authRequired)
    }

    @Test func infoReadsEveryDocumentedKey() throws {
        let json =
            #"{"server_id":"S","version":"2.10.0","proto":1,"host":"h","port":1,"headers":true,"max_payload":5,"#
            + #""auth_required":true,"tls_required":true,"tls_available":true,"connect_urls":["a:1","b:2"],"ldm":true,"#
            + #""client_id":18446744073709551615,"nonce":"n","server_name":"name","jetstream":true}"#
        let commands = try ProtocolWire.decode("INFO \t\(json) \r\n")
        let expected = NATSServerInfo(
            serverID: "S", serverName: "name", version: "2.10.0", proto: 1, host: "h", port: 1, headers: true,
            maxPayload: 5, authRequired: true, tlsRequired: true, tlsAvailable: true, connectURLs: ["a:1", "b:2"],
            lameDuckMode: true, clientID: .max, nonce: "n")
        #expect(commands == [.info(expected)])
    }

    @Test func errorTextKeepsInnerQuotesAndUnquotedText() throws {
        #expect(
            try ProtocolWire.decode("-ERR 'Permissions Violation for Publish to \"x\"'\r\n-err  plain text \r\n-ERR\r\n") == [
                .error("Permissions Violation for Publish to \"x\""), .error("plain text"), .error("")
            ])
    }

    @Test func throughAByteToMessageHandlerInAChannel() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(NATSServerCommandDecoder()))
        defer { _ = try? channel.finish() }
        let bytes = Array(ProtocolCorpus.stream.utf8)
        var start = 0
        for end in stride(from: 7, to: bytes.count, by: 7) + [bytes.count] {
            try channel.writeInbound(ByteBuffer(bytes: bytes[start..<end]))
            start = end
        }
        var commands: [NATSServerCommand] = []
        while let command = try channel.readInbound(as: NATSServerCommand.self) {
            commands.append(command)
            if commands.count > ProtocolCorpus.commands.count { break }
        }
        #expect(commands == ProtocolCorpus.commands)
    }

    /// As the client drives it: a processor fed chunks, its error still a NATSProtocolError.
    @Test func throughASingleStepProcessorErrorsStayNATSProtocolErrors() throws {
        let processor = NIOSingleStepByteToMessageProcessor(NATSServerCommandDecoder())
        var commands: [NATSServerCommand] = []
        try processor.process(buffer: ByteBuffer(string: "PING\r\nMSG a 1 2\r\nh")) { commands.append($0) }
        try processor.process(buffer: ByteBuffer(string: "i\r\n")) { commands.append($0) }
        #expect(commands == [.ping, .message(subscriptionID: 1, NATSMessage(subject: "a", payload: Array("hi".utf8)))])
        do {
            try processor.process(buffer: ByteBuffer(string: "MSG a 1 x\r\n")) { commands.append($0) }
            Issue.record("a bad size decoded")
        } catch let error as NATSProtocolError {
            #expect(error.message == "MSG size is not a number or too large: 'MSG a 1 x'")
        }
    }
}

/// SplitMix64: a small seeded generator so failures reproduce.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `0..<bound` (`bound` > 0).
    mutating func below(_ bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }
}
