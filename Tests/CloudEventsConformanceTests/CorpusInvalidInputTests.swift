import CloudEvents
import CloudEventsConformance
import CloudEventsHTTP
import CloudEventsMQTT
import CloudEventsProtobuf
import HTTPTypes
import Testing

/// Every invalid input of the corpus, given to the decoder of its format or binding, is
/// refused with an error whose description contains the case's `error`. On a mismatch the
/// failure shows the real message (`got: ...`), which is what a new case's `error` is copied from.
@Suite("Corpus: invalid inputs")
struct CorpusInvalidInputTests {
    static let formats = EventFormatRegistry.standardWithProtobuf

    @Test func everySetHasAtLeastFortyCases() {
        #expect(InvalidInputs.json.count >= 40)
        #expect(InvalidInputs.protobuf.count >= 40)
        #expect(InvalidInputs.http.count >= 40)
        #expect(InvalidInputs.mqtt5.count >= 40)
    }

    @Test(arguments: InvalidInputs.json)
    func json(_ item: InvalidInputs.JSONCase) {
        let format = JSONEventFormat()
        let bytes = Array(item.input.utf8)
        let error = #expect(throws: EventFormatError.self, "\(item.name)") {
            if item.batch { _ = try format.decodeBatch(bytes) } else { _ = try format.decode(bytes) }
        }
        let message = error?.description ?? ""
        #expect(message.contains(item.error), "\(item.name): got: \(message)")
    }

    @Test(arguments: InvalidInputs.protobuf)
    func protobuf(_ item: InvalidInputs.ProtobufCase) {
        let format = ProtobufEventFormat()
        let error = #expect(throws: EventFormatError.self, "\(item.name)") {
            if item.batch { _ = try format.decodeBatch(item.bytes) } else { _ = try format.decode(item.bytes) }
        }
        let message = error?.description ?? ""
        #expect(message.contains(item.error), "\(item.name): got: \(message)")
    }

    /// Through the message layer (`HTTPMessageReader`, every event of the request) and, for a
    /// request that is not a batch, through `CloudEvent(httpRequest:)`, whose binary-mode fast
    /// path must refuse it with the same message.
    @Test(arguments: InvalidInputs.http)
    func http(_ item: InvalidInputs.HTTPCase) throws {
        var fields = HTTPFields()
        for header in item.headers {
            let name = try #require(HTTPField.Name(header.name), "\(item.name): header name '\(header.name)'")
            fields.append(HTTPField(name: name, value: header.value))
        }
        let request = HTTPRequest(method: .post, scheme: "http", authority: "localhost", path: "/", headerFields: fields)
        let error = #expect(throws: MessageError.self, "\(item.name)") {
            _ = try HTTPMessageReader(request: request, body: item.body, formats: Self.formats)
                .events(formats: Self.formats)
        }
        let message = error?.description ?? ""
        #expect(message.contains(item.error), "\(item.name): got: \(message)")

        let isBatch = HTTPMessageReader.detectMode(contentType: fields[.contentType]) == .batch
        guard !isBatch else { return }
        let direct = #expect(throws: MessageError.self, "\(item.name)") {
            _ = try CloudEvent(httpRequest: request, body: item.body, formats: Self.formats)
        }
        let directMessage = direct?.description ?? ""
        #expect(directMessage.contains(item.error), "\(item.name): CloudEvent(httpRequest:) got: \(directMessage)")
    }

    @Test(arguments: InvalidInputs.mqtt5)
    func mqtt5(_ item: InvalidInputs.MQTT5Case) {
        let publish = MQTTMessage(
            topic: "conformance/invalid", payload: item.payload, contentType: item.contentType,
            userProperties: item.userProperties.map { MQTTUserProperty($0.name, $0.value) })
        let error = #expect(throws: MessageError.self, "\(item.name)") {
            _ = try MQTTMessageReader(publish, protocolVersion: .v5).event(formats: Self.formats)
        }
        let message = error?.description ?? ""
        #expect(message.contains(item.error), "\(item.name): got: \(message)")
        // The message layer's view of the same PUBLISH (what a receiver hands on) is refused
        // too. (For a contradicting `datacontenttype` it keeps both values, so the refusal
        // there names the attribute twice instead of the contradiction.)
        #expect(throws: MessageError.self, "\(item.name) via Message") {
            _ = try MQTTMessageReader(publish, protocolVersion: .v5).message().event(formats: Self.formats)
        }
    }
}
