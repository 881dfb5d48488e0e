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
    public func key(for name: String) -> String {
        // The context attributes' keys are literals: concatenating allocates a new string per
        // attribute per send (a third of the writer's cost).
        let colon = self == .colon
        switch name {
        case "id": return colon ? "cloudEvents:id" : "cloudEvents_id"
        case "source": return colon ? "cloudEvents:source" : "cloudEvents_source"
        case "specversion": return colon ? "cloudEvents:specversion" : "cloudEvents_specversion"
        case "type": return colon ? "cloudEvents:type" : "cloudEvents_type"
        case "subject": return colon ? "cloudEvents:subject" : "cloudEvents_subject"
        case "time": return colon ? "cloudEvents:time" : "cloudEvents_time"
        case "dataschema": return colon ? "cloudEvents:dataschema" : "cloudEvents_dataschema"
        default: return rawValue + name
        }
    }

    /// The key whose UTF-8 is `utf8` as a literal, when it is a context attribute's key.
    ///
    /// Why: a decoded key is otherwise a new string, and most keys are longer than the 15
    /// bytes Swift stores inline, so each would be an allocation per property per delivery.
    static func knownKey(_ utf8: UnsafeBufferPointer<UInt8>) -> String? {
        guard match(utf8: utf8) != nil else { return nil }
        let colon = utf8[utf8.startIndex + 11] == UInt8(ascii: ":")
        let name = UnsafeBufferPointer(rebasing: utf8[(utf8.startIndex + 12)...])
        func equals(_ literal: StaticString) -> Bool {
            guard literal.utf8CodeUnitCount == name.count else { return false }
            let bytes = literal.utf8Start
            for index in 0..<name.count where bytes[index] != name[index] { return false }
            return true
        }
        switch name.count {
        case 2 where equals("id"): return colon ? "cloudEvents:id" : "cloudEvents_id"
        case 4 where equals("type"): return colon ? "cloudEvents:type" : "cloudEvents_type"
        case 4 where equals("time"): return colon ? "cloudEvents:time" : "cloudEvents_time"
        case 6 where equals("source"): return colon ? "cloudEvents:source" : "cloudEvents_source"
        case 7 where equals("subject"): return colon ? "cloudEvents:subject" : "cloudEvents_subject"
        case 10 where equals("dataschema"): return colon ? "cloudEvents:dataschema" : "cloudEvents_dataschema"
        case 11 where equals("specversion"): return colon ? "cloudEvents:specversion" : "cloudEvents_specversion"
        default: return nil
        }
    }

    /// The prefix a key starts with, and the attribute name after it; `nil` for another key.
    ///
    /// - Parameter key: an application-properties key.
    /// - Returns: the prefix and the rest of the key.
    public static func split(_ key: String) -> (prefix: AMQPPropertyPrefix, name: Substring)? {
        guard let prefix = match(key) else { return nil }
        return (prefix, Substring(key.utf8.dropFirst(12)))
    }

    /// The prefix `key` starts with, if any (the attribute name is its UTF-8 after byte 12).
    ///
    /// Compared byte by byte over the key's contiguous UTF-8: both prefixes are ASCII (12
    /// bytes, differing only in the last), and `String.hasPrefix` (a Unicode comparison) and
    /// indexing a `String.UTF8View` cost most of a decode's prefix handling.
    static func match(_ key: String) -> AMQPPropertyPrefix? {
        if let found = key.utf8.withContiguousStorageIfAvailable({ match(utf8: $0) }) { return found }
        return match(utf8: Array(key.utf8))
    }

    /// The attribute name after the prefix of a key that ``match(_:)`` matched.
    static func attributeName(_ key: String) -> String {
        key.utf8.withContiguousStorageIfAvailable { utf8 in
            String(decoding: UnsafeBufferPointer(rebasing: utf8[12...]), as: UTF8.self)
        } ?? String(decoding: key.utf8.dropFirst(12), as: UTF8.self)
    }

    private static func match<Bytes: RandomAccessCollection<UInt8>>(utf8: Bytes) -> AMQPPropertyPrefix? {
        guard utf8.count > 12 else { return nil }
        var index = utf8.startIndex
        for byte in "cloudEvents".utf8 {
            guard utf8[index] == byte else { return nil }
            index = utf8.index(after: index)
        }
        switch utf8[index] {
        case UInt8(ascii: "_"): return .underscore
        case UInt8(ascii: ":"): return .colon
        default: return nil
        }
    }

    /// `cloudEvents_` or `cloudEvents:`.
    public var description: String { rawValue }
}
