import CloudEvents
import Testing

/// Swift string literals cannot spell noncharacters; build them from scalars.
func scalar(_ value: UInt32) -> String {
    String(Character(Unicode.Scalar(value)!))
}

@Suite("Attribute types and canonical strings")
struct AttributeValueTests {
    /// Every type's canonical form, both ways (spec 1.3).
    @Test(arguments: [
        (AttributeValue.boolean(true), "true"),
        (.boolean(false), "false"),
        (.integer(0), "0"),
        (.integer(-1), "-1"),
        (.integer(Int32.max), "2147483647"),
        (.integer(Int32.min), "-2147483648"),
        (.string("Euro € 😀"), "Euro € 😀"),
        (.string(""), ""),
        (.binary([]), ""),
        (.binary([0xFB, 0xFF]), "+/8="),
        (.binary(Array("hello".utf8)), "aGVsbG8="),
        (.binary([0, 1, 2]), "AAEC"),
        (.uri("https://example.com/a?b=c#frag"), "https://example.com/a?b=c#frag"),
        (.uri("urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"), "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"),
        (.uriReference("/a%20b"), "/a%20b"),
        (.uriReference("1-555-123-4567"), "1-555-123-4567"),
        (.timestamp(try! Timestamp(rfc3339: "2018-04-05T17:31:00.123456789+02:00")), "2018-04-05T17:31:00.123456789+02:00")
    ])
    func canonicalFormBothWays(value: AttributeValue, canonical: String) throws {
        #expect(value.canonicalString == canonical)
        #expect(try AttributeValue(canonicalString: canonical, as: value.type) == value)
    }

    @Test(arguments: [
        ("True", AttributeType.boolean), ("TRUE", .boolean), ("1", .boolean), ("", .boolean), ("yes", .boolean),
        ("+5", .integer), ("5.0", .integer), ("1e3", .integer), ("007", .integer), ("", .integer), ("-", .integer),
        (" 5", .integer), ("0x10", .integer),
        ("2147483648", .integer), ("-2147483649", .integer), ("99999999999", .integer),
        ("aGVsbG8", .binary), ("aGVsbG8=!", .binary), ("a-_b", .binary), ("aGVsbG9=", .binary),
        ("relative/path", .uri), ("", .uri), ("has space:x", .uri), ("1http://x", .uri),
        ("a b", .uriReference), ("%G1", .uriReference), ("€", .uriReference), ("1a:b", .uriReference),
        ("2018-04-05", .timestamp), ("2018-04-05 17:31:00Z", .timestamp), ("2018-04-05T17:31:00", .timestamp),
        ("control\u{01}char", .string), ("del\u{7F}", .string), ("c1\u{85}", .string), ("non" + scalar(0xFDD0) + "char", .string),
        ("non" + scalar(0xFFFE), .string), ("plane" + scalar(0x1FFFF), .string)
    ])
    func invalidCanonicalStringsAreRejected(text: String, type: AttributeType) {
        #expect(throws: AttributeRule.self) { try AttributeValue(canonicalString: text, as: type) }
    }

    @Test func integerRangeErrorsNameTheRule() {
        #expect(throws: AttributeRule.integerOutOfRange("2147483648")) {
            try AttributeValue(canonicalString: "2147483648", as: .integer)
        }
        #expect(throws: AttributeRule.invalidInteger("5.0")) { try AttributeValue(canonicalString: "5.0", as: .integer) }
    }

    @Test func negativeZeroIsAJSONInteger() throws {
        #expect(try AttributeValue(canonicalString: "-0", as: .integer) == .integer(0))
    }

    @Test func typeNamesParse() {
        #expect(AttributeType(name: "URI-reference") == .uriReference)
        #expect(AttributeType(name: "timestamp") == .timestamp)
        #expect(AttributeType(name: "map") == nil)
        #expect(AttributeType.allCases.count == 7)
    }
}

@Suite("Timestamps")
struct TimestampTests {
    /// Text round-trips exactly: any fraction, any offset, lowercase, leap second.
    @Test(arguments: [
        "2018-04-05T17:31:00Z",
        "2018-04-05T17:31:00.123456789+02:00",
        "2018-04-05t17:31:00z",
        "2018-04-05T17:31:00.1Z",
        "2018-04-05T17:31:00.100Z",
        "2018-04-05T17:31:00.000000000Z",
        "2018-04-05T17:31:00.1234567891234Z",
        "1996-12-19T16:39:57-08:00",
        "1996-12-19T16:39:57-00:00",
        "1990-12-31T23:59:60Z",
        "1990-12-31T15:59:60-08:00",
        "2020-02-29T00:00:00+00:00",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999999-23:59"
    ])
    func roundTripsExactly(text: String) throws {
        let timestamp = try Timestamp(rfc3339: text)
        #expect(timestamp.description == text)
        #expect(try Timestamp(rfc3339: timestamp.description) == timestamp)
    }

    @Test(arguments: [
        "2018-04-05T17:31:00", "2018-04-05 17:31:00Z", "2018-4-05T17:31:00Z", "2018-04-05T7:31:00Z",
        "2018-04-05T17:31:00.Z", "2018-04-05T17:31:00+0200", "2018-04-05T17:31:00+02", "2018-02-30T00:00:00Z",
        "2019-02-29T00:00:00Z", "2018-13-01T00:00:00Z", "2018-04-05T24:00:00Z", "2018-04-05T17:60:00Z",
        "2018-04-05T17:31:61Z", "2018-04-05T17:31:00+24:00", "2018-04-05T17:31:00Z ", "", "2018-04-05T17:31:00ZZ"
    ])
    func invalidTextIsRejected(text: String) {
        #expect(throws: TimestampError.self) { try Timestamp(rfc3339: text) }
    }

    @Test func keepsInstantAndOffset() throws {
        let time = try Timestamp(rfc3339: "2018-04-05T17:31:00.123456789+02:00")
        #expect(time.secondsSinceEpoch == 1_522_942_260)
        #expect(time.nanosecond == 123_456_789)
        #expect(time.utcOffsetMinutes == 120)
        #expect(time.inUTC.description == "2018-04-05T15:31:00.123456789Z")
        #expect(time.isSameInstant(as: time.inUTC))
        #expect(time != time.inUTC)
        #expect(try Timestamp(rfc3339: "1996-12-19T16:39:57-00:00").isOffsetUnknown)
    }

    @Test func leapSecondIsTheNextMinutesFirstSecond() throws {
        let leap = try Timestamp(rfc3339: "1990-12-31T23:59:60Z")
        let next = try Timestamp(rfc3339: "1991-01-01T00:00:00Z")
        #expect(leap.secondsSinceEpoch == next.secondsSinceEpoch)
    }

    @Test func createsFromInstant() throws {
        let time = try Timestamp(secondsSinceEpoch: -1, nanosecond: 500_000_000)
        #expect(time.description == "1969-12-31T23:59:59.5Z")
        let offset = try Timestamp(secondsSinceEpoch: 1_522_942_260, utcOffsetMinutes: -330)
        #expect(offset.description == "2018-04-05T10:01:00-05:30")
        #expect(
            try Timestamp(year: 2024, month: 2, day: 29, hour: 1, nanosecond: 120_000_000).description
                == "2024-02-29T01:00:00.12Z")
        #expect(throws: TimestampError.fieldOutOfRange("day")) { try Timestamp(year: 2023, month: 2, day: 29) }
    }

    @Test func comparesByInstant() throws {
        let early = try Timestamp(rfc3339: "2018-04-05T17:31:00+02:00")
        let late = try Timestamp(rfc3339: "2018-04-05T16:31:00Z")
        #expect(early < late)
        #expect(Timestamp.now() > late)
    }
}

@Suite("Validation")
struct ValidationTests {
    @Test func validEventPasses() throws {
        var event = CloudEvent(id: "1", source: "/s", type: "t")
        event.extensions["abcdefghijklmnopqrstuvwxyz"] = "names over 20 characters are allowed"
        event.extensions["1abc"] = "names may start with a digit"
        try event.validate()
        #expect(event.isValid)
    }

    /// Every violation is reported, each naming the attribute and the rule.
    @Test func reportsEveryViolation() throws {
        var event = CloudEvent(id: "", source: "", type: "", dataSchema: "relative/schema", subject: "")
        event.dataContentType = "not a media type"
        event.extensions["Upper"] = "x"
        event.extensions["under_score"] = "x"
        event.extensions["data"] = "x"
        event.extensions["id"] = "x"
        event.extensions["ctrl"] = "a\u{0}b"
        event.extensions["link"] = .uri("no-scheme")
        let error = try #require(throws: CloudEventValidationError.self) { try event.validate() }
        let found = Dictionary(error.violations.map { ($0.attribute, $0.rule) }, uniquingKeysWith: { first, _ in first })
        #expect(found["id"] == .empty)
        #expect(found["source"] == .empty)
        #expect(found["type"] == .empty)
        #expect(found["subject"] == .empty)
        #expect(found["dataschema"] == .invalidURI("relative/schema"))
        #expect(found["datacontenttype"] == .unsupportedValue("not a media type"))
        #expect(found["Upper"] == .invalidName)
        #expect(found["under_score"] == .invalidName)
        #expect(found["data"] == .reservedName)
        #expect(found["id"] != nil)
        #expect(found["ctrl"] == .invalidCharacter(scalar: 0, reason: "control character"))
        #expect(found["link"] == .invalidURI("no-scheme"))
        #expect(error.violations.count == 12)
        #expect(error.description.contains("attribute 'dataschema' must be an absolute URI"))
    }

    @Test func v03SchemaURLIsAURIReference() throws {
        let event = CloudEvent(id: "1", source: "/s", type: "t", specVersion: .v0_3, dataSchema: "relative/ok")
        try event.validate()
        #expect(event[attribute: "schemaurl"] == .uriReference("relative/ok"))
        #expect(event[attribute: "dataschema"] == nil)
        var v1 = event
        v1.specVersion = .v1_0
        #expect(!v1.isValid)
    }

    @Test func v03CoreNamesAreExtensionsIn10() throws {
        var event = CloudEvent(id: "1", source: "/s", type: "t")
        event.extensions["schemaurl"] = "x"
        event.extensions["datacontentencoding"] = "base64"
        try event.validate()
        event.specVersion = .v0_3
        #expect(!event.isValid)
    }

    @Test func attributeAccessByName() throws {
        var event = CloudEvent(id: "1", source: "/s", type: "t")
        try event.setAttribute("time", to: .string("2018-04-05T17:31:00Z"))
        try event.setAttribute("subject", to: "sub")
        try event.setAttribute("myext", to: .integer(5))
        #expect(event.time?.description == "2018-04-05T17:31:00Z")
        #expect(event[attribute: "subject"] == .string("sub"))
        #expect(event[attribute: "myext"] == .integer(5))
        #expect(event.attributes.map(\.name) == ["specversion", "id", "source", "type", "subject", "time", "myext"])
        #expect(throws: Violation.self) { try event.setAttribute("time", to: .integer(1)) }
        #expect(throws: Violation.self) { try event.setAttribute("specversion", to: "2.0") }
    }

    @Test func extensionsCompareWithoutOrder() {
        let left: ExtensionAttributes = ["a": 1, "b": true]
        let right: ExtensionAttributes = ["b": true, "a": 1]
        #expect(left == right)
        #expect(left.hashValue == right.hashValue)
        var removed = left
        removed["a"] = nil
        #expect(removed.names == ["b"])
    }
}

@Suite("Media types")
struct MediaTypeTests {
    @Test(arguments: [
        ("application/json", true), ("text/json", true), ("application/cloudevents+json", true),
        ("application/ld+json", true), ("APPLICATION/JSON; charset=UTF-8", true), ("Application/Vnd.Foo+JSON", true),
        ("application/json-seq", false), ("application/geo+json-seq", false), ("text/plain", false), ("json", false)
    ])
    func jsonMediaTypes(text: String, isJSON: Bool) {
        #expect(MediaType(text)?.isJSON ?? false == isJSON)
    }

    @Test func parsesParametersCaseInsensitively() throws {
        let type = try #require(MediaType("TEXT/Plain; CharSet=\"utf-8\" ; format=flowed"))
        #expect(type.essence == "text/plain")
        #expect(type.parameter("charset") == "utf-8")
        #expect(type == MediaType("text/plain; charset=utf-8; format=flowed"))
        #expect(MediaType("nothing") == nil)
    }
}
