import CloudEvents
import CloudEventsAMQP
import CloudEventsConformance
import CloudEventsProtobuf
import Testing

/// Mutated encodings through `AMQPMessageCodec.decode` and the mapping: each one is decoded,
/// or refused with a typed error; none crashes or hangs, and the reader never disagrees with
/// itself (direct event vs. through the generic message).
@Suite struct AMQPFuzzTests {
    static let seeds: [[UInt8]] = {
        var event = CloudEvent(id: "1", source: "/s", type: "t")
        event.time = try! Timestamp(rfc3339: "2020-01-01T00:00:00.5Z")
        event.extensions = ["n": 5, "flag": true, "bin": .binary([1, 2])]
        event.dataContentType = "text/plain"
        event.data = .text("hello")
        var seeds: [[UInt8]] = []
        for mode in [ContentMode.binary, .structured] {
            for prefix in [AMQPPropertyPrefix.underscore, .colon] {
                seeds.append(try! AMQPMessageCodec.encode(try! AMQPMessage(event, mode: mode, prefix: prefix)))
            }
        }
        seeds.append(try! AMQPMessageCodec.encode(try! AMQPMessage(event, mode: .structured, format: ProtobufEventFormat())))
        return seeds
    }()

    @Test(arguments: 0..<4)
    func mutatedEncodingsDecodeOrFailWithATypedError(seed: UInt64) {
        var random = SeededRandom(seed: 0x414D_5150 &+ seed)
        let formats = EventFormatRegistry.standard.adding(ProtobufEventFormat())
        var decodedMessages = 0
        var refusedBytes = 0
        var events = 0
        for _ in 0..<2_500 {
            var bytes = Self.seeds.randomElement(using: &random)!
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                switch Int.random(in: 0..<5, using: &random) {
                case 0: bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                case 1: bytes[Int.random(in: 0..<bytes.count, using: &random)] ^= 1 << UInt8.random(in: 0..<8, using: &random)
                case 2: bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &random)))
                case 3:
                    bytes.insert(UInt8.random(in: 0...255, using: &random), at: Int.random(in: 0...bytes.count, using: &random))
                default:
                    // A length or size byte set to an extreme.
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] = [0x00, 0xFF, 0x7F, 0x80].randomElement(
                        using: &random)!
                }
                if bytes.isEmpty { break }
            }
            let decoded = Result { () throws(TransportError) in
                try decodeBytes(bytes)
            }
            guard case .success(let message) = decoded else {
                if case .failure(let error) = decoded { #expect(error.code == .invalidMessage, "\(error)") }
                refusedBytes += 1
                continue
            }
            decodedMessages += 1
            let reader = AMQPMessageReader(message, address: "q")
            let direct = Result { () throws(MessageError) in try reader.event(formats: formats) }
            let viaMessage = Result { () throws(MessageError) in try reader.message().event(formats: formats) }
            switch (direct, viaMessage) {
            case (.success(let event), .success(let same)):
                events += 1
                #expect(event == same)
                #expect(throws: Never.self) { try event.validate() }
                // What was decoded can be written again.
                #expect(throws: Never.self) { try AMQPMessageCodec.encode(try AMQPMessage(event)) }
            case (.failure, .failure):
                // The receiver's non-throwing read carries the same verdict to the delivery.
                let (_, error) = reader.messageAndError()
                if error == nil {
                    #expect(throws: MessageError.self) { try reader.message().event(formats: formats) }
                }
            case (.success, .failure(let error)):
                Issue.record("read directly, refused through the message: \(error)")
            case (.failure(let error), .success):
                Issue.record("refused directly (\(error)), read through the message")
            }
        }
        #expect(decodedMessages > 100, "the mutations should not all be refused by the codec")
        #expect(refusedBytes > 100, "the mutations should break some encodings")
        #expect(events > 10, "some mutations keep a valid event")
    }

    @Test(arguments: 0..<2)
    func randomBytesAreRefusedOrDecoded(seed: UInt64) {
        var random = SeededRandom(seed: 0x5241_4E44 &+ seed)
        for _ in 0..<3_000 {
            var bytes = (0..<Int.random(in: 0...64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            if Bool.random(using: &random) { bytes = [0x00, 0x53, UInt8.random(in: 0x70...0x78, using: &random)] + bytes }
            let result = Result { () throws(TransportError) in
                try decodeBytes(bytes)
            }
            if case .success(let message) = result {
                _ = try? message.event()
            }
        }
    }
}
