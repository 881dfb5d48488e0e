import CloudEvents
import CloudEventsProtobuf

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Stdout through one large buffer that events are encoded straight into, written with
/// `write(2)` whenever it passes ``flushSize``.
struct ConvertOutputBuffer {
    /// How much is written at once, at least (but at the end).
    static let flushSize = 256 * 1024

    private let descriptor: Int32
    /// Encoded bytes not written yet.
    var bytes: [UInt8]

    /// - Parameter descriptor: where the bytes go (stdout by default).
    init(descriptor: Int32 = 1) {
        self.descriptor = descriptor
        bytes = []
        bytes.reserveCapacity(2 * Self.flushSize)
    }

    /// Writes the buffer once it holds a block.
    mutating func flushIfFull() throws(ConvertFailure) {
        if bytes.count >= Self.flushSize { try flush() }
    }

    /// Writes everything buffered.
    mutating func flush() throws(ConvertFailure) {
        let descriptor = self.descriptor
        let failure: Int32? = bytes.withUnsafeBytes { buffer in
            var written = 0
            while written < buffer.count {
                let count = write(descriptor, buffer.baseAddress! + written, buffer.count - written)
                if count >= 0 {
                    written += count
                } else if errno != EINTR {
                    return errno
                }
            }
            return nil
        }
        bytes.removeAll(keepingCapacity: true)
        if let failure { throw ConvertFailure("cannot write the output: \(String(cString: strerror(failure)))") }
    }
}

/// Where converted events go, in the shape the options chose: one event, a JSON batch
/// written element by element, JSON Lines, a Protobuf batch written element by element, or
/// (for a format whose batch cannot be written piecewise) a batch encoded at the end.
struct ConvertSink {
    /// The output shape.
    enum Shape {
        /// Exactly one event in `format` (JSON ends with a newline).
        case single(any EventFormat)
        /// A JSON array written element by element, ending with a newline.
        case jsonBatch(JSONEventFormat)
        /// One JSON event per line, JSON data minified: what `ce listen` prints.
        case lines
        /// A `CloudEventBatch`: each event as field 1 (tag, length, the event's message), as
        /// protobuf-c packs a batch.
        case protobufBatch(ProtobufEventFormat)
        /// Any other format's batch: the events are kept and encoded at the end.
        case collectedBatch(any EventFormat)
    }

    private let shape: Shape
    private(set) var output: ConvertOutputBuffer
    /// Events encoded so far.
    private(set) var count = 0
    private var collected: [CloudEvent] = []
    /// One Protobuf event before its field header is known.
    private var scratch: [UInt8] = []
    private let lineFormat = JSONEventFormat()

    /// - Parameters:
    ///   - shape: the output shape.
    ///   - descriptor: where the bytes go (stdout by default).
    init(_ shape: Shape, descriptor: Int32 = 1) {
        self.shape = shape
        output = ConvertOutputBuffer(descriptor: descriptor)
    }

    /// Encodes `event`; on an error the output is left as it was.
    mutating func write(_ event: CloudEvent) throws(EventFormatError) {
        let mark = output.bytes.count
        do {
            switch shape {
            case .single(let format):
                try format.encode(event, into: &output.bytes)
                if MediaType.isJSON(format.mediaType) { output.bytes.append(0x0A) }
            case .jsonBatch(let format):
                output.bytes.append(count == 0 ? UInt8(ascii: "[") : UInt8(ascii: ","))
                try format.encode(event, into: &output.bytes)
            case .lines:
                // Copied (every attribute retained, then released) only when its JSON data
                // has whitespace to take out: the usual event is encoded as it is.
                if Self.hasDataToMinify(event) {
                    try lineFormat.encode(Self.minifyingData(event), into: &output.bytes)
                } else {
                    try lineFormat.encode(event, into: &output.bytes)
                }
                output.bytes.append(0x0A)
            case .protobufBatch(let format):
                scratch.removeAll(keepingCapacity: true)
                try format.encode(event, into: &scratch)
                output.bytes.append(0x0A)  // field 1, length-delimited
                var length = UInt(scratch.count)
                while length >= 0x80 {
                    output.bytes.append(UInt8(truncatingIfNeeded: length) | 0x80)
                    length >>= 7
                }
                output.bytes.append(UInt8(length))
                output.bytes.append(contentsOf: scratch)
            case .collectedBatch:
                collected.append(event)
            }
        } catch {
            output.bytes.removeSubrange(mark...)
            throw error
        }
        count += 1
    }

    /// Writes the buffer when it holds a block.
    mutating func flushIfFull() throws(ConvertFailure) {
        try output.flushIfFull()
    }

    /// Writes what is buffered (after a failure: the events converted before it).
    mutating func flush() throws(ConvertFailure) {
        try output.flush()
    }

    /// Ends the output (closes a JSON batch, encodes a collected batch) and writes it.
    mutating func finish() throws(ConvertFailure) {
        switch shape {
        case .jsonBatch:
            output.bytes.append(contentsOf: count == 0 ? Array("[]\n".utf8) : Array("]\n".utf8))
        case .collectedBatch(let format):
            do {
                try format.encodeBatch(collected, into: &output.bytes)
            } catch {
                throw ConvertFailure("\(error)")
            }
        case .single, .lines, .protobufBatch:
            break
        }
        try output.flush()
    }

    /// Whether `event` has JSON data with whitespace, which one line cannot hold as it is.
    private static func hasDataToMinify(_ event: CloudEvent) -> Bool {
        guard case .json(let json) = event.data else { return false }
        return hasWhitespace(json.bytes)
    }

    /// `event` with JSON data minified, so that it fits on one line.
    private static func minifyingData(_ event: CloudEvent) -> CloudEvent {
        guard case .json(let json) = event.data, hasWhitespace(json.bytes) else { return event }
        var event = event
        event.data = .json(json.minified())
        return event
    }

    /// Whether `bytes` has a byte at or below a space: JSON whitespace, or a space in a string
    /// (only then can minifying change them); eight bytes at a time.
    private static func hasWhitespace(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { buffer in
            let ones: UInt64 = 0x0101_0101_0101_0101
            var index = 0
            while index + 8 <= buffer.count {
                let word = buffer.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                // Some byte below 0x21 (bytes of 0x80 and above never match).
                if (word &- ones &* 0x21) & ~word & (ones &* 0x80) != 0 { return true }
                index += 8
            }
            while index < buffer.count {
                if buffer[index] <= 0x20 { return true }
                index += 1
            }
            return false
        }
    }
}
