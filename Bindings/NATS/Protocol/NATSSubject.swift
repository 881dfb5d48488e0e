public import CloudEvents

/// The rules for NATS subjects and queue-group names, checked before they reach the wire (a
/// space in a subject would shift the fields of `PUB`/`SUB` and the server would close the
/// connection).
///
/// A subject is tokens separated by `.`: no empty token (no leading, trailing or doubled
/// `.`), no whitespace or control characters. In a subscription, `*` is a wildcard for one
/// whole token and `>` for one or more tokens, only as the last token; `*` and `>` inside a
/// longer token are refused too, as they would read as wildcards to people but not to the
/// server.
public enum NATSSubject {
    /// Checks `subject`.
    ///
    /// - Parameters:
    ///   - subject: the subject to publish to (`allowsWildcards: false`) or subscribe to.
    ///   - allowsWildcards: whether `*` and `>` tokens are allowed (subscriptions).
    /// - Throws: ``TransportError`` `.invalidMessage` naming the subject and the rule it breaks.
    public static func validate(_ subject: String, allowsWildcards: Bool) throws(TransportError) {
        // On the contiguous UTF-8 of a native string: this runs before every publish.
        let broken =
            subject.utf8.withContiguousStorageIfAvailable { brokenRule($0, allowsWildcards: allowsWildcards) }
            ?? Array(subject.utf8).withUnsafeBufferPointer { brokenRule($0, allowsWildcards: allowsWildcards) }
        if let broken {
            throw TransportError(.invalidMessage, "invalid NATS subject '\(printable(subject))': \(broken)")
        }
    }

    /// The rule `subject` breaks, or `nil` when it is valid.
    private static func brokenRule(_ subject: UnsafeBufferPointer<UInt8>, allowsWildcards: Bool) -> String? {
        if subject.isEmpty { return "a subject must not be empty" }
        let emptyToken = "it has an empty token (a leading, trailing or doubled '.')"
        var tokenLength = 0
        var wildcard: UInt8?  // the wildcard that is the current token so far
        for byte in subject {
            if byte == UInt8(ascii: ".") {
                if tokenLength == 0 { return emptyToken }
                if wildcard == UInt8(ascii: ">") { return "'>' must be the last token" }
                tokenLength = 0
                wildcard = nil
                continue
            }
            if isWhitespaceOrControl(byte) { return "it contains whitespace or a control character" }
            if byte == UInt8(ascii: "*") || byte == UInt8(ascii: ">") {
                if !allowsWildcards { return "the wildcard '\(Unicode.Scalar(byte))' is only allowed when subscribing" }
                if tokenLength > 0 { return "the wildcard '\(Unicode.Scalar(byte))' must be a whole token" }
                wildcard = byte
            } else if let wildcard {
                return "the wildcard '\(Unicode.Scalar(wildcard))' must be a whole token"
            }
            tokenLength += 1
        }
        return tokenLength == 0 ? emptyToken : nil
    }

    /// Checks a queue-group name: not empty, no whitespace or control characters.
    ///
    /// - Parameter name: the queue group.
    /// - Throws: ``TransportError`` `.invalidMessage` naming the group and the rule it breaks.
    public static func validateQueueGroup(_ name: String) throws(TransportError) {
        if name.utf8.isEmpty {
            throw TransportError(.invalidMessage, "invalid NATS queue group '': a queue group must not be empty")
        }
        if name.utf8.contains(where: isWhitespaceOrControl) {
            throw TransportError(
                .invalidMessage,
                "invalid NATS queue group '\(printable(name))': it contains whitespace or a control character")
        }
    }

    /// Space, and the C0 controls (tab, CR, LF…) and DEL.
    static func isWhitespaceOrControl(_ byte: UInt8) -> Bool {
        byte <= 0x20 || byte == 0x7F
    }

    static func printable(_ text: String) -> String {
        NATSProtocolError.excerpt(text.utf8, limit: 200)
    }
}
