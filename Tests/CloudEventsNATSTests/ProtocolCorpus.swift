import CloudEventsNATS

/// A server byte stream with every kind of command, and the commands it decodes to.
enum ProtocolCorpus {
    /// `HMSG <subject> <sid> [reply] <#header> <#total>\r\n<header><payload>\r\n`, sizes counted.
    static func hmsg(_ subject: String, _ sid: UInt64, reply: String? = nil, header: String, payload: String) -> String {
        let headerCount = header.utf8.count
        let total = headerCount + payload.utf8.count
        let replyPart = reply.map { " \($0)" } ?? ""
        return "HMSG \(subject) \(sid)\(replyPart) \(headerCount) \(total)\r\n\(header)\(payload)\r\n"
    }

    static let info =
        #"INFO {"server_id":"NABC","server_name":"n1","version":"2.9.25","proto":1,"host":"0.0.0.0","port":4222,"#
        + #""headers":true,"max_payload":1048576,"client_id":7,"connect_urls":["10.0.0.1:4222"],"ldm":false,"#
        + #""nonce":"xyz","unknown":{"x":[1,2]}}"# + "\r\n"

    static let infoValue = NATSServerInfo(
        serverID: "NABC", serverName: "n1", version: "2.9.25", proto: 1, host: "0.0.0.0", port: 4222, headers: true,
        maxPayload: 1_048_576, connectURLs: ["10.0.0.1:4222"], clientID: 7, nonce: "xyz")

    static let severalFields = "NATS/1.0\r\nce-id: 1\r\nCE-ID: 2\r\nX-Note:   a: b  c  \r\nempty:\r\n\r\n"
    static let trickyPayload = "\r\nMSG x 1 2\r\nhi\r\n"

    /// The stream: every command kind, MSG with and without reply, HMSG with a 503 status and
    /// no fields, several fields, repeated names, values with spaces and ':', an empty
    /// payload, a payload that looks like commands, lower-case operations, tabs and runs of
    /// blanks between fields.
    static let stream: String =
        info + "PING\r\n" + "PONG\r\n" + "+OK\r\n" + "-ERR 'Authorization Violation'\r\n"
        + "MSG orders.new 1 5\r\nhello\r\n"
        + "MSG orders.new 12 _INBOX.abc.1 0\r\n\r\n"
        + hmsg("_INBOX.x.1", 3, header: "NATS/1.0 503\r\n\r\n", payload: "")
        + hmsg("_INBOX.x.2", 3, header: "NATS/1.0 503 No Responders\r\n\r\n", payload: "")
        + hmsg("a.b", 4, reply: "reply.to", header: severalFields, payload: trickyPayload)
        + "msg lower 2 3\r\nabc\r\n" + "ping\r\n"
        + "MSG\ttab.subject  5 \t 2\r\nhi\r\n"
        + "MSG utf8.é 6 4\r\n\u{2615}!\r\n"
        + "-ERR 'Stale Connection'\r\n"

    static let commands: [NATSServerCommand] = [
        .info(infoValue), .ping, .pong, .ok, .error("Authorization Violation"),
        .message(subscriptionID: 1, NATSMessage(subject: "orders.new", payload: Array("hello".utf8))),
        .message(subscriptionID: 12, NATSMessage(subject: "orders.new", replyTo: "_INBOX.abc.1")),
        .message(subscriptionID: 3, NATSMessage(subject: "_INBOX.x.1", headers: NATSHeaders([], status: 503))),
        .message(
            subscriptionID: 3,
            NATSMessage(
                subject: "_INBOX.x.2", headers: NATSHeaders([], status: 503, statusDescription: "No Responders"))),
        .message(
            subscriptionID: 4,
            NATSMessage(
                subject: "a.b", replyTo: "reply.to",
                headers: NATSHeaders([
                    .init(name: "ce-id", value: "1"), .init(name: "CE-ID", value: "2"),
                    .init(name: "X-Note", value: "a: b  c"), .init(name: "empty", value: "")
                ]),
                payload: Array(trickyPayload.utf8))),
        .message(subscriptionID: 2, NATSMessage(subject: "lower", payload: Array("abc".utf8))),
        .ping,
        .message(subscriptionID: 5, NATSMessage(subject: "tab.subject", payload: Array("hi".utf8))),
        .message(subscriptionID: 6, NATSMessage(subject: "utf8.é", payload: Array("\u{2615}!".utf8))),
        .error("Stale Connection")
    ]
}
