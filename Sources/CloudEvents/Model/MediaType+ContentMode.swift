extension MediaType {
    /// The content mode a binding's content-type field selects: the one detection rule
    /// every binding shares (spec edge case 29; `REFERENCE.md` §3.0).
    ///
    /// A value whose media type starts with `application/cloudevents-batch` is batched
    /// (tested first, since it also starts with the structured prefix), one starting with
    /// `application/cloudevents` is structured (`application/cloudevents+<format>`), anything
    /// else is binary. The prefix is matched case-insensitively (ASCII), after leading spaces
    /// and tabs; parameters play no part. Which format the body uses is the format
    /// registry's question, asked afterwards, not this one's.
    ///
    /// What a **missing** content type means differs per binding, so the binding says it
    /// with `absent`: binary for HTTP, MQTT 5 and NATS 2.2+ headers (their binary mode is
    /// the one without a CloudEvents media type); structured for MQTT 3.1.1 and header-less
    /// NATS, which carry only structured JSON (`application/cloudevents+json` is implied).
    ///
    /// Decided on the bytes, without parsing or allocating: every received message asks.
    ///
    /// - Parameters:
    ///   - contentType: the content-type field as it arrived, or `nil` when there is none.
    ///   - absent: the mode of a message without a content type.
    ///   - batch: whether the binding has a batched mode (only HTTP does); without one a
    ///     batch media type is structured, with a media type no single-event format
    ///     matches, so that decoding it reports ``MessageError/Reason/unsupportedFormat(_:)``.
    /// - Returns: the content mode.
    public static func contentMode(
        of contentType: String?, whenAbsent absent: ContentMode = .binary, batch: Bool = true
    ) -> ContentMode {
        guard let contentType else { return absent }
        let mode = UTF8Access.with(contentType, detectContentMode(utf8:))
        return mode == .batch && !batch ? .structured : mode
    }

    /// The prefix test of ``contentMode(of:whenAbsent:batch:)`` on UTF-8 bytes. Bytes at or
    /// above 0x80 never match a prefix byte, so a byte-wise ASCII case-folding comparison is
    /// exact for any text.
    private static func detectContentMode(utf8: UnsafeBufferPointer<UInt8>) -> ContentMode {
        var start = 0
        while start < utf8.count, utf8[start] == 0x20 || utf8[start] == 0x09 { start += 1 }
        @inline(__always)
        func hasPrefix(_ prefix: StaticString) -> Bool {
            let count = prefix.utf8CodeUnitCount
            guard utf8.count - start >= count else { return false }
            var offset = 0
            while offset < count {
                let byte = utf8[start + offset]
                let folded = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
                if folded != prefix.utf8Start[offset] { return false }
                offset += 1
            }
            return true
        }
        if hasPrefix("application/cloudevents-batch") { return .batch }
        if hasPrefix("application/cloudevents") { return .structured }
        return .binary
    }
}
