public import CloudEvents
public import NIOCore

/// The header block of `HPUB`/`HMSG`: `NATS/1.0[ <status>[ <description>]]\r\n`, then
/// `name: value\r\n` for each field, then an empty line.
extension NATSHeaders {
    /// Appends the header block exactly as it goes on the wire.
    ///
    /// Names and values are written as given: call ``validate()`` first (the client does
    /// before it publishes), so that a CR, LF or misplaced `:` never reaches the wire. The
    /// description is written only with a status.
    ///
    /// - Parameter buffer: the buffer to append to.
    public func write(into buffer: inout ByteBuffer) {
        NATSWireWriter.append(to: &buffer, count: encodedByteCount) { write(to: &$0) }
    }

    /// Writes the block into memory reserved for ``encodedByteCount`` bytes.
    func write(to writer: inout NATSWireWriter) {
        writer.write("NATS/1.0")
        if let status {
            writer.write(UInt8(ascii: " "))
            writer.writeDecimal(status)
            if let statusDescription, !statusDescription.isEmpty {
                writer.write(UInt8(ascii: " "))
                writer.write(statusDescription)
            }
        }
        writer.write("\r\n")
        for field in fields {
            writer.write(field.name)
            writer.write(": ")
            writer.write(field.value)
            writer.write("\r\n")
        }
        writer.write("\r\n")
    }

    /// The number of bytes ``write(into:)`` appends (the `<#header bytes>` of `HPUB`).
    public var encodedByteCount: Int {
        var count = 8 + 2 + 2  // "NATS/1.0", its CRLF, the final empty line
        if let status {
            count += 1 + natsDecimalDigitCount(status)
            if let statusDescription, !statusDescription.isEmpty {
                count += 1 + statusDescription.utf8.count
            }
        }
        for field in fields {
            count += field.name.utf8.count + 2 + field.value.count + 2
        }
        return count
    }

    /// Checks that the headers can be written: every name not empty, without `:`,
    /// whitespace or control characters; no value containing CR or LF; a status of three
    /// digits and a description without CR or LF.
    ///
    /// - Throws: ``TransportError`` `.invalidMessage` naming the bad header and the rule.
    public func validate() throws(TransportError) {
        if let status, !(100...999).contains(status) {
            throw TransportError(.invalidMessage, "invalid NATS header status \(status): it must have three digits")
        }
        if let statusDescription, statusDescription.utf8.contains(where: Self.isLineBreak) {
            throw TransportError(
                .invalidMessage,
                "invalid NATS header status description '\(NATSProtocolError.excerpt(statusDescription.utf8))': it contains CR or LF"
            )
        }
        for field in fields {
            // Built only for an error message: this runs before every publish.
            var name: String { NATSProtocolError.excerpt(field.name.utf8) }
            if field.name.isEmpty {
                throw TransportError(.invalidMessage, "invalid NATS header name '': a header name must not be empty")
            }
            if !Self.isValidName(field.name) {
                throw TransportError(
                    .invalidMessage, "invalid NATS header name '\(name)': it contains ':', whitespace or a control character")
            }
            if field.value.withUnsafeBytes({
                $0.natsIndex(of: UInt8(ascii: "\n"), in: 0..<$0.count) != nil
                    || $0.natsIndex(of: UInt8(ascii: "\r"), in: 0..<$0.count) != nil
            }) {
                throw TransportError(
                    .invalidMessage,
                    "invalid value of NATS header '\(name)' ('\(NATSProtocolError.excerpt(field.value))'): it contains CR or LF")
            }
        }
    }

    /// Parses the header block of an `HMSG` (its first `<#header bytes>` bytes).
    ///
    /// The first line is `NATS/1.0`, optionally followed by a three-digit status and a
    /// description; each further line is `name: value` (the value trimmed of spaces and
    /// tabs); an empty line ends the block, and nothing may follow it. Lines end with CRLF
    /// (a bare LF is accepted, as Go's `textproto` reader that NATS clients use does).
    ///
    /// - Parameter block: the header bytes.
    /// - Throws: ``NATSProtocolError`` naming what is wrong: no `NATS/1.0`, a bad status, a
    ///   line without `:`, a name with whitespace or control characters or not UTF-8, a
    ///   missing final empty line, bytes after it. Values are not checked: the server
    ///   forwards other clients' headers as they wrote them, and a value only has to fit
    ///   on its line.
    public init(parsing block: some Collection<UInt8>) throws(NATSProtocolError) {
        let result = block.withContiguousStorageIfAvailable { storage in
            Result { () throws(NATSProtocolError) in try Self.parse(UnsafeRawBufferPointer(storage)) }
        }
        if let result {
            self = try result.get()
        } else {
            let bytes = Array(block)
            self = try bytes.withUnsafeBytes { storage in
                Result { () throws(NATSProtocolError) in try Self.parse(storage) }
            }.get()
        }
    }

    /// Whether `name` has no `:`, whitespace or control character (checked on its contiguous
    /// UTF-8 when it has it: this runs for every header of every publish).
    private static func isValidName(_ name: String) -> Bool {
        func isBad(_ byte: UInt8) -> Bool { byte == UInt8(ascii: ":") || NATSSubject.isWhitespaceOrControl(byte) }
        return name.utf8.withContiguousStorageIfAvailable { !$0.contains(where: isBad) } ?? !name.utf8.contains(where: isBad)
    }

    static func isLineBreak(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n")
    }
}
