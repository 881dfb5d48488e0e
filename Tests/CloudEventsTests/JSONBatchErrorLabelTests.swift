import CloudEvents
import Testing

/// A batch body that never opens its array is wrong as a batch: its error must not be
/// labelled as the first event's (it was: an empty body said "event 0 of the batch").
@Suite struct JSONBatchErrorLabelTests {
    @Test(arguments: ["", "   ", "[", "  {\"id\""])
    func errorsBeforeOrAtTheArrayAreLabelledRight(body: String) throws {
        let error = try #require(throws: EventFormatError.self) { try JSONEventFormat().decodeBatch(Array(body.utf8)) }
        if body.contains("[") {
            #expect(error.batchIndex == 0, "inside the array the error belongs to event 0: \(error)")
        } else {
            #expect(error.batchIndex == nil, "no array was opened: \(error)")
            #expect(!"\(error)".contains("of the batch"), "\(error)")
        }
    }
}
