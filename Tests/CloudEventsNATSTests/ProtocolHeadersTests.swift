import CloudEvents
import CloudEventsNATS
import Testing

@Suite struct ProtocolHeadersTests {
    @Test func theStatusLineCarriesStatusAndDescription() {
        let headers = NATSHeaders([], status: 503, statusDescription: "No Responders")
        #expect(ProtocolWire.bytes(of: headers) == Array("NATS/1.0 503 No Responders\r\n\r\n".utf8))
        #expect(headers.encodedByteCount == 30)
        let statusOnly = NATSHeaders([], status: 404)
        #expect(ProtocolWire.bytes(of: statusOnly) == Array("NATS/1.0 404\r\n\r\n".utf8))
        #expect(statusOnly.encodedByteCount == 16)
        // A description is only written with a status.
        let descriptionOnly = NATSHeaders([], statusDescription: "ignored")
        #expect(ProtocolWire.bytes(of: descriptionOnly) == Array("NATS/1.0\r\n\r\n".utf8))
        #expect(descriptionOnly.encodedByteCount == 12)
    }

    @Test func fieldsAreWrittenInOrderAsGiven() {
        let headers = NATSHeaders([
            .init(name: "ce-id", value: "1"), .init(name: "Ce-Id", value: "2"), .init(name: "x", value: [0xFF, 0x09])
        ])
        let expected = Array("NATS/1.0\r\nce-id: 1\r\nCe-Id: 2\r\nx: ".utf8) + [0xFF, 0x09] + Array("\r\n\r\n".utf8)
        #expect(ProtocolWire.bytes(of: headers) == expected)
        #expect(headers.encodedByteCount == expected.count)
    }

    @Test func parsingKeepsOrderCaseAndRepeatsAndTrimsValues() throws {
        let block = "NATS/1.0\r\nce-id: 1\r\nCE-ID:2\r\nX-Note: \t a: b  c \t\r\nempty:\r\nutf8: ☕\r\n\r\n"
        let headers = try NATSHeaders(parsing: Array(block.utf8))
        #expect(headers.status == nil && headers.statusDescription == nil)
        #expect(headers.map(\.name) == ["ce-id", "CE-ID", "X-Note", "empty", "utf8"])
        #expect(headers.compactMap(\.text) == ["1", "2", "a: b  c", "", "☕"])
        #expect(headers["ce-id"] == "1")
    }

    @Test func parsingTakesAnyCollectionOfBytes() throws {
        let block = "NATS/1.0 503 No Responders\r\nA: b\r\n\r\n"
        let expected = NATSHeaders([.init(name: "A", value: "b")], status: 503, statusDescription: "No Responders")
        #expect(try NATSHeaders(parsing: Array(block.utf8)) == expected)
        #expect(try NATSHeaders(parsing: block.utf8) == expected)
        #expect(try NATSHeaders(parsing: Array(block.utf8).lazy.map { $0 }) == expected)
        #expect(try NATSHeaders(parsing: Array(("xx" + block).utf8).dropFirst(2)) == expected)
    }

    @Test func parsingAcceptsBareLineFeedsAndBlanksAroundTheStatus() throws {
        let headers = try NATSHeaders(parsing: Array("NATS/1.0  \t503\t  No  Responders \na: b\n\n".utf8))
        #expect(headers == NATSHeaders([.init(name: "a", value: "b")], status: 503, statusDescription: "No  Responders"))
        #expect(try NATSHeaders(parsing: Array("NATS/1.0   \r\n\r\n".utf8)) == NATSHeaders())
    }

    @Test func writtenHeadersParseBack() throws {
        let headers = NATSHeaders(
            [.init(name: "ce-source", value: "/a b/é"), .init(name: "X", value: [0x00, 0x7F, 0xFF])], status: 100,
            statusDescription: "Idle Heartbeat")
        #expect(try NATSHeaders(parsing: ProtocolWire.bytes(of: headers)) == headers)
    }

    @Test func validHeadersValidate() throws {
        var headers = NATSHeaders([.init(name: "ce-id", value: "1: x\t"), .init(name: "ünï", value: [0xFF])])
        headers.status = 503
        headers.statusDescription = "No Responders"
        try headers.validate()
        try NATSHeaders().validate()
    }

    static let invalid: [(headers: NATSHeaders, names: String)] = [
        (NATSHeaders([.init(name: "", value: "v")]), "invalid NATS header name '': a header name must not be empty"),
        (
            NATSHeaders([.init(name: "a:b", value: "v")]),
            "invalid NATS header name 'a:b': it contains ':', whitespace or a control character"
        ),
        (NATSHeaders([.init(name: "a b", value: "v")]), "invalid NATS header name 'a b'"),
        (NATSHeaders([.init(name: "a\tb", value: "v")]), "invalid NATS header name 'a\\tb'"),
        (NATSHeaders([.init(name: "a\r\nb", value: "v")]), "invalid NATS header name 'a\\r\\nb'"),
        (
            NATSHeaders([.init(name: "ok", value: "x\r\nX-Injected: 1")]),
            "invalid value of NATS header 'ok' ('x\\r\\nX-Injected: 1'): it contains CR or LF"
        ),
        (NATSHeaders([.init(name: "ok", value: "x\n")]), "invalid value of NATS header 'ok'"),
        (NATSHeaders([.init(name: "ok", value: "x\r")]), "invalid value of NATS header 'ok'"),
        (NATSHeaders([], status: 42), "invalid NATS header status 42: it must have three digits"),
        (NATSHeaders([], status: 1000), "invalid NATS header status 1000"),
        (
            NATSHeaders([], status: 503, statusDescription: "a\r\nb"),
            "invalid NATS header status description 'a\\r\\nb': it contains CR or LF"
        )
    ]

    @Test(arguments: invalid.indices)
    func invalidHeadersAreRefusedByName(index: Int) {
        let (headers, names) = Self.invalid[index]
        do {
            try headers.validate()
            Issue.record("\(headers) validated")
        } catch {
            #expect(error.code == .invalidMessage)
            #expect(error.message.hasPrefix(names), "\(error.message)")
        }
    }
}
