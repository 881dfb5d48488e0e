import CloudEvents
import CloudEventsNATS
import Testing

@Suite struct ProtocolSubjectTests {
    @Test(arguments: ["a", "a.b.c", "_INBOX.Xy9.1", "orders-new.v1", "ünï.☕", "$JS.API", "a-b_c~d"])
    func publishSubjectsThatAreValid(subject: String) throws {
        try NATSSubject.validate(subject, allowsWildcards: false)
        try NATSSubject.validate(subject, allowsWildcards: true)
    }

    @Test(arguments: ["*", ">", "a.*", "a.>", "*.b.*", "a.*.>", "_INBOX.abc.*"])
    func subscriptionSubjectsWithWildcards(subject: String) throws {
        try NATSSubject.validate(subject, allowsWildcards: true)
        #expect(throws: TransportError.self) { try NATSSubject.validate(subject, allowsWildcards: false) }
    }

    static let invalid: [(subject: String, wildcards: Bool, names: String)] = [
        ("", true, "invalid NATS subject '': a subject must not be empty"),
        (".a", true, "invalid NATS subject '.a': it has an empty token (a leading, trailing or doubled '.')"),
        ("a.", true, "invalid NATS subject 'a.': it has an empty token"),
        ("a..b", false, "invalid NATS subject 'a..b': it has an empty token"),
        (".", false, "it has an empty token"),
        ("a b", false, "invalid NATS subject 'a b': it contains whitespace or a control character"),
        ("a\tb", true, "invalid NATS subject 'a\\tb': it contains whitespace"),
        ("a\r\nPUB x 1", false, "invalid NATS subject 'a\\r\\nPUB x 1': it contains whitespace"),
        ("a\u{7F}", false, "it contains whitespace or a control character"),
        ("a.*", false, "invalid NATS subject 'a.*': the wildcard '*' is only allowed when subscribing"),
        ("a.>", false, "the wildcard '>' is only allowed when subscribing"),
        ("a.>.b", true, "invalid NATS subject 'a.>.b': '>' must be the last token"),
        ("a.b*", true, "invalid NATS subject 'a.b*': the wildcard '*' must be a whole token"),
        ("a.*b", true, "the wildcard '*' must be a whole token"),
        ("a.>b", true, "the wildcard '>' must be a whole token"),
        ("**", true, "the wildcard '*' must be a whole token")
    ]

    @Test(arguments: invalid.indices)
    func invalidSubjectsAreRefusedNamingTheRule(index: Int) {
        let (subject, wildcards, names) = Self.invalid[index]
        do {
            try NATSSubject.validate(subject, allowsWildcards: wildcards)
            Issue.record("'\(subject)' validated")
        } catch {
            #expect(error.code == .invalidMessage)
            #expect(error.message.contains(names), "\(error.message)")
        }
    }

    @Test func queueGroups() throws {
        try NATSSubject.validateQueueGroup("workers")
        try NATSSubject.validateQueueGroup("workers.v1-ü")
        for (name, names) in [
            ("", "invalid NATS queue group '': a queue group must not be empty"),
            ("a b", "invalid NATS queue group 'a b': it contains whitespace or a control character"),
            ("a\r\n", "invalid NATS queue group 'a\\r\\n': it contains whitespace")
        ] {
            #expect(throws: TransportError.self) { try NATSSubject.validateQueueGroup(name) }
            do {
                try NATSSubject.validateQueueGroup(name)
            } catch {
                #expect(error.code == .invalidMessage)
                #expect(error.message.hasPrefix(names))
            }
        }
    }
}
