import BenchmarkSample
import CloudEvents
import CloudEventsAMQP
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

// The CloudEvents side of Scripts/bench-amqp (issue #14): send → receive throughput, settled,
// with the AMQP binding, beside Benchmarks/AMQPThroughput/amqp_throughput.c, which moves the
// same message with bare qpid-proton.
//
// broker: a receiver connection with an AMQPEventReceiver on the queue ADDRESS, then a sender
//         connection with an AMQPEventSender to it (RabbitMQ declares `/queue/NAME`).
// peer:   an AMQPListener on 127.0.0.1 (an ephemeral port) as the receiver, and a sender
//         connection to it with an AMQPEventSender to ADDRESS.
// The sender keeps WINDOW sends in flight, each encoding the sample event in binary mode and
// returning when the receiver's accepted disposition arrived, and at most IN-TRANSIT sent but
// not yet received; the receiver grants CREDIT, decodes every delivery (delivery.event()) and
// accepts it. Measured from the first send until every message is received and accepted.
//
// Usage: AMQPThroughput broker HOST PORT USER PASSWORD ADDRESS MESSAGES WINDOW IN-TRANSIT CREDIT TIMEOUT-SECONDS
//        AMQPThroughput peer ADDRESS MESSAGES WINDOW IN-TRANSIT CREDIT TIMEOUT-SECONDS
//          prints one line: `amqp-throughput client=swift mode=M messages=N window=W
//          in_transit=T credit=C seconds=S msgs_per_s=X`; exits 1 on a failure or when the
//          run has not finished within the timeout. USER may be `-` (SASL ANONYMOUS).
//        AMQPThroughput --wire
//          prints the AMQP message the binding sends for the sample event in binary mode,
//          for the C side: one line, `amqp\t<the encoded message in hex>`.
//        AMQPThroughput --codec N
//          the mapping alone, N times each, one thread: the sample event to AMQP bytes
//          (AMQPMessage + AMQPMessageCodec.encode) and back (decode, AMQPMessageReader,
//          event()); prints `amqp-codec encode_us=E decode_us=D` (µs per message), to tell
//          the mapping's share of the Swift side's CPU per message from the transport's.

func fail(_ message: String) -> Never {
    emit("AMQPThroughput: \(message)\n", to: 2)
    exit(1)
}

/// Writes `text` to standard output (or `descriptor`) at once, unbuffered.
func emit(_ text: String, to descriptor: Int32 = 1) {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
}

func printWire() throws {
    let bytes = try AMQPMessageCodec.encode(try AMQPMessage(SampleEvent.event, mode: .binary))
    let digits = Array("0123456789abcdef".utf8)
    var hex = [UInt8]()
    hex.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        hex.append(digits[Int(byte >> 4)])
        hex.append(digits[Int(byte & 0x0f)])
    }
    emit("amqp\t\(String(decoding: hex, as: UTF8.self))\n")
}

func measureCodec(_ count: Int) throws {
    let clock = ContinuousClock()
    var bytes: [UInt8] = []
    let encoding = try clock.measure {
        for _ in 0..<count { bytes = try AMQPMessageCodec.encode(try AMQPMessage(SampleEvent.event, mode: .binary)) }
    }
    var id = ""
    let decoding = try clock.measure {
        for _ in 0..<count {
            let message = try bytes.withUnsafeBytes { try AMQPMessageCodec.decode($0) }
            id = try AMQPMessageReader(message).message().event().id
        }
    }
    guard id == SampleEvent.event.id else { fail("the decoded event has id '\(id)'") }
    func microseconds(_ duration: Duration) -> String {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        let hundredths = Int((seconds / Double(count) * 1e8).rounded())
        return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
    }
    emit("amqp-codec messages=\(count) encode_us=\(microseconds(encoding)) decode_us=\(microseconds(decoding))\n")
}

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments == ["--wire"] {
    do { try printWire() } catch { fail("cannot encode the sample event: \(error)") }
} else if arguments.count == 2, arguments[0] == "--codec", let count = Int(arguments[1]), count > 0 {
    do { try measureCodec(count) } catch { fail("\(error)") }
}
