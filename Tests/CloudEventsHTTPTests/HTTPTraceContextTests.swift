import CloudEvents
import CloudEventsHTTP
import HTTPTypes
import Testing

/// W3C trace context in a message's metadata goes out as `traceparent`/`tracestate` headers
/// (a bridge carries an MQTT 5 User Property across); other metadata stays behind.
@Suite struct HTTPTraceContextTests {
    @Test func traceContextMetadataBecomesW3CHeaders() throws {
        var message = try Message(CloudEvent(id: "1", source: "/s", type: "t"), mode: .binary)
        message.metadata = [
            "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "tracestate": "congo=t61rcWkgMzE",
            ":topic": "sensors/1", "x-app": "a"
        ]
        let (fields, _) = try message.httpFields()
        #expect(fields[HTTPField.Name("traceparent")!] == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        #expect(fields[HTTPField.Name("tracestate")!] == "congo=t61rcWkgMzE")
        #expect(fields[HTTPField.Name("x-app")!] == nil)
        #expect(!fields.contains { $0.name.canonicalName.contains("topic") })
        #expect(fields[HTTPField.Name("ce-id")!] == "1")
    }

    @Test func aTraceparentAttributeIsNotDuplicatedAsAHeaderWithoutMetadata() throws {
        var event = CloudEvent(id: "1", source: "/s", type: "t")
        event.extensions["traceparent"] = .string("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        let (fields, _) = try Message(event, mode: .binary).httpFields()
        #expect(fields[HTTPField.Name("ce-traceparent")!] != nil)
        #expect(fields[HTTPField.Name("traceparent")!] == nil)
    }
}
