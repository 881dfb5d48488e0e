import CloudEvents
import CloudEventsNATS
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
}
