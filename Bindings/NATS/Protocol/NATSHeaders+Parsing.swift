#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Parsing an `HMSG` header block from contiguous bytes, without intermediate arrays.
extension NATSHeaders {
    private static let preamble: StaticString = "NATS/1.0"

    /// Parses `block` (see ``init(parsing:)``).
    static func parse(_ block: UnsafeRawBufferPointer) throws(NATSProtocolError) -> NATSHeaders {
        var headers = NATSHeaders()
        guard let firstEnd = lineEnd(in: block, from: 0) else {
            throw NATSProtocolError("header block has no line end: '\(NATSProtocolError.excerpt(block))'")
        }
        try parseStatusLine(block[0..<firstEnd.contentEnd], into: &headers)
        var position = firstEnd.next
        headers.fields.reserveCapacity(lineCount(block, from: position))
        while true {
            guard let end = lineEnd(in: block, from: position) else {
                throw NATSProtocolError(
                    "header block does not end with an empty line: '\(NATSProtocolError.excerpt(block[position...]))'")
            }
            if end.contentEnd == position {
                if end.next != block.count {
                    throw NATSProtocolError(
                        "header block has bytes after its closing empty line: '\(NATSProtocolError.excerpt(block[end.next...]))'"
                    )
                }
                return headers
            }
            headers.fields.append(try parseField(block[position..<end.contentEnd]))
            position = end.next
        }
    }

    /// The end of the line starting at `start`: where its content ends (before CR LF or a
    /// bare LF) and where the next line starts; `nil` when there is no LF.
    private static func lineEnd(
        in block: UnsafeRawBufferPointer, from start: Int
    ) -> (contentEnd: Int, next: Int)? {
        guard start < block.count,
            let newline = block.natsIndex(of: UInt8(ascii: "\n"), in: start..<block.count)
        else { return nil }
        let contentEnd = newline > start && block[newline - 1] == UInt8(ascii: "\r") ? newline - 1 : newline
        return (contentEnd, newline + 1)
    }

    /// The number of LFs from `start`: an upper bound on the fields to come, so that the
    /// array is allocated once.
    private static func lineCount(_ block: UnsafeRawBufferPointer, from start: Int) -> Int {
        var count = 0
        var position = start
        while let newline = block.natsIndex(of: UInt8(ascii: "\n"), in: position..<block.count) {
            count += 1
            position = newline + 1
        }
        return count
    }

    private static func parseStatusLine(
        _ line: Slice<UnsafeRawBufferPointer>, into headers: inout NATSHeaders
    ) throws(NATSProtocolError) {
        let preambleBytes = UnsafeRawBufferPointer(start: preamble.utf8Start, count: preamble.utf8CodeUnitCount)
        guard line.count >= preambleBytes.count, line.prefix(preambleBytes.count).elementsEqual(preambleBytes) else {
            throw NATSProtocolError("header block does not start with 'NATS/1.0': '\(NATSProtocolError.excerpt(line))'")
        }
        var rest = line.dropFirst(preambleBytes.count)
        if rest.isEmpty { return }
        guard let first = rest.first, isBlank(first) else {
            throw NATSProtocolError("header status line has no space after 'NATS/1.0': '\(NATSProtocolError.excerpt(line))'")
        }
        rest = rest.drop(while: isBlank)
        if rest.isEmpty { return }
        let digits = rest.prefix { !isBlank($0) }
        guard digits.count == 3, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            throw NATSProtocolError("header status is not three digits: '\(NATSProtocolError.excerpt(line))'")
        }
        headers.status = digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        let description = trimmed(rest.dropFirst(3))
        if !description.isEmpty { headers.statusDescription = String(decoding: description, as: UTF8.self) }
    }

    private static func parseField(_ line: Slice<UnsafeRawBufferPointer>) throws(NATSProtocolError) -> Field {
        guard let colon = line.base.natsIndex(of: UInt8(ascii: ":"), in: line.startIndex..<line.endIndex) else {
            throw NATSProtocolError("header line has no ':': '\(NATSProtocolError.excerpt(line))'")
        }
        let nameBytes = line[line.startIndex..<colon]
        if nameBytes.isEmpty {
            throw NATSProtocolError("header line has an empty name: '\(NATSProtocolError.excerpt(line))'")
        }
        if nameBytes.contains(where: NATSSubject.isWhitespaceOrControl) {
            throw NATSProtocolError(
                "header name has whitespace or a control character: '\(NATSProtocolError.excerpt(line))'")
        }
        guard let name = knownName(nameBytes) ?? line.base.natsValidatedString(nameBytes.startIndex..<nameBytes.endIndex) else {
            throw NATSProtocolError("header name is not UTF-8: '\(NATSProtocolError.excerpt(line))'")
        }
        let value = trimmed(line[(colon + 1)...])
        return Field(name: name, value: Array(value))
    }

    /// A name this binding reads on every message that is too long for a small (inline)
    /// string, as a literal so that reading it allocates nothing; `nil` for other names.
    /// Names of up to 15 bytes are inline strings anyway.
    private static func knownName(_ bytes: Slice<UnsafeRawBufferPointer>) -> String? {
        let known: StaticString = "ce-datacontenttype"
        guard bytes.count == known.utf8CodeUnitCount, let base = bytes.base.baseAddress,
            memcmp(base + bytes.startIndex, known.utf8Start, bytes.count) == 0
        else { return nil }
        return "ce-datacontenttype"
    }

    private static func isBlank(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
    }

    private static func trimmed(_ bytes: Slice<UnsafeRawBufferPointer>) -> Slice<UnsafeRawBufferPointer> {
        var result = bytes.drop(while: isBlank)
        while let last = result.last, isBlank(last) { result = result.dropLast() }
        return result
    }
}
