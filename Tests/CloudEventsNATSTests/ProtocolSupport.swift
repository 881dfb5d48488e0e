import CloudEventsNATS
import NIOCore

/// Helpers for the protocol suites: feeding the decoder in chunks and encoding commands.
enum ProtocolWire {
    /// The commands decoded from `bytes` fed in pieces ending at `cuts` (ascending offsets),
    /// then whatever is left: the decoder is driven as `ByteToMessageHandler` drives it.
    static func decode(
        _ bytes: [UInt8], cuts: [Int] = [], decoder: NATSServerCommandDecoder = NATSServerCommandDecoder()
    ) throws(NATSProtocolError) -> [NATSServerCommand] {
        var decoder = decoder
        var buffer = ByteBuffer()
        var commands: [NATSServerCommand] = []
        var start = 0
        for end in cuts + [bytes.count] where end >= start {
            buffer.writeBytes(bytes[start..<end])
            start = end
            // Bounded: each turn consumes at least one byte or stops.
            for _ in 0...bytes.count {
                guard let command = try decoder.decode(buffer: &buffer) else { break }
                commands.append(command)
            }
        }
        return commands
    }

    /// The commands decoded from `text` in one piece.
    static func decode(_ text: String) throws(NATSProtocolError) -> [NATSServerCommand] {
        try decode(Array(text.utf8))
    }

    /// The error decoding `bytes` throws, or `nil` when it decodes.
    static func error(
        _ bytes: [UInt8], decoder: NATSServerCommandDecoder = NATSServerCommandDecoder()
    ) -> NATSProtocolError? {
        do {
            _ = try decode(bytes, decoder: decoder)
            return nil
        } catch {
            return error
        }
    }

    /// The error decoding `text` throws, or `nil` when it decodes.
    static func error(_ text: String, decoder: NATSServerCommandDecoder = NATSServerCommandDecoder()) -> NATSProtocolError? {
        error(Array(text.utf8), decoder: decoder)
    }

    /// The bytes `command.write(into:)` appends.
    static func encode(_ command: NATSClientCommand) -> String {
        var buffer = ByteBuffer()
        command.write(into: &buffer)
        return String(decoding: buffer.readableBytesView, as: UTF8.self)
    }

    /// The bytes of `headers.write(into:)`.
    static func bytes(of headers: NATSHeaders) -> [UInt8] {
        var buffer = ByteBuffer()
        headers.write(into: &buffer)
        return Array(buffer.readableBytesView)
    }
}
