import BenchmarkSample
import CloudEvents
import CloudEventsNATS
import LoadServerSupport
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// CLOCK_MONOTONIC in nanoseconds: the clock the C side reads, comparable between the
/// publisher's and the subscriber's processes.
func monotonicNanoseconds() -> Int64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
}

/// Ends the process if the run has not finished within `seconds`, saying how far it got.
func startDeadline(seconds: Int, progress: @escaping @Sendable () -> String) {
    Task.detached {
        try await Task.sleep(for: .seconds(seconds))
        fail("timed out after \(seconds) s: \(progress())")
    }
}

func hex(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text = [UInt8]()
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: text, as: UTF8.self)
}

/// The NATS message the binding publishes for the sample event in binary mode: its header
/// block (as the client writes it) and payload in hex, for the C publisher.
func printWire() throws {
    let message = try NATSMessage(subject: "wire", event: SampleEvent.event, mode: .binary)
    guard let headers = message.headers else { fail("the binary-mode message has no headers") }
    var block = ByteBuffer()
    headers.write(into: &block)
    emit("headers\t\(hex(block.readableBytesView))\npayload\t\(hex(message.payload))\n")
}

/// The mapping and the protocol codec alone, `count` times each, on one thread: the sample
/// event to a NATS message and its HPUB bytes; the HMSG bytes the server would deliver for it
/// to a NATS message (NATSServerCommandDecoder); and that message back to the event.
func measureCodec(_ count: Int) throws {
    var buffer = ByteBuffer()
    buffer.reserveCapacity(4096)
    let start = threadCPUSeconds()
    for _ in 0..<count {
        buffer.clear()
        let message = try NATSMessage(subject: "codec", event: SampleEvent.event, mode: .binary)
        NATSClientCommand.publish(message).write(into: &buffer)
    }
    let encoded = threadCPUSeconds()
    let message = try NATSMessage(subject: "codec", event: SampleEvent.event, mode: .binary)
    guard let headers = message.headers else { fail("the binary-mode message has no headers") }
    var frame = ByteBuffer()
    let headerCount = headers.encodedByteCount
    frame.writeString("HMSG codec 1 \(headerCount) \(headerCount + message.payload.count)\r\n")
    headers.write(into: &frame)
    frame.writeBytes(message.payload)
    frame.writeString("\r\n")
    var decoder = NATSServerCommandDecoder()
    var received = message
    let framed = threadCPUSeconds()
    for _ in 0..<count {
        var input = frame
        guard case .message(_, let decoded) = try decoder.decode(buffer: &input) else { fail("no HMSG decoded") }
        received = decoded
    }
    let parsed = threadCPUSeconds()
    var id = ""
    for _ in 0..<count { id = try NATSMessageReader(received).event().id }
    let decoded = threadCPUSeconds()
    guard id == SampleEvent.event.id else { fail("decoded the id '\(id)'") }
    func perMessage(_ seconds: Double) -> String { (seconds / Double(count) * 1e6).formatted2 }
    emit(
        "nats-codec encode_us=\(perMessage(encoded - start)) hmsg_us=\(perMessage(parsed - framed)) "
            + "decode_us=\(perMessage(decoded - parsed))\n")
}

extension Double {
    /// Two decimals, without Foundation.
    var formatted2: String {
        let hundredths = Int((self * 100).rounded())
        let fraction = String(hundredths % 100)
        return "\(hundredths / 100).\(String(repeating: "0", count: 2 - fraction.count))\(fraction)"
    }
}
