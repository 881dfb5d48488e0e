import CloudEvents
import CloudEventsConformance
import CloudEventsNATS
import CloudEventsProtobuf
import NIOCore
import Testing

/// The mapping's messages as the exact protocol bytes the client sends (`HPUB`/`PUB`), and a
/// header block as a server delivers it in an `HMSG`, parsed and read as an event.
@Suite struct MappingWireBytesTests {
    static func wire(_ message: NATSMessage) -> String {
        var buffer = ByteBuffer()
        NATSClientCommand.publish(message).write(into: &buffer)
        return String(buffer: buffer)
    }

    @Test func aBinaryEventIsOneHPUBWithLowercaseCEHeaders() throws {
        let event = CloudEvent(
            id: "1", source: "/a%20b", type: "t", dataContentType: "text/plain", subject: "a b", data: .text("hello"))
        let message = try NATSMessage(subject: "orders.new", replyTo: "_INBOX.x", event: event)
        let block =
            "NATS/1.0\r\nce-specversion: 1.0\r\nce-id: 1\r\nce-source: /a%2520b\r\nce-type: t\r\n"
            + "ce-datacontenttype: text/plain\r\nce-subject: a%20b\r\n\r\n"
        let expected = "HPUB orders.new _INBOX.x \(block.utf8.count) \(block.utf8.count + 5)\r\n\(block)hello\r\n"
        #expect(Self.wire(message) == expected)
    }

    @Test func aStructuredEventCarriesOnlyContentType() throws {
        let event = CloudEvent(id: "1", source: "/s", type: "t")
        let message = try NATSMessage(subject: "s", event: event, mode: .structured)
        let body = String(decoding: try JSONEventFormat().encode(event), as: UTF8.self)
        let block = "NATS/1.0\r\nContent-Type: application/cloudevents+json\r\n\r\n"
        #expect(Self.wire(message) == "HPUB s \(block.utf8.count) \(block.utf8.count + body.utf8.count)\r\n\(block)\(body)\r\n")
        let old = try NATSMessage(subject: "s", event: event, mode: .structured, serverSupportsHeaders: false)
        #expect(Self.wire(old) == "PUB s \(body.utf8.count)\r\n\(body)\r\n")
    }

    @Test func aHeaderBlockFromAnotherClientDecodes() throws {
        let block = "NATS/1.0\r\nCE-SpecVersion: 1.0\r\nCE-ID: 42\r\nce-source: /a%2520b\r\nCe-Type: t\r\nX-Other: y\r\n\r\n"
        let headers = try NATSHeaders(parsing: Array(block.utf8))
        let message = NATSMessage(subject: "s", headers: headers, payload: Array("x".utf8))
        let event = try CloudEvent(natsMessage: message)
        #expect(event.id == "42")
        #expect(event.source == "/a%20b")
        #expect(event.data == .binary(Array("x".utf8)))
        #expect(NATSMessageReader(message).metadata["x-other"] == "y")
    }

    /// The `HMSG` a server delivers for `message` on subscription 1.
    static func hmsg(_ message: NATSMessage) -> ByteBuffer {
        var frame = ByteBuffer()
        let reply = message.replyTo.map { " \($0)" } ?? ""
        if let headers = message.headers {
            let count = headers.encodedByteCount
            frame.writeString("HMSG \(message.subject) 1\(reply) \(count) \(count + message.payload.count)\r\n")
            headers.write(into: &frame)
        } else {
            frame.writeString("MSG \(message.subject) 1\(reply) \(message.payload.count)\r\n")
        }
        frame.writeBytes(message.payload)
        frame.writeString("\r\n")
        return frame
    }

    @Test(arguments: [ContentMode.binary, .structured])
    func theCorpusSurvivesTheProtocolBytes(mode: ContentMode) throws {
        let formats = EventFormatRegistry.standard.adding(ProtobufEventFormat())
        for testCase in Corpus.events {
            for format in [JSONEventFormat(), ProtobufEventFormat()] as [any EventFormat] {
                if mode == .binary, format is ProtobufEventFormat { continue }
                let sent = try NATSMessage(
                    subject: "corpus", replyTo: "_INBOX.r", event: testCase.event, mode: mode, format: format)
                var input = Self.hmsg(sent)
                var decoder = NATSServerCommandDecoder()
                guard case .message(_, let received) = try decoder.decode(buffer: &input) else {
                    Issue.record("no message decoded for \(testCase)")
                    continue
                }
                #expect(received == sent, "\(testCase): the message is the one sent")
                let decoded = try CloudEvent(natsMessage: received, formats: formats, extensionTypes: Corpus.extensionTypes)
                let equivalence: Equivalence =
                    mode == .binary ? .headers : format is ProtobufEventFormat ? .typedUTC : .exact
                #expect(equivalence.differences(testCase.event, decoded) == [], "\(testCase) \(mode) \(format.mediaType)")
            }
        }
    }
}
