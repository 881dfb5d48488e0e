import CloudEventsNATS
import Foundation
import NIOCore
import Testing

@Suite struct ProtocolEncoderTests {
    @Test func connectWithTheDefaultsIsExactJSONWithTheProtocolsKeys() {
        #expect(
            ProtocolWire.encode(.connect(NATSConnectOptions()))
                == #"CONNECT {"echo":true,"headers":true,"lang":"swift","no_responders":true,"pedantic":false,"#
                + #""protocol":1,"tls_required":false,"verbose":false,"version":"0.1.0"}"# + "\r\n")
    }

    @Test func connectCarriesCredentialsAndNameAndOmitsNilOnes() throws {
        var options = NATSConnectOptions(version: "9.9", name: "svc/1 \"q\"")
        options.user = "u"
        options.pass = "p:w"
        options.authToken = "t"
        options.echo = false
        options.verbose = true
        options.tlsRequired = true
        let wire = ProtocolWire.encode(.connect(options))
        #expect(wire.hasPrefix("CONNECT {") && wire.hasSuffix("}\r\n"))
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(wire.utf8.dropFirst(8).dropLast(2))) as? [String: Any])
        #expect(json["user"] as? String == "u")
        #expect(json["pass"] as? String == "p:w")
        #expect(json["auth_token"] as? String == "t")
        #expect(json["name"] as? String == "svc/1 \"q\"")
        #expect(json["version"] as? String == "9.9")
        #expect(json["echo"] as? Bool == false)
        #expect(json["verbose"] as? Bool == true)
        #expect(json["tls_required"] as? Bool == true)
        #expect(wire.utf8.filter { $0 == UInt8(ascii: "\n") }.count == 1)
        #expect(!ProtocolWire.encode(.connect(NATSConnectOptions())).contains("\"user\""))
        #expect(!ProtocolWire.encode(.connect(NATSConnectOptions())).contains("\"name\""))
    }

    @Test func publishWithoutHeadersIsPUB() {
        #expect(
            ProtocolWire.encode(.publish(NATSMessage(subject: "a.b", payload: Array("hello".utf8)))) == "PUB a.b 5\r\nhello\r\n")
        #expect(ProtocolWire.encode(.publish(NATSMessage(subject: "a", replyTo: "_INBOX.r.1"))) == "PUB a _INBOX.r.1 0\r\n\r\n")
    }

    @Test func publishWithHeadersIsHPUBWithByteCountsOfMultiByteUTF8() {
        var headers = NATSHeaders()
        headers.append(name: "ce-subject", value: "café ☕")
        #expect(headers.encodedByteCount == 35)
        let message = NATSMessage(subject: "a", headers: headers, payload: Array("abc".utf8))
        #expect(ProtocolWire.encode(.publish(message)) == "HPUB a 35 38\r\nNATS/1.0\r\nce-subject: café ☕\r\n\r\nabc\r\n")
        let withReply = NATSMessage(subject: "a", replyTo: "r", headers: NATSHeaders(), payload: [])
        #expect(ProtocolWire.encode(.publish(withReply)) == "HPUB a r 12 12\r\nNATS/1.0\r\n\r\n\r\n")
    }

    @Test func subscribeAndUnsubscribe() {
        #expect(ProtocolWire.encode(.subscribe(subject: "a.*", queueGroup: nil, subscriptionID: 7)) == "SUB a.* 7\r\n")
        #expect(
            ProtocolWire.encode(.subscribe(subject: "a.>", queueGroup: "workers", subscriptionID: 0)) == "SUB a.> workers 0\r\n")
        #expect(
            ProtocolWire.encode(.subscribe(subject: "a", queueGroup: nil, subscriptionID: .max))
                == "SUB a 18446744073709551615\r\n")
        #expect(ProtocolWire.encode(.unsubscribe(subscriptionID: 7, afterMessages: nil)) == "UNSUB 7\r\n")
        #expect(ProtocolWire.encode(.unsubscribe(subscriptionID: 7, afterMessages: 10)) == "UNSUB 7 10\r\n")
        #expect(ProtocolWire.encode(.unsubscribe(subscriptionID: 1_234_567_890, afterMessages: 0)) == "UNSUB 1234567890 0\r\n")
    }

    @Test func pingAndPong() {
        #expect(ProtocolWire.encode(.ping) == "PING\r\n")
        #expect(ProtocolWire.encode(.pong) == "PONG\r\n")
    }

    @Test func commandsAppendToWhatIsInTheBuffer() {
        var buffer = ByteBuffer(string: "x")
        NATSClientCommand.ping.write(into: &buffer)
        NATSClientCommand.publish(NATSMessage(subject: "s", payload: [0, 255])).write(into: &buffer)
        #expect(Array(buffer.readableBytesView) == Array("xPING\r\nPUB s 2\r\n".utf8) + [0, 255, 13, 10])
    }

    /// What the client writes as HPUB reads back as the server's HMSG of the same message.
    @Test func anHPUBReadsBackAsTheSameMessage() throws {
        var headers = NATSHeaders([.init(name: "ce-id", value: "1"), .init(name: "traceparent", value: "00-ab: c")])
        headers.append(name: "CE-ID", value: "ünï")
        let message = NATSMessage(subject: "x.y", replyTo: "r", headers: headers, payload: Array("\r\nPING\r\n".utf8))
        let hpub = ProtocolWire.encode(.publish(message))
        let hmsg = "HMSG x.y 9" + hpub.dropFirst("HPUB x.y".count)
        #expect(try ProtocolWire.decode(hmsg) == [.message(subscriptionID: 9, message)])
    }
}
