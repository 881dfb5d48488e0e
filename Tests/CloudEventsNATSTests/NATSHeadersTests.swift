import CloudEventsNATS
import Testing

@Suite struct NATSHeadersTests {
    @Test func lookupIgnoresASCIICaseButKeepsTheNameAsWritten() {
        var headers = NATSHeaders()
        headers.append(name: "CE-ID", value: "1")
        headers.append(name: "ce-id", value: "2")
        #expect(headers["ce-Id"] == "1")
        #expect(headers.map(\.name) == ["CE-ID", "ce-id"])
        #expect(headers["ce-i"] == nil)
        // '[' and '{' differ by the case bit, but are not letters.
        headers.append(name: "a[", value: "x")
        #expect(headers["a{"] == nil)
    }

    @Test func aValueThatIsNotUTF8HasNoText() {
        let headers = NATSHeaders([NATSHeaders.Field(name: "x", value: [0xFF])])
        #expect(headers["x"] == nil)
        #expect(headers[0].value == [0xFF])
    }

    @Test func fieldsKeepTheirOrderAndTheStatusLineIsSeparate() {
        var headers = NATSHeaders([NATSHeaders.Field(name: "a", value: "1")], status: 503, statusDescription: "No Responders")
        headers.append(name: "B", value: "é")
        #expect(headers.count == 2)
        #expect(headers.map(\.name) == ["a", "B"])
        #expect(headers[1].value == [0xC3, 0xA9])
        #expect(headers["b"] == "é")
        #expect(headers.status == 503)
        #expect(headers.statusDescription == "No Responders")
        #expect(headers != NATSHeaders([NATSHeaders.Field(name: "a", value: "1"), NATSHeaders.Field(name: "B", value: "é")]))
        #expect(NATSHeaders().isEmpty)
        #expect(NATSHeaders().status == nil)
    }

    @Test func aMessageWithoutHeadersIsNotOneWithEmptyHeaders() {
        let plain = NATSMessage(subject: "s")
        #expect(plain.headers == nil)
        #expect(plain.replyTo == nil)
        #expect(plain.payload.isEmpty)
        #expect(plain != NATSMessage(subject: "s", headers: NATSHeaders()))
    }
}
