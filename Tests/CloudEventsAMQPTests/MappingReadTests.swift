import CQpidProton
import CloudEvents
import CloudEventsAMQP
import Testing

/// Reading AMQP messages as other senders write them (REFERENCE 3.3 and section 5): both
/// prefixes, mixed prefixes refused, canonical strings, other integer types, the refusals.
@Suite struct AMQPMappingReadTests {
    private func message(
        _ properties: [(String, AMQPValue)], contentType: String? = nil, body: AMQPBody = .none
    ) -> AMQPMessage {
        AMQPMessage(
            contentType: contentType, applicationProperties: properties.map { AMQPApplicationProperty($0.0, $0.1) },
            body: body)
    }

    private func required(_ prefix: String) -> [(String, AMQPValue)] {
        [
            (prefix + "specversion", .string("1.0")), (prefix + "id", .string("1")), (prefix + "source", .string("/s")),
            (prefix + "type", .string("t"))
        ]
    }

    @Test(arguments: ["cloudEvents_", "cloudEvents:"])
    func bothPrefixesAreRead(prefix: String) throws {
        let event = try message(required(prefix) + [(prefix + "x", .string("y"))]).event()
        #expect(event.id == "1")
        #expect(event.source == "/s")
        #expect(event.extensions["x"] == .string("y"))
    }

    @Test func aMessageMixingThePrefixesIsRefusedNamingBothKeys() {
        let mixed = message(required("cloudEvents_") + [("cloudEvents:subject", .string("s"))])
        do {
            _ = try mixed.event()
            Issue.record("a mixed message was read")
        } catch {
            guard case .invalidMessage(let text) = error.reason else {
                Issue.record("\(error)")
                return
            }
            #expect(text.contains("cloudEvents_specversion"))
            #expect(text.contains("cloudEvents:subject"))
        }
        #expect(throws: MessageError.self) { try mixed.message() }
    }

    @Test func canonicalStringsAreReadForEveryType() throws {
        let event = try message(
            required("cloudEvents_") + [
                ("cloudEvents_time", .string("2018-04-05T17:31:00.123456789+02:00")),
                ("cloudEvents_dataschema", .string("https://example.com/s")), ("cloudEvents_n", .string("5")),
                ("cloudEvents_flag", .string("true")), ("cloudEvents_bin", .string("AQL/"))
            ]
        ).event(extensionTypes: ["n": .integer, "flag": .boolean, "bin": .binary])
        #expect(event.time == (try Timestamp(rfc3339: "2018-04-05T17:31:00.123456789+02:00")), "the text as sent")
        #expect(event.dataSchema == "https://example.com/s")
        #expect(event.extensions["n"] == .integer(5))
        #expect(event.extensions["flag"] == .boolean(true))
        #expect(event.extensions["bin"] == .binary([1, 2, 0xFF]))
    }

    @Test func unknownExtensionsGetTheTypeTheirAMQPTypeMapsTo() throws {
        let event = try message(
            required("cloudEvents_") + [
                ("cloudEvents_b", .boolean(false)), ("cloudEvents_l", .long(7)), ("cloudEvents_bin", .binary([0])),
                ("cloudEvents_ts", .timestamp(0)), ("cloudEvents_s", .string("x")), ("cloudEvents_sym", .symbol("y"))
            ]
        ).event()
        #expect(event.extensions["b"] == .boolean(false))
        #expect(event.extensions["l"] == .integer(7))
        #expect(event.extensions["bin"] == .binary([0]))
        #expect(event.extensions["ts"] == .timestamp(try Timestamp(rfc3339: "1970-01-01T00:00:00Z")))
        #expect(event.extensions["s"] == .string("x"))
        #expect(event.extensions["sym"] == .string("y"))
    }

    @Test(arguments: [
        AMQPValue.int(-7), .short(-7), .byte(-7), .uint(7), .ushort(7), .ubyte(7), .ulong(7), .long(-7)
    ])
    func everyIntegerTypeInRangeIsAnInteger(value: AMQPValue) throws {
        let event = try message(required("cloudEvents_") + [("cloudEvents_n", value)]).event()
        guard case .integer(let integer) = event.extensions["n"] else {
            Issue.record("\(String(describing: event.extensions["n"]))")
            return
        }
        #expect(abs(integer) == 7)
    }

    @Test(arguments: [
        AMQPValue.long(Int64(Int32.max) + 1), .long(Int64(Int32.min) - 1), .uint(UInt32(Int32.max) + 1), .ulong(UInt64.max)
    ])
    func anIntegerOutsideThe32BitRangeIsRefusedByName(value: AMQPValue) {
        do {
            _ = try message(required("cloudEvents_") + [("cloudEvents_n", value)]).event()
            Issue.record("\(value) was read")
        } catch {
            #expect(error.violations.map(\.attribute) == ["n"], "\(error)")
            #expect(error.violations.first.map { if case .integerOutOfRange = $0.rule { true } else { false } } == true)
        }
    }

    @Test(arguments: [AMQPValue.long(1_522_949_460_123), .ulong(1_522_949_460_123), .int(5)])
    func anIntegerTimeIsRefusedWithItsReason(value: AMQPValue) {
        do {
            _ = try message(required("cloudEvents_") + [("cloudEvents_time", value)]).event()
            Issue.record("a \(value.typeName) time was read")
        } catch {
            #expect(
                error.description
                    == "cloudEvents_time: an AMQP \(value.typeName) is not a timestamp; send an AMQP timestamp or an RFC 3339 string"
            )
        }
    }

    @Test(arguments: [AMQPValue.double(1), .float(1), .null, .uuid(Array(0..<16)), .unsupported("list")])
    func valuesWithoutACloudEventsTypeAreRefusedByName(value: AMQPValue) {
        let error = #expect(throws: MessageError.self) {
            try message(required("cloudEvents_") + [("cloudEvents_x", value)]).event()
        }
        #expect(error?.description.contains("cloudEvents_x: an AMQP \(value.typeName)") == true, "\(String(describing: error))")
    }

    @Test func aStringOfTheWrongFormIsAViolation() {
        #expect(throws: MessageError.self) {
            try message(required("cloudEvents_") + [("cloudEvents_time", .string("yesterday"))]).event()
        }
        #expect(throws: MessageError.self) {
            try message(required("cloudEvents_") + [("cloudEvents_id", .long(5))]).event()
        }
    }

    @Test func theSameAttributeTwiceIsRefused() {
        #expect(throws: MessageError(.duplicateAttribute("id"))) {
            try message(required("cloudEvents_") + [("cloudEvents_id", .string("2"))]).event()
        }
    }

    @Test func contentTypeIsDataContentTypeAndADataContentTypePropertyMustAgree() throws {
        let body = AMQPBody.data(Array("hi".utf8))
        let plain = try message(required("cloudEvents_"), contentType: "text/plain", body: body).event()
        #expect(plain.dataContentType == "text/plain")
        #expect(plain.data == .text("hi"))
        let agreeing = required("cloudEvents_") + [("cloudEvents_datacontenttype", .string("text/plain"))]
        #expect(try message(agreeing, contentType: "text/plain", body: body).event().dataContentType == "text/plain")
        #expect(try message(agreeing, body: body).event().dataContentType == "text/plain", "used when content-type is absent")
        #expect(throws: MessageError.self) { try message(agreeing, contentType: "application/json", body: body).event() }
    }

    @Test func anEmptyDataSectionIsEmptyDataOnlyWithAContentType() throws {
        // RabbitMQ adds an empty data section to a message sent without a body (AMQP 1.0
        // requires one): without a content type it is no data.
        #expect(try message(required("cloudEvents_"), body: .data([])).event().data == nil)
        #expect(try message(required("cloudEvents_"), body: .none).event().data == nil)
        #expect(try message(required("cloudEvents_"), contentType: "text/plain", body: .data([])).event().data == .text(""))
        let typed = required("cloudEvents_") + [("cloudEvents_datacontenttype", .string("application/octet-stream"))]
        #expect(try message(typed, body: .data([])).event().data == .binary([]))
        #expect(try message(required("cloudEvents_"), body: .data([1])).event().data == .binary([1]))
    }

    @Test func modeDetectionIsByContentTypePrefixCaseInsensitively() throws {
        #expect(AMQPMessageReader.detectMode(contentType: nil) == .binary)
        #expect(AMQPMessageReader.detectMode(contentType: "application/json") == .binary)
        #expect(AMQPMessageReader.detectMode(contentType: "Application/CloudEvents+JSON; charset=utf-8") == .structured)
        let body = Array(#"{"specversion":"1.0","id":"1","source":"/s","type":"t"}"#.utf8)
        let event = try message([], contentType: "APPLICATION/CLOUDEVENTS+json", body: .data(body)).event()
        #expect(event.id == "1")
    }

    @Test func aBatchIsRefused() {
        let error = #expect(throws: MessageError.self) {
            try message([], contentType: "application/cloudevents-batch+json", body: .data(Array("[]".utf8))).event()
        }
        #expect(error?.description.contains("AMQP has no batched mode") == true, "\(String(describing: error))")
    }

    @Test func anUnknownFormatIsUnsupported() {
        #expect(throws: MessageError(.unsupportedFormat("application/cloudevents+avro"))) {
            try message([], contentType: "application/cloudevents+avro", body: .data([0])).event()
        }
    }

    @Test(arguments: [
        AMQPBody.value(.string("{}")), .sequence([.int(1)]), .multipleData([[1], [2]])
    ])
    func bodiesTheSpecDoesNotCoverAreRefusedInBothModes(body: AMQPBody) {
        #expect(throws: MessageError.self) { try message(required("cloudEvents_"), body: body).event() }
        #expect(throws: MessageError.self) {
            try message([], contentType: "application/cloudevents+json", body: body).event()
        }
        #expect(throws: MessageError.self) { try message(required("cloudEvents_"), body: body).message() }
    }

    @Test func aStructuredMessageWithoutABodyIsRefused() {
        #expect(throws: MessageError.self) { try message([], contentType: "application/cloudevents+json").event() }
    }

    @Test func inStructuredModeTheBodyWins() throws {
        let body = Array(#"{"specversion":"1.0","id":"body","source":"/s","type":"t"}"#.utf8)
        let amqp = message(
            [("cloudEvents_id", .string("property"))], contentType: "application/cloudevents+json", body: .data(body))
        #expect(try amqp.event().id == "body")
        #expect(try amqp.message().metadata["cloudEvents_id"] == nil, "CloudEvents keys are not metadata")
    }

    @Test func foreignPropertiesAreMetadataAndTheAddressIsKnown() throws {
        let amqp = message(
            required("cloudEvents_") + [
                ("app", .string("v")), ("count", .int(3)), (":address", .string("spoofed")), ("raw", .binary([1]))
            ])
        let read = try amqp.message(address: "orders")
        #expect(read.metadata == [":address": "orders", "app": "v", "count": "3", "raw": "AQ=="])
        guard case .binary(let attributes, let data) = read.content else {
            Issue.record("not binary")
            return
        }
        #expect(attributes.map(\.name) == ["specversion", "id", "source", "type"])
        #expect(data == nil)
    }

    @Test func aMessageWrittenByRawProtonWithTheColonPrefixAndStringsIsDecoded() throws {
        let bytes = rawProtonMessage(contentType: "text/plain", body: Array("hello".utf8)) { map in
            for (key, value) in [
                ("cloudEvents:specversion", "1.0"), ("cloudEvents:id", "raw-1"), ("cloudEvents:source", "/raw"),
                ("cloudEvents:type", "t"), ("cloudEvents:time", "2018-04-05T17:31:00Z")
            ] {
                putKey(map, key)
                putString(map, value)
            }
            putKey(map, "cloudEvents:n")
            pn_data_put_int(map, 42)
        }
        let amqp = try decodeBytes(bytes)
        let event = try CloudEvent(amqpMessage: amqp)
        #expect(event.id == "raw-1")
        #expect(event.time == (try Timestamp(rfc3339: "2018-04-05T17:31:00Z")))
        #expect(event.extensions["n"] == .integer(42))
        #expect(event.data == .text("hello"))
    }

    @Test func aRawProtonLongTimeIsRefusedWithItsReason() throws {
        let bytes = rawProtonMessage { map in
            for (key, value) in [
                ("cloudEvents_specversion", "1.0"), ("cloudEvents_id", "1"), ("cloudEvents_source", "/s"),
                ("cloudEvents_type", "t")
            ] {
                putKey(map, key)
                putString(map, value)
            }
            putKey(map, "cloudEvents_time")
            pn_data_put_long(map, 1_522_949_460_123)
        }
        let amqp = try decodeBytes(bytes)
        #expect(
            throws: MessageError(
                .invalidMessage(
                    "cloudEvents_time: an AMQP long is not a timestamp; send an AMQP timestamp or an RFC 3339 string"))
        ) {
            try amqp.event()
        }
    }

    @Test func extremeTimestampsAreTypedErrorsNotCrashes() {
        for milliseconds in [Int64.min, Int64.max, -62_135_596_800_001, 253_402_300_800_000] {
            #expect(throws: MessageError.self) {
                try message(required("cloudEvents_") + [("cloudEvents_time", .timestamp(milliseconds))]).event()
            }
        }
        #expect(throws: Never.self) {
            try message(required("cloudEvents_") + [("cloudEvents_time", .timestamp(-62_135_596_800_000))]).event()
        }
    }
}
