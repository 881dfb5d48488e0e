import CQpidProton
import Testing

@testable import CloudEventsAMQP

@Suite("qpid-proton is linked")
struct ProtonLinkTests {
    @Test func aMessageCanBeCreatedAndFreed() {
        let message = pn_message()
        #expect(message != nil)
        pn_message_free(message)
        #expect(protonVersionString.hasPrefix("0."))
    }
}
