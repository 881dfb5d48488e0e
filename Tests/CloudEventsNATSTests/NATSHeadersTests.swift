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
}
