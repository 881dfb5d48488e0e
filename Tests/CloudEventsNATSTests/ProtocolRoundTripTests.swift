import CloudEventsNATS
import NIOCore
import Testing

/// Seeded random messages written as the client writes them (`PUB`/`HPUB`) read back as the
/// server delivers them (`MSG`/`HMSG`): the byte counts the encoder computes must be exact.
@Suite struct ProtocolRoundTripTests {
    static let nameBytes = Array("abcXYZ019-_.ü~".unicodeScalars)
    static let valueBytes = Array("ab Z:9%\t/é☕,;=".unicodeScalars)

    static func text(_ alphabet: [Unicode.Scalar], _ count: Int, _ random: inout SeededRandom) -> String {
        var text = String.UnicodeScalarView()
        for _ in 0..<count { text.append(alphabet[random.below(alphabet.count)]) }
        return String(text)
    }

    /// A value as parsing returns it: no blanks at either end.
    static func value(_ random: inout SeededRandom) -> String {
        let value = text(valueBytes, random.below(12), &random)
        return String(value.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }

    static func message(_ random: inout SeededRandom) -> NATSMessage {
        let subject = (0...random.below(3)).map { _ in text(nameBytes.filter { $0 != "." }, 1 + random.below(6), &random) }
            .joined(separator: ".")
        let replyTo = random.below(2) == 0 ? nil : "_INBOX.\(random.below(1_000_000))"
        var headers: NATSHeaders?
        if random.below(3) > 0 {
            var fields: [NATSHeaders.Field] = []
            for _ in 0..<random.below(6) {
                fields.append(.init(name: text(nameBytes, 1 + random.below(20), &random), value: value(&random)))
            }
            let status = random.below(4) == 0 ? 100 + random.below(900) : nil
            let description = status != nil && random.below(2) == 0 ? "No Responders \(random.below(9))" : nil
            headers = NATSHeaders(fields, status: status, statusDescription: description)
        }
        let payload = (0..<random.below(40)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        return NATSMessage(subject: subject, replyTo: replyTo, headers: headers, payload: payload)
    }

    /// The client's `PUB`/`HPUB` bytes turned into the server's `MSG`/`HMSG` for `sid`.
    static func delivered(_ message: NATSMessage, sid: UInt64) -> [UInt8] {
        var buffer = ByteBuffer()
        NATSClientCommand.publish(message).write(into: &buffer)
        let bytes = Array(buffer.readableBytesView)
        let op = message.headers == nil ? "PUB " : "HPUB "
        let prefix = Array((op + message.subject).utf8)
        #expect(Array(bytes.prefix(prefix.count)) == prefix)
        let serverOp = message.headers == nil ? "MSG " : "HMSG "
        return Array((serverOp + message.subject + " \(sid)").utf8) + bytes.dropFirst(prefix.count)
    }

    @Test func randomMessagesReadBackAsWritten() throws {
        var random = SeededRandom(seed: 0xC0FFEE)
        var stream: [UInt8] = []
        var expected: [NATSServerCommand] = []
        for round in 0..<3_000 {
            let message = Self.message(&random)
            try message.headers?.validate()
            if let headers = message.headers {
                #expect(ProtocolWire.bytes(of: headers).count == headers.encodedByteCount)
            }
            let sid = UInt64(round) * 7_919
            let bytes = Self.delivered(message, sid: sid)
            #expect(try ProtocolWire.decode(bytes) == [.message(subscriptionID: sid, message)], "round \(round)")
            if round < 300 {
                stream += bytes
                expected.append(.message(subscriptionID: sid, message))
            }
        }
        var cuts: [Int] = []
        for _ in 0..<50 { cuts.append(random.below(stream.count + 1)) }
        #expect(try ProtocolWire.decode(stream, cuts: cuts.sorted()) == expected)
    }
}
