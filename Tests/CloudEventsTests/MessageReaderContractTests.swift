import Testing

@testable import CloudEvents

/// A third party's ``MessageReader`` that breaks its contract must give a typed error, not
/// crash the process (the transcoder force-unwrapped `structuredContent`).
@Suite("MessageReader contract")
struct MessageReaderContractTests {
    /// Says it is structured (or batched) but has no structured content.
    struct InconsistentReader: MessageReader {
        var contentMode: ContentMode
        var structuredContent: StructuredContent? { nil }

        func readBinary<Writer: BinaryMessageWriter>(into writer: inout Writer) throws(MessageError) {
            throw MessageError(.invalidMessage("not binary"))
        }
    }

    @Test(arguments: [ContentMode.structured, .batch])
    func transcodingAnInconsistentReaderThrows(mode: ContentMode) {
        let expected = MessageError(
            .inconsistentReader("InconsistentReader reports content mode '\(mode)' but provides no structured content"))
        var message = Message()
        #expect(throws: expected) { try MessageTranscoder().transcode(InconsistentReader(contentMode: mode), to: &message) }
        #expect(throws: expected) {
            try MessageTranscoder().transcode(
                InconsistentReader(contentMode: mode), to: &message, format: JSONEventFormat())
        }
        #expect(throws: expected) { try InconsistentReader(contentMode: mode).events() }
    }

    @Test func decodingAnInconsistentReaderThrows() {
        let expected = MessageError(
            .inconsistentReader("InconsistentReader reports content mode 'structured' but provides no structured content"))
        #expect(throws: expected) { try InconsistentReader(contentMode: .structured).event() }
        var message = Message()
        #expect(throws: expected) {
            try MessageTranscoder().transcode(InconsistentReader(contentMode: .structured), to: &message, mode: .binary)
        }
    }
}
