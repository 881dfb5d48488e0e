import CloudEvents
import HTTPTypes
import Testing

@testable import CloudEventsHTTP

/// The `ce-` header rules (the core's ``HeaderAttributeCodec``) through both HTTP decoding
/// paths: the general one (``HTTPMessageReader`` with ``CloudEventBuilder``) and the
/// binary-mode fast path (`CloudEvent.decodeBinaryMode`), which must accept exactly the
/// event the general path builds or hand the message on to it; and the public
/// `CloudEvent(httpRequest:body:)`, which runs one then the other. Every case expects the
/// same event or the same error from all of them.
@Suite("HTTP ce- header codec, general path and fast path")
struct HTTPHeaderCodecTests {
    /// A header value as it reaches the mapping.
    enum Value: Sendable {
        /// A String, as SwiftNIO's HTTP parser hands it over (bytes that were not UTF-8
        /// already replaced with U+FFFD).
        case text(String)
        /// Bytes given to swift-http-types as they arrived (its `value` replaces those that
        /// are not UTF-8 with U+FFFD when read).
        case bytes([UInt8])
    }

    enum Expected: Sendable {
        case event(CloudEvent)
        case error(MessageError)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let label: String
        let headers: [(name: String, value: Value)]
        var body: [UInt8] = []
        let expected: Expected
        /// Whether the fast path decodes it itself (otherwise it hands it on).
        var fastPathDecodes = true

        var testDescription: String { label }

        var fields: HTTPFields {
            var fields = HTTPFields()
            for (name, value) in headers {
                let fieldName = HTTPField.Name(name)!
                switch value {
                case .text(let text): fields.append(HTTPField(name: fieldName, value: text))
                case .bytes(let bytes): fields.append(HTTPField(name: fieldName, value: bytes))
                }
            }
            return fields
        }
    }

    static let required: [(name: String, value: Value)] = [
        ("ce-specversion", .text("1.0")), ("ce-id", .text("1")), ("ce-source", .text("/s")), ("ce-type", .text("t"))
    ]

    static func event(subject: String? = nil, extensions: ExtensionAttributes = ExtensionAttributes()) -> CloudEvent {
        CloudEvent(id: "1", source: "/s", type: "t", subject: subject, extensions: extensions)
    }

    static func invalid(_ text: String) -> Expected { .error(MessageError(.invalidMessage(text))) }

    /// `ab\xff\xfe\xc3(`: two bytes that are never UTF-8 and a truncated sequence.
    static let notUTF8: [UInt8] = [0x61, 0x62, 0xFF, 0xFE, 0xC3, 0x28]
    static let notUTF8Error =
        "bytes that are not valid UTF-8 (an unencoded U+FFFD replacement character at byte 2)"

    static let cases: [Case] = [
        // Accepted.
        Case(label: "the required attributes", headers: required, expected: .event(event())),
        Case(
            label: "names in any case",
            headers: [
                ("CE-SpecVersion", .text("1.0")), ("Ce-Id", .text("1")), ("ce-SOURCE", .text("/s")), ("CE-TYPE", .text("t")),
                ("CE-Ext", .text("v"))
            ],
            expected: .event(event(extensions: ["ext": "v"]))),
        Case(
            label: "percent-encoding, lowercase hex", headers: required + [("ce-subject", .text("%e2%82%ac%20x"))],
            expected: .event(event(subject: "€ x"))),
        Case(
            label: "a quoted-string", headers: required + [("ce-subject", .text(#""a \"q\" %41""#))],
            expected: .event(event(subject: #"a "q" A"#))),
        Case(
            label: "raw UTF-8 from an older sender", headers: required + [("ce-subject", .text("caf\u{E9}"))],
            expected: .event(event(subject: "caf\u{E9}"))),
        Case(
            label: "raw UTF-8 bytes", headers: required + [("ce-subject", .bytes(Array("caf\u{E9}".utf8)))],
            expected: .event(event(subject: "caf\u{E9}"))),
        Case(
            label: "a percent-encoded U+FFFD is a character like any other",
            headers: required + [("ce-subject", .text("%EF%BF%BD"))], expected: .event(event(subject: "\u{FFFD}"))),
        Case(
            label: "'ce-' alone and other headers are not attributes",
            headers: required + [("ce-", .text("x")), ("x-id", .text("2")), ("cex-id", .text("3"))],
            expected: .event(event())),
        Case(
            label: "Content-Type is datacontenttype",
            headers: required + [("Content-Type", .text("text/plain"))], body: Array("hi".utf8),
            expected: .event(
                CloudEvent(id: "1", source: "/s", type: "t", dataContentType: "text/plain", data: .text("hi")))),

        // Bytes that are not UTF-8 (issue 11): refused, naming the header.
        Case(
            label: "invalid UTF-8 bytes in ce-subject", headers: required + [("ce-subject", .bytes(notUTF8))],
            expected: invalid("header 'ce-subject' (attribute 'subject'): " + notUTF8Error)),
        Case(
            label: "invalid UTF-8 in ce-subject as the HTTP parser passes it on",
            headers: required + [("ce-subject", .text(String(decoding: notUTF8, as: UTF8.self)))],
            expected: invalid("header 'ce-subject' (attribute 'subject'): " + notUTF8Error)),
        Case(
            label: "invalid UTF-8 bytes in an extension, name in capitals",
            headers: required + [("CE-Ext", .bytes([0x78, 0xC0, 0xAF]))],
            expected: invalid(
                "header 'CE-Ext' (attribute 'ext'): bytes that are not valid UTF-8 (an unencoded U+FFFD replacement character at byte 1)"
            )),
        Case(
            label: "invalid UTF-8 bytes in a quoted-string",
            headers: required + [("ce-subject", .bytes([0x22, 0x61, 0xFF, 0x22]))],
            expected: invalid(
                "header 'ce-subject' (attribute 'subject'): bytes that are not valid UTF-8 (an unencoded U+FFFD replacement character at byte 2)"
            )),
        Case(
            label: "invalid UTF-8 bytes in ce-id",
            headers: [
                ("ce-specversion", .text("1.0")), ("ce-id", .bytes([0xFF])), ("ce-source", .text("/s")), ("ce-type", .text("t"))
            ],
            expected: invalid(
                "header 'ce-id' (attribute 'id'): bytes that are not valid UTF-8 (an unencoded U+FFFD replacement character at byte 0)"
            )),
        Case(
            label: "invalid UTF-8 bytes in Content-Type",
            headers: required + [("Content-Type", .bytes(Array("text/plain; x=".utf8) + [0xFF]))],
            expected: invalid(
                "header 'Content-Type' (attribute 'datacontenttype'): bytes that are not valid UTF-8 (an unencoded U+FFFD replacement character at byte 14)"
            )),
        Case(
            label: "percent-encoded bytes that are not UTF-8", headers: required + [("ce-subject", .text("%C0%A0"))],
            expected: invalid("header 'ce-subject' (attribute 'subject'): percent-decoded bytes are not valid UTF-8")),

        // Malformed values.
        Case(
            label: "a malformed escape", headers: required + [("ce-subject", .text("abcdefgh%4"))],
            expected: invalid("header 'ce-subject' (attribute 'subject'): malformed percent-escape at byte 8")),
        Case(
            label: "an unterminated quoted-string", headers: required + [("ce-subject", .text("\"open"))],
            expected: invalid("header 'ce-subject' (attribute 'subject'): malformed quoted-string")),

        // Duplicates and datacontenttype.
        Case(
            label: "the same attribute twice", headers: required + [("ce-id", .text("2"))],
            expected: .error(MessageError(.duplicateAttribute("id")))),
        Case(
            label: "the same attribute twice in two cases", headers: required + [("CE-ID", .text("1"))],
            expected: .error(MessageError(.duplicateAttribute("id")))),
        Case(
            label: "an extension twice", headers: required + [("ce-ext", .text("1")), ("Ce-Ext", .text("2"))],
            expected: .error(MessageError(.duplicateAttribute("ext")))),
        Case(
            label: "two Content-Type headers",
            headers: required + [("Content-Type", .text("text/plain")), ("content-type", .text("text/plain"))],
            expected: .error(MessageError(.duplicateAttribute("datacontenttype")))),
        Case(
            label: "ce-datacontenttype is forbidden", headers: required + [("CE-DataContentType", .text("text/plain"))],
            expected: invalid(
                "header 'CE-DataContentType' must not be present in binary mode: 'datacontenttype' travels as Content-Type"
            ))
    ]

    @Test(arguments: cases)
    func bothPathsGiveTheSameEventOrError(_ testCase: Case) throws {
        let fields = testCase.fields
        let request = HTTPRequest(method: .post, scheme: "http", authority: "h", path: "/", headerFields: fields)
        let general = Result { () throws(MessageError) in
            try HTTPMessageReader(request: request, body: testCase.body).event()
        }
        let viaPublicAPI = Result { () throws(MessageError) in try CloudEvent(httpRequest: request, body: testCase.body) }
        var fast = CloudEvent(id: "", source: "", type: "")
        let fastDecoded = fast.decodeBinaryMode(headerFields: fields, body: testCase.body, extensionTypes: .none)

        switch testCase.expected {
        case .event(let expected):
            #expect(try general.get() == expected)
            #expect(try viaPublicAPI.get() == expected)
            #expect(fastDecoded == testCase.fastPathDecodes)
            if fastDecoded { #expect(fast == expected) }
        case .error(let expected):
            #expect(throws: expected) { try general.get() }
            #expect(throws: expected) { try viaPublicAPI.get() }
            #expect(!fastDecoded, "the fast path accepted what the general path refuses: \(fast)")
        }
    }

    /// The receiver answers such a request 400 naming the header, through its usual
    /// refusal path (it was 202, and the consumer got `ab���(`).
    @Test func theReceiverAnswers400NamingTheHeader() {
        var fields = HTTPFields()
        for (name, value) in Self.required {
            guard case .text(let text) = value else { continue }
            fields.append(HTTPField(name: HTTPField.Name(name)!, value: text))
        }
        // As SwiftNIO's parser hands the bytes `ab\xff\xfe\xc3(` on.
        fields.append(HTTPField(name: HTTPField.Name("ce-subject")!, value: String(decoding: Self.notUTF8, as: UTF8.self)))
        let request = HTTPRequest(method: .post, scheme: "http", authority: "h", path: "/", headerFields: fields)
        let responder = ReceiverResponder(configuration: HTTPReceiverConfiguration())
        guard case .respond(let response) = responder.outcome(of: request, body: []) else {
            Issue.record("the request was delivered")
            return
        }
        #expect(response.head.status == .badRequest)
        #expect(String(decoding: response.body, as: UTF8.self).contains("header 'ce-subject' (attribute 'subject')"))
    }

    /// The general reader's message (what receivers hand out) refuses the same values.
    @Test func theMessageOfInvalidUTF8IsRefusedNamingTheHeader() throws {
        var fields = HTTPFields()
        for (name, value) in Self.required {
            guard case .text(let text) = value else { continue }
            fields.append(HTTPField(name: HTTPField.Name(name)!, value: text))
        }
        fields.append(HTTPField(name: HTTPField.Name("ce-subject")!, value: Self.notUTF8))
        let reader = try HTTPMessageReader(headerFields: fields, body: [])
        #expect(throws: MessageError(.invalidMessage("header 'ce-subject' (attribute 'subject'): " + Self.notUTF8Error))) {
            try reader.message()
        }
    }
}
