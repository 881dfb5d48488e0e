import Testing

@testable import CloudEvents

/// The core's `ce-` header codec on its own, under both `datacontenttype` rules (HTTP's is
/// also run through the HTTP binding's two paths in `HTTPHeaderCodecTests`).
@Suite("HeaderAttributeCodec")
struct HeaderAttributeCodecTests {
    /// Reads `headers` with `codec` the way a binding's general path does.
    static func read(
        _ headers: [(String, String)], codec: HeaderAttributeCodec
    ) throws(MessageError) -> (attributes: [BinaryAttribute], contentType: String?) {
        var reader = HeaderAttributeCodec.Reader(codec: codec)
        var attributes: [BinaryAttribute] = []
        for (name, value) in headers {
            if let attribute = try reader.read(name: name, value: value) { attributes.append(attribute) }
        }
        return (attributes, reader.contentType)
    }

    static let required = [("ce-specversion", "1.0"), ("ce-id", "1"), ("ce-source", "/s"), ("ce-type", "t")]

    @Test func httpCarriesDataContentTypeInContentType() throws {
        let (attributes, contentType) = try Self.read(
            Self.required + [("Content-Type", "text/plain"), ("X-Other", "o")], codec: .http)
        #expect(attributes.map(\.name) == ["specversion", "id", "source", "type"])
        #expect(contentType == "text/plain")
        #expect(throws: HeaderAttributeCodec.forbiddenHeaderError("ce-datacontenttype")) {
            try Self.read(Self.required + [("ce-datacontenttype", "text/plain")], codec: .http)
        }
        #expect(HeaderAttributeCodec.http.headerName(forAttribute: "datacontenttype") == "content-type")
        #expect(HeaderAttributeCodec.http.headerValue(forAttribute: "datacontenttype", "a b") == "a b")
    }

    /// NATS (REFERENCE.md §3.4): `ce-datacontenttype`, percent-encoded; Content-Type is not an attribute.
    @Test func natsCarriesDataContentTypeAsAPrefixedHeader() throws {
        let (attributes, contentType) = try Self.read(
            Self.required + [("Content-Type", "application/json"), ("CE-DataContentType", "text/plain%3B%20x=1")],
            codec: .nats)
        #expect(attributes.last == BinaryAttribute(name: "datacontenttype", value: .string("text/plain; x=1")))
        #expect(attributes.count == 5)
        #expect(contentType == nil)
        #expect(HeaderAttributeCodec.nats.headerName(forAttribute: "datacontenttype") == "ce-datacontenttype")
        #expect(HeaderAttributeCodec.nats.headerValue(forAttribute: "datacontenttype", "text/plain; x=1") == "text/plain;%20x=1")
    }

    @Test(arguments: [HeaderAttributeCodec.http, .nats])
    func duplicatesAreRefusedInAnyCase(codec: HeaderAttributeCodec) {
        #expect(throws: MessageError(.duplicateAttribute("id"))) { try Self.read(Self.required + [("CE-Id", "2")], codec: codec) }
        #expect(throws: MessageError(.duplicateAttribute("ext"))) {
            try Self.read(Self.required + [("ce-ext", "1"), ("Ce-Ext", "1")], codec: codec)
        }
        // Past the short-head search (32 attributes), through the set.
        let many = (0..<40).map { ("ce-x\($0)", "v") }
        #expect(throws: Never.self) { try Self.read(Self.required + many, codec: codec) }
        #expect(throws: MessageError(.duplicateAttribute("x3"))) {
            try Self.read(Self.required + many + [("CE-X3", "v")], codec: codec)
        }
    }

    @Test func valuesAreDecodedStrictly() throws {
        #expect(try HeaderAttributeCodec.decodeValue("Euro%20%E2%82%AC", header: "ce-subject") == "Euro €")
        #expect(try HeaderAttributeCodec.decodeValue("%EF%BF%BD", header: "ce-subject") == "\u{FFFD}")
        #expect(
            throws: MessageError(
                .invalidMessage("header 'ce-subject' (attribute 'subject'): percent-decoded bytes are not valid UTF-8"))
        ) {
            try HeaderAttributeCodec.decodeValue("%C0%A0", header: "ce-subject")
        }
        #expect(
            throws: MessageError(
                .invalidMessage(
                    "header 'ce-subject' (attribute 'subject'): bytes that are not valid UTF-8 (an unencoded U+FFFD replacement character at byte 2)"
                ))
        ) {
            try HeaderAttributeCodec.decodeValue("ab\u{FFFD}(", header: "ce-subject")
        }
    }

    /// NATS headers arrive as bytes: bytes that are not UTF-8 are refused, naming the header.
    @Test func byteValuesThatAreNotUTF8AreRefused() throws {
        let bytes: [UInt8] = [0x61, 0x62, 0xFF, 0xFE, 0xC3, 0x28]
        let expected = MessageError(
            .invalidMessage("header 'ce-subject' (attribute 'subject'): percent-decoded bytes are not valid UTF-8"))
        #expect(throws: expected) { try HeaderAttributeCodec.decodeValue(bytes: bytes, header: "ce-subject") }
        var reader = HeaderAttributeCodec.Reader(codec: .nats)
        #expect(throws: expected) { try reader.read(name: "ce-subject", bytes: bytes) }
        // Foreign headers are not CloudEvents' business.
        #expect(try reader.read(name: "X-Binary", bytes: bytes) == nil)
        #expect(
            try reader.read(name: "ce-id", bytes: Array("caf%C3%A9".utf8)) == BinaryAttribute(name: "id", value: .string("café")))
    }

    @Test(arguments: [
        ("ce-id", HeaderAttributeCodec.Header.id), ("CE-ID", .id), ("Ce-SpecVersion", .specVersion), ("ce-source", .source),
        ("ce-type", .type), ("ce-time", .time), ("ce-subject", .subject), ("ce-dataschema", .dataSchema),
        ("ce-datacontenttype", .dataContentType), ("Content-Type", .contentType), ("content-type", .contentType),
        ("ce-Trace", .extension("trace")), ("ce-", .other), ("ce", .other), ("x-id", .other), ("cex-id", .other)
    ])
    func headerNamesAreClassifiedCaseInsensitively(name: String, expected: HeaderAttributeCodec.Header) {
        #expect(HeaderAttributeCodec.Header(name: name) == expected)
    }

    @Test func rolesFollowTheDataContentTypeRule() {
        #expect(HeaderAttributeCodec.http.role(of: .contentType) == .dataContentType)
        #expect(HeaderAttributeCodec.http.role(of: .dataContentType) == .forbidden)
        #expect(HeaderAttributeCodec.nats.role(of: .contentType) == .other)
        #expect(HeaderAttributeCodec.nats.role(of: .dataContentType) == .attribute("datacontenttype"))
        #expect(HeaderAttributeCodec.http.role(of: .extension("x")) == .attribute("x"))
        #expect(HeaderAttributeCodec.nats.role(of: .other) == .other)
    }

    @Test func encodedValuesArePercentEncoded() {
        #expect(HeaderAttributeCodec.http.headerName(forAttribute: "subject") == "ce-subject")
        #expect(HeaderAttributeCodec.http.headerValue(forAttribute: "subject", "Euro € 😀") == "Euro%20%E2%82%AC%20%F0%9F%98%80")
        #expect(HeaderAttributeCodec.http.headerValue(forAttribute: "count", .integer(-7)) == "-7")
    }
}

/// Content-mode detection, one rule for every binding.
@Suite("MediaType content mode")
struct MediaTypeContentModeTests {
    @Test(arguments: [
        ("application/cloudevents+json", ContentMode.structured), ("Application/CloudEvents+JSON; charset=utf-8", .structured),
        ("  application/cloudevents+protobuf", .structured), ("\tapplication/cloudevents-batch+json", .batch),
        ("APPLICATION/CLOUDEVENTS-BATCH+json", .batch), ("application/cloudevents", .structured),
        ("application/json", .binary), ("text/plain", .binary), ("", .binary), ("application/cloudevent", .binary),
        ("x application/cloudevents+json", .binary), ("application/cloudevents+json\u{E9}", .structured),
        ("\u{E9}application/cloudevents+json", .binary)
    ])
    func theContentTypeSelectsTheMode(contentType: String, mode: ContentMode) {
        #expect(MediaType.contentMode(of: contentType) == mode)
        // Without a batch mode, a batch media type is structured (its format is then unknown).
        #expect(MediaType.contentMode(of: contentType, batch: false) == (mode == .batch ? .structured : mode))
    }

    /// A missing content type means what the binding says: binary for HTTP and MQTT 5,
    /// structured for MQTT 3.1.1.
    @Test func aMissingContentTypeIsTheBindingsDefault() {
        #expect(MediaType.contentMode(of: nil) == .binary)
        #expect(MediaType.contentMode(of: nil, whenAbsent: .structured, batch: false) == .structured)
    }
}
