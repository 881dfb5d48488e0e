import CloudEventsNATS
import Testing

/// Bytes captured from nats-server 2.9.10 (verbose mode, two subscriptions on one subject,
/// an HPUB with repeated headers, a PUB, a request nobody answers, PING), decoded whole and
/// split at every position: the real server's framing, not only our idea of it.
@Suite struct ProtocolTranscriptTests {
    static let transcript =
        #"INFO {"server_id":"NBHEDKOE2XSWNFLP3AFZH4QDAXCNMO5OEUQBRWCTAU5V64CUTTGF52AR","server_name":"cetest-nats","#
        + #""version":"2.9.10","proto":1,"go":"go1.19.8","host":"127.0.0.1","port":56735,"headers":true,"#
        + #""max_payload":1048576,"client_id":269,"client_ip":"127.0.0.1"} "# + "\r\n"
        + "+OK\r\n+OK\r\n+OK\r\n+OK\r\n"
        + "HMSG h.proto.x 1 _INBOX.r 45 50\r\nNATS/1.0\r\nce-id: 1\r\nX-Two: a: b\r\nce-id: 2\r\n\r\nhello\r\n"
        + "HMSG h.proto.x 2 _INBOX.r 45 50\r\nNATS/1.0\r\nce-id: 1\r\nX-Two: a: b\r\nce-id: 2\r\n\r\nhello\r\n"
        + "+OK\r\nMSG h.proto.x 1 3\r\n\u{2615}\r\nMSG h.proto.x 2 3\r\n\u{2615}\r\n+OK\r\n+OK\r\n"
        + "HMSG _INBOX.me.1 3 16 16\r\nNATS/1.0 503\r\n\r\n\r\nPONG\r\nPING\r\n"

    static var expected: [NATSServerCommand] {
        let info = NATSServerInfo(
            serverID: "NBHEDKOE2XSWNFLP3AFZH4QDAXCNMO5OEUQBRWCTAU5V64CUTTGF52AR", serverName: "cetest-nats",
            version: "2.9.10", proto: 1, host: "127.0.0.1", port: 56735, headers: true, maxPayload: 1_048_576,
            clientID: 269)
        let headers = NATSHeaders([
            .init(name: "ce-id", value: "1"), .init(name: "X-Two", value: "a: b"), .init(name: "ce-id", value: "2")
        ])
        let withHeaders = NATSMessage(
            subject: "h.proto.x", replyTo: "_INBOX.r", headers: headers, payload: Array("hello".utf8))
        let plain = NATSMessage(subject: "h.proto.x", payload: Array("\u{2615}".utf8))
        return [.info(info), .ok, .ok, .ok, .ok]
            + [.message(subscriptionID: 1, withHeaders), .message(subscriptionID: 2, withHeaders), .ok]
            + [.message(subscriptionID: 1, plain), .message(subscriptionID: 2, plain), .ok, .ok]
            + [.message(subscriptionID: 3, NATSMessage(subject: "_INBOX.me.1", headers: NATSHeaders([], status: 503)))]
            + [.pong, .ping]
    }

    @Test func theServersBytesDecodeWholeAndSplitAnywhere() throws {
        let bytes = Array(Self.transcript.utf8)
        let expected = Self.expected
        #expect(try ProtocolWire.decode(bytes) == expected)
        for cut in 1..<bytes.count {
            #expect(try ProtocolWire.decode(bytes, cuts: [cut]) == expected, "split at \(cut)")
        }
        #expect(try ProtocolWire.decode(bytes, cuts: Array(1..<bytes.count)) == expected)
    }
}
