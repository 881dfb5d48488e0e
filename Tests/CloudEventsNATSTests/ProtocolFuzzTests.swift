import CloudEventsNATS
import NIOCore
import Testing

/// Seeded, bounded fuzzing of the decoder: mutated valid streams and random bytes never trap,
/// and the outcome (the commands, or the error after them) does not depend on how the
/// stream was split.
@Suite struct ProtocolFuzzTests {
    /// Small valid streams to mutate (the big corpus stream is one of them).
    static let seeds: [[UInt8]] = [
        ProtocolCorpus.stream,
        "MSG a 1 5\r\nhello\r\nPING\r\n",
        "MSG a.b 18446744073709551615 r 0\r\n\r\n+OK\r\n",
        ProtocolCorpus.hmsg("s", 2, reply: "r", header: ProtocolCorpus.severalFields, payload: "xy"),
        ProtocolCorpus.hmsg("_INBOX.1", 3, header: "NATS/1.0 503 No Responders\r\n\r\n", payload: ""),
        #"INFO {"server_id":"x","headers":true,"max_payload":10}"# + "\r\n-ERR 'x'\r\n"
    ].map { Array($0.utf8) }

    /// Bytes that steer mutations towards the protocol's edges.
    static let interesting: [UInt8] = Array("\r\n \t0123456789-+:'{}\"MSGHINFOPONGERRKNATS/1.0".utf8) + [0, 0x7F, 0x80, 0xFF]

    /// The outcome of decoding `bytes` split at `cuts`: what decoded, and the error if any.
    struct Outcome: Equatable {
        var commands: [NATSServerCommand] = []
        var error: NATSProtocolError?
    }

    static func outcome(_ bytes: [UInt8], cuts: [Int], decoder: NATSServerCommandDecoder) -> Outcome {
        var decoder = decoder
        var buffer = ByteBuffer()
        var outcome = Outcome()
        var start = 0
        do {
            for end in cuts + [bytes.count] where end >= start {
                buffer.writeBytes(bytes[start..<end])
                start = end
                for _ in 0...bytes.count {
                    guard let command = try decoder.decode(buffer: &buffer) else { break }
                    outcome.commands.append(command)
                }
            }
        } catch {
            outcome.error = error
        }
        return outcome
    }

    static func mutate(_ seed: [UInt8], _ random: inout SeededRandom) -> [UInt8] {
        var bytes = seed
        for _ in 0...random.below(4) {
            let position = random.below(bytes.count + 1)
            switch random.below(7) {
            case 0 where position < bytes.count: bytes[position] = UInt8(truncatingIfNeeded: random.next())
            case 1 where position < bytes.count: bytes[position] = interesting[random.below(interesting.count)]
            case 2: bytes.insert(interesting[random.below(interesting.count)], at: position)
            case 3 where position < bytes.count: bytes.remove(at: position)
            case 4: bytes.removeLast(random.below(min(bytes.count, 8) + 1))
            case 5:
                let length = min(random.below(16), bytes.count - position)
                bytes.insert(contentsOf: bytes[position..<(position + length)], at: position)
            default:
                // A size rewritten with a digit string, sometimes huge.
                let digits = Array(String(random.next() >> UInt64(random.below(64))).utf8)
                bytes.insert(contentsOf: digits, at: position)
            }
        }
        return bytes
    }

    static func randomCuts(_ count: Int, _ random: inout SeededRandom) -> [Int] {
        (0..<random.below(4)).map { _ in random.below(count + 1) }.sorted()
    }

    @Test func mutatedValidStreamsDecodeOrFailTheSameWayHoweverSplit() {
        var random = SeededRandom(seed: 20_000)
        let decoders = [
            NATSServerCommandDecoder(), NATSServerCommandDecoder(maximumControlLineLength: 40, maximumPayload: 20)
        ]
        var decoded = 0
        var failed = 0
        for round in 0..<20_000 {
            let bytes = Self.mutate(Self.seeds[round % Self.seeds.count], &random)
            let decoder = decoders[round % 7 == 0 ? 1 : 0]
            let whole = Self.outcome(bytes, cuts: [], decoder: decoder)
            let cuts = Self.randomCuts(bytes.count, &random)
            let split = Self.outcome(bytes, cuts: cuts, decoder: decoder)
            if whole != split {
                Issue.record(
                    "round \(round), cuts \(cuts): \(whole) vs \(split) for \(NATSProtocolError.excerpt(bytes, limit: 300))")
                return
            }
            if whole.error == nil { decoded += 1 } else { failed += 1 }
        }
        // Both outcomes must occur, or the mutations are too weak or too strong to test anything.
        #expect(decoded > 1_000 && failed > 1_000, "decoded \(decoded), failed \(failed)")
    }

    @Test func randomBytesDecodeOrFailWithoutTrapping() {
        var random = SeededRandom(seed: 5_000)
        var failed = 0
        for round in 0..<5_000 {
            let count = random.below(200)
            let bytes: [UInt8] = (0..<count).map { _ in
                random.below(2) == 0
                    ? UInt8(truncatingIfNeeded: random.next()) : Self.interesting[random.below(Self.interesting.count)]
            }
            let whole = Self.outcome(bytes, cuts: [], decoder: NATSServerCommandDecoder())
            let split = Self.outcome(bytes, cuts: Self.randomCuts(count, &random), decoder: NATSServerCommandDecoder())
            if whole != split {
                Issue.record("round \(round): \(whole) vs \(split)")
                return
            }
            if whole.error != nil { failed += 1 }
        }
        #expect(failed > 2_500, "only \(failed) of 5,000 random strings failed")
    }

    @Test func headerBlocksOfRandomBytesParseOrFail() throws {
        var random = SeededRandom(seed: 1_000)
        var parsed = 0
        for _ in 0..<5_000 {
            var block = Array("NATS/1.0".utf8)
            for _ in 0..<random.below(40) { block.append(Self.interesting[random.below(Self.interesting.count)]) }
            block += Array("\r\n\r\n".utf8)
            if let headers = try? NATSHeaders(parsing: block) {
                parsed += 1
                // What parsed writes back as a block that parses to the same headers.
                #expect(try NATSHeaders(parsing: ProtocolWire.bytes(of: headers)) == headers)
            }
        }
        #expect(parsed > 100, "only \(parsed) parsed")
    }
}
