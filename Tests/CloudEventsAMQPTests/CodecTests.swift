import CQpidProton
import CloudEvents
import CloudEventsAMQP
import Testing

/// `AMQPMessageCodec` through proton: every value type, every body kind, the header and
/// properties fields, and refusals of malformed bytes.
@Suite struct AMQPMessageCodecTests {
    private func roundTrip(_ message: AMQPMessage) throws -> AMQPMessage {
        try decodeBytes(try AMQPMessageCodec.encode(message))
    }

    private func decode(_ bytes: [UInt8]) throws(TransportError) -> AMQPMessage {
        try decodeBytes(bytes)
    }

    static let everyValue: [AMQPValue] = [
        .null, .boolean(true), .boolean(false), .ubyte(255), .ushort(65535), .uint(UInt32.max), .ulong(UInt64.max),
        .byte(-128), .short(-32768), .int(Int32.min), .long(Int64.min), .long(0), .float(1.5), .double(-2.25),
        .timestamp(1_522_942_260_123), .timestamp(-1), .uuid(Array(0..<16)), .binary([]), .binary([0, 1, 0xFF]),
        .string(""), .string("grüße ✓ 🎉"), .symbol("a:symbol")
    ]

    @Test func everyScalarTypeRoundTripsAsItsOwnType() throws {
        let properties = Self.everyValue.enumerated().map { AMQPApplicationProperty("k\($0.offset)", $0.element) }
        let decoded = try roundTrip(AMQPMessage(applicationProperties: properties))
        #expect(decoded.applicationProperties == properties)
    }

    @Test func headerAndPropertiesFieldsRoundTrip() throws {
        let message = AMQPMessage(
            contentType: "text/plain; charset=utf-8", body: .data([1, 2, 3]), durable: false, deliveryCount: 7,
            messageID: "id-1", subject: "subj", to: "queue/a")
        #expect(try roundTrip(message) == message)
        let durable = try roundTrip(AMQPMessage())
        #expect(durable.durable)
        #expect(durable.deliveryCount == 0)
        #expect(durable.contentType == nil)
        #expect(durable.body == .none)
    }

    @Test func aBinaryBodyIsExactlyOneDataSection() throws {
        let bytes = try AMQPMessageCodec.encode(AMQPMessage(body: .data(Array("hello".utf8))))
        let raw = try RawProtonView(bytes)
        #expect(raw.sectionCodes.filter { $0 == 0x75 }.count == 1)
        #expect(!raw.sectionCodes.contains(0x77), "not an amqp-value")
        #expect(raw.dataSections == [Array("hello".utf8)])
    }

    @Test func noBodyAndAnEmptyDataSectionStayApart() throws {
        #expect(try roundTrip(AMQPMessage(body: .none)).body == .none)
        #expect(try roundTrip(AMQPMessage(body: .data([]))).body == .data([]))
        let raw = try RawProtonView(try AMQPMessageCodec.encode(AMQPMessage(body: .data([]))))
        #expect(raw.dataSections == [[]])
    }

    @Test func valueAndSequenceBodiesAreReadAsSuch() throws {
        #expect(try roundTrip(AMQPMessage(body: .value(.string("x")))).body == .value(.string("x")))
        #expect(try roundTrip(AMQPMessage(body: .value(.binary([9])))).body == .value(.binary([9])))
        #expect(try roundTrip(AMQPMessage(body: .sequence([.int(1), .string("a")]))).body == .sequence([.int(1), .string("a")]))
    }

    @Test func severalDataSectionsAreReportedNotSilentlyDropped() throws {
        // Proton writes one body section, so build the second by appending its bytes:
        // 0x00 0x53 0x75 (data) 0xa0 <len> <bytes>.
        var bytes = try AMQPMessageCodec.encode(AMQPMessage(body: .data([1, 2])))
        bytes += [0x00, 0x53, 0x75, 0xA0, 0x01, 0x03]
        #expect(try decode(bytes).body == .multipleData([[1, 2], [3]]))
        #expect(throws: TransportError.self) { try AMQPMessageCodec.encode(AMQPMessage(body: .multipleData([[1], [2]]))) }
    }

    @Test func aSectionDescribedByAnEightByteULongIsRead() throws {
        // 0x00 0x80 <8-byte 0x75> (data) 0xa0 <len> <bytes>: legal, if unusual.
        let bytes: [UInt8] = [0x00, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x75, 0xA0, 0x02, 0x05, 0x06]
        #expect(try decode(bytes).body == .data([5, 6]))
        #expect(throws: TransportError.self) { try decode([0x00, 0x80, 0xFF, 0, 0, 0, 0, 0, 0, 0x75, 0xA0, 0x00]) }
    }

    @Test func largeMessagesGrowTheEncodeBuffer() throws {
        let body = [UInt8](repeating: 0xAB, count: 3_000_000)
        let properties = (0..<500).map { AMQPApplicationProperty("key\($0)", .string(String(repeating: "v", count: 200))) }
        let message = AMQPMessage(applicationProperties: properties, body: .data(body))
        #expect(try roundTrip(message) == message)
    }

    @Test func aMessageWrittenByRawProtonIsRead() throws {
        let bytes = rawProtonMessage(contentType: "application/json", body: [7]) { map in
            putKey(map, "cloudEvents:id")
            putString(map, "1")
            putKey(map, "n")
            pn_data_put_int(map, 5)
        }
        let message = try decode(bytes)
        #expect(message.contentType == "application/json")
        #expect(message.applicationProperties == [.init("cloudEvents:id", .string("1")), .init("n", .int(5))])
        #expect(message.body == .data([7]))
    }

    @Test func compoundValuesAreNamedAsUnsupported() throws {
        let bytes = rawProtonMessage { map in
            putKey(map, "list")
            pn_data_put_list(map)
            pn_data_enter(map)
            pn_data_put_int(map, 1)
            pn_data_exit(map)
            putKey(map, "char")
            pn_data_put_char(map, 65)
        }
        let message = try decode(bytes)
        #expect(message[property: "list"] == .unsupported("list"))
        #expect(message[property: "char"] == .unsupported("char"))
        #expect(throws: TransportError.self) { try AMQPMessageCodec.encode(message) }
    }

    @Test(arguments: [
        [] as [UInt8],  // empty
        [0x00],  // truncated descriptor
        [0x00, 0x53, 0x75, 0xA0, 0x05, 0x01],  // data section length past the end
        [0x00, 0x53, 0x75, 0x51, 0x01],  // data section holding a byte
        [0x00, 0x53, 0x99, 0x40],  // unknown section
        [0x00, 0xA3, 0x10] + Array("amqp:data:binary".utf8) + [0xA0, 0x00],  // symbolic descriptor
        [0x41],  // a bare value, not a section
        [0x00, 0x53, 0x74, 0xD1, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]  // map32 longer than the message
    ])
    func malformedBytesAreATypedError(bytes: [UInt8]) {
        #expect(throws: TransportError.self) { try decode(bytes) }
        do { _ = try decode(bytes) } catch { #expect(error.code == .invalidMessage, "\(error)") }
    }

    @Test func aUUIDMustHaveSixteenBytes() {
        #expect(throws: TransportError.self) {
            try AMQPMessageCodec.encode(AMQPMessage(applicationProperties: [.init("u", .uuid([1, 2]))]))
        }
    }

    @Test func concurrentCallersEachUseTheirOwnProtonMessage() async throws {
        // The codec keeps one pn_message_t per thread: callers on many threads at once must
        // never see each other's contents.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for index in 0..<500 {
                        let message = AMQPMessage(
                            contentType: "text/plain",
                            applicationProperties: [.init("task", .int(Int32(task))), .init("index", .long(Int64(index)))],
                            body: index % 3 == 0 ? .none : .data(Array("\(task)-\(index)".utf8)))
                        let decoded = try decodeBytes(try AMQPMessageCodec.encode(message))
                        #expect(decoded == message)
                        if decoded != message { return }
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}
