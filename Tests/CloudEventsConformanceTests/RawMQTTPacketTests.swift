import CloudEventsConformance
import Testing

/// The raw MQTT packet parser on handcrafted bytes: PUBLISH in both versions, every
/// property type skipped by its length, and malformed packets refused with a reason.
@Suite("Raw MQTT packet parser")
struct RawMQTTPacketTests {
    static func string(_ text: String) -> [UInt8] {
        let bytes = Array(text.utf8)
        return [UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)] + bytes
    }

    /// A whole MQTT 5 PUBLISH, QoS 1, retained: every kind of property, kept or skipped.
    @Test func parsesAnMQTT5PublishWithEveryPropertyType() throws {
        var properties: [UInt8] = [0x01, 0x01]  // payload format indicator: UTF-8
        properties += [0x02, 0, 0, 0, 60]  // message expiry interval (four bytes)
        properties += [0x23, 0, 7]  // topic alias (two bytes)
        properties += [0x03] + Self.string("text/plain")  // content type
        properties += [0x08] + Self.string("reply/to")  // response topic (string)
        properties += [0x09, 0, 3, 0xFF, 0x00, 0x01]  // correlation data (binary)
        properties += [0x26] + Self.string("id") + Self.string("1")  // user property
        properties += [0x0B, 0x81, 0x01]  // subscription identifier (varint 129)
        properties += [0x26] + Self.string("ce-type") + Self.string("t")
        let payload: [UInt8] = Array("hello".utf8)
        let body = Self.string("a/b") + [0x12, 0x34] + [UInt8(properties.count)] + properties + payload
        var buffer: [UInt8] = [0x33, UInt8(body.count)] + body + [0xD0]  // then the start of the next packet
        let frame = try #require(try RawMQTTPacket.frame(&buffer))
        #expect(buffer == [0xD0])
        #expect(frame.type == 3 && frame.flags == 0x03)

        let publish = try RawMQTTPacket.publish(frame, version: .v5)
        #expect(publish.topic == "a/b" && publish.qos == 1 && publish.retain && publish.packetID == 0x1234)
        #expect(
            publish.properties == [
                .payloadFormatIndicator(1), .other(identifier: 0x02), .other(identifier: 0x23), .contentType("text/plain"),
                .other(identifier: 0x08), .other(identifier: 0x09), .userProperty(name: "id", value: "1"),
                .other(identifier: 0x0B), .userProperty(name: "ce-type", value: "t")
            ])
        #expect(publish.contentTypes == ["text/plain"])
        #expect(publish.userProperties.map { "\($0.name)=\($0.value)" } == ["id=1", "ce-type=t"])
        #expect(publish.payload == payload)
    }

    /// MQTT 3.1.1 has no properties: what follows the topic (QoS 0: no packet id) is payload.
    @Test func parsesAnMQTT311PublishWithoutProperties() throws {
        let body = Self.string("t") + Array("{}".utf8)
        var buffer: [UInt8] = [0x30, UInt8(body.count)] + body
        let publish = try RawMQTTPacket.publish(try #require(try RawMQTTPacket.frame(&buffer)), version: .v311)
        #expect(publish.topic == "t" && publish.qos == 0 && !publish.retain && publish.packetID == nil)
        #expect(publish.properties.isEmpty && publish.payload == Array("{}".utf8))
    }

    /// A packet not yet whole (in its length or its body) stays in the buffer.
    @Test func anIncompletePacketIsNotFramed() throws {
        var cut: [UInt8] = [0x30, 0x80]  // remaining length continues
        #expect(try RawMQTTPacket.frame(&cut) == nil)
        #expect(cut == [0x30, 0x80])
        var short: [UInt8] = [0x30, 0x05, 0x00]
        #expect(try RawMQTTPacket.frame(&short) == nil)
        #expect(short.count == 3)
        // A remaining length of 200 takes two bytes: 0xC8 0x01.
        var long: [UInt8] = [0x30, 0xC8, 0x01] + [UInt8](repeating: 0, count: 200)
        #expect(try RawMQTTPacket.frame(&long)?.body.count == 200)
    }

    @Test(arguments: [
        ([UInt8(0x30), 0x05, 0x00, 0x09, 0x61, 0x62, 0x63], "topic name runs past the packet"),
        ([UInt8(0x30), 0x06, 0x00, 0x01, 0x74, 0x02, 0x7F, 0x00], "unknown property identifier 0x7f"),
        ([UInt8(0x30), 0x05, 0x00, 0x01, 0x74, 0x09, 0x01], "properties run past the packet"),
        ([UInt8(0x30), 0x08, 0x00, 0x01, 0x74, 0x04, 0x03, 0x00, 0x05, 0x61], "property 0x3 runs past the packet")
    ])
    func malformedPublishesAreRefusedNamingThePart(bytes: [UInt8], reason: String) throws {
        var buffer = bytes
        let frame = try #require(try RawMQTTPacket.frame(&buffer))
        #expect {
            _ = try RawMQTTPacket.publish(frame, version: .v5)
        } throws: { error in
            "\(error)".contains(reason)
        }
    }

    @Test func aRemainingLengthOverFourBytesIsRefused() {
        var buffer: [UInt8] = [0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]
        #expect(throws: WireProbeError.self) { _ = try RawMQTTPacket.frame(&buffer) }
    }
}
