/// The prefix of the `application-properties` keys that carry CloudEvents attributes in
/// binary mode: `cloudEvents_` (recommended on the spec's main branch, because JMS selectors
/// cannot contain `:`) or `cloudEvents:` (the only form up to CloudEvents 1.0.2). Readers
/// accept both; one message must use one of them only.
public struct AMQPPropertyPrefix: Sendable, Hashable, CustomStringConvertible {
    /// The prefix text, `cloudEvents_` or `cloudEvents:`.
    public let rawValue: String

    private init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// `cloudEvents_`: the default, what the spec recommends.
    public static let underscore = AMQPPropertyPrefix(rawValue: "cloudEvents_")
    /// `cloudEvents:`: for peers that follow CloudEvents 1.0.2 or earlier.
    public static let colon = AMQPPropertyPrefix(rawValue: "cloudEvents:")

    /// Both prefixes, the default first.
    public static let all: [AMQPPropertyPrefix] = [.underscore, .colon]

    /// The property key for attribute `name`, e.g. `cloudEvents_id`.
    ///
    /// - Parameter name: the attribute name.
    /// - Returns: the prefixed key.
    public func key(for name: String) -> String { rawValue + name }

    /// The prefix a key starts with, and the attribute name after it; `nil` for another key.
    ///
    /// - Parameter key: an application-properties key.
    /// - Returns: the prefix and the rest of the key.
    public static func split(_ key: String) -> (prefix: AMQPPropertyPrefix, name: Substring)? {
        // Both prefixes are 12 ASCII bytes and differ only in the last one.
        let utf8 = key.utf8
        guard utf8.count > 12, key.hasPrefix("cloudEvents") else { return nil }
        let separatorIndex = utf8.index(utf8.startIndex, offsetBy: 11)
        let rest = key[utf8.index(after: separatorIndex)...]
        switch utf8[separatorIndex] {
        case UInt8(ascii: "_"): return (.underscore, rest)
        case UInt8(ascii: ":"): return (.colon, rest)
        default: return nil
        }
    }

    /// `cloudEvents_` or `cloudEvents:`.
    public var description: String { rawValue }
}
