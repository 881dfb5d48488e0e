extension JSONEventFormat {
    /// Decodes the event object that starts at `start` in `bytes` (after any whitespace) and
    /// says where it ends, reading nothing after its closing `}`.
    ///
    /// This is how a sequence of events (a JSON batch, JSON Lines) is read one element at a
    /// time, from a buffer that may hold only part of the input: a decoded element is whole,
    /// whatever follows it. Batch rules (a shared `specversion`) are the caller's.
    ///
    /// - Parameters:
    ///   - bytes: the input, or the part of it read so far.
    ///   - start: where the element (or the whitespace before it) starts.
    /// - Returns: the event, and the index just past its closing `}`.
    /// - Throws: ``EventFormatError`` for invalid JSON (its offset is an index into `bytes`;
    ///   when `bytes` holds only part of the input, an error may mean the element goes on
    ///   past it) or a broken attribute rule.
    public func decodeElement(_ bytes: UnsafeRawBufferPointer, from start: Int) throws(EventFormatError) -> (
        event: CloudEvent, end: Int
    ) {
        var decoder = JSONEventDecoder(bytes, extensionTypes: extensionTypes)
        decoder.position = start
        let event = try decoder.decodeEvent()
        return (event, decoder.position)
    }
}
