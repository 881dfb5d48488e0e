/// A parsed media type (`type/subtype; name=value`), compared case-insensitively in its
/// type, subtype and parameter names as RFC 2045 and the CloudEvents spec require.
public struct MediaType: Sendable, Hashable, CustomStringConvertible {
    /// Lowercased `type`.
    public let type: String
    /// Lowercased `subtype`, including any `+suffix`.
    public let subtype: String
    /// Parameters with lowercased names; values as written (quotes removed).
    public let parameters: [(name: String, value: String)]

    /// Parses `text`; `nil` when it has no `type/subtype`.
    public init?(_ text: String) {
        var parts = text.split(separator: ";", omittingEmptySubsequences: false)
        guard !parts.isEmpty else { return nil }
        let essence = parts.removeFirst().trimmingASCIIWhitespace()
        guard let slash = essence.firstIndex(of: "/") else { return nil }
        let type = essence[..<slash].trimmingASCIIWhitespace()
        let subtype = essence[essence.index(after: slash)...].trimmingASCIIWhitespace()
        guard !type.isEmpty, !subtype.isEmpty else { return nil }
        self.type = type.asciiLowercased()
        self.subtype = subtype.asciiLowercased()
        var parameters: [(String, String)] = []
        for part in parts {
            guard let equals = part.firstIndex(of: "=") else { continue }
            let name = part[..<equals].trimmingASCIIWhitespace().asciiLowercased()
            var value = part[part.index(after: equals)...].trimmingASCIIWhitespace()
            if value.count >= 2, value.first == "\"", value.last == "\"" {
                value = value.dropFirst().dropLast()
            }
            parameters.append((name, String(value)))
        }
        self.parameters = parameters
    }

    /// `type/subtype`, lowercased, without parameters.
    public var essence: String { type + "/" + subtype }

    /// The value of parameter `name` (case-insensitive name).
    public func parameter(_ name: String) -> String? {
        let name = name.asciiLowercased()
        return parameters.first { $0.name == name }?.value
    }

    /// `*/json` or `*/*+json` (spec: JSON format, "Writing data"). `application/json-seq`
    /// is not JSON.
    public var isJSON: Bool {
        subtype == "json" || subtype.hasSuffix("+json")
    }

    /// Textual media types whose data the JSON format carries as a `data` string:
    /// `text/*` and XML (`*/xml`, `*/*+xml`).
    public var isText: Bool {
        type == "text" || subtype == "xml" || subtype.hasSuffix("+xml")
    }

    /// No `charset`, or a charset whose text is valid UTF-8 (`utf-8`, `us-ascii`).
    public var hasUTF8CompatibleCharset: Bool {
        guard let charset = parameter("charset")?.asciiLowercased() else { return true }
        return charset == "utf-8" || charset == "utf8" || charset == "us-ascii" || charset == "ascii"
    }

    /// The essence and the parameters, e.g. `text/plain; charset=utf-8`.
    public var description: String {
        ([essence] + parameters.map { "\($0.name)=\($0.value)" }).joined(separator: "; ")
    }

    /// The same type, subtype and parameters, in the same order (names compared lowercased).
    public static func == (lhs: MediaType, rhs: MediaType) -> Bool {
        lhs.type == rhs.type && lhs.subtype == rhs.subtype && lhs.parameters.count == rhs.parameters.count
            && zip(lhs.parameters, rhs.parameters).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    /// Hashes the type and subtype only: equal media types hash alike.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(type)
        hasher.combine(subtype)
    }
}

extension MediaType {
    /// The media types of the CloudEvents formats.
    public enum CloudEvents {
        /// The JSON format's single-event media type.
        public static let json = "application/cloudevents+json"
        /// The JSON format's batch media type.
        public static let jsonBatch = "application/cloudevents-batch+json"
        /// The Protobuf format's single-event media type.
        public static let protobuf = "application/cloudevents+protobuf"
        /// The Protobuf format's batch media type.
        public static let protobufBatch = "application/cloudevents-batch+protobuf"
    }
}

extension StringProtocol {
    func trimmingASCIIWhitespace() -> SubSequence {
        var start = startIndex
        var end = endIndex
        while start < end, self[start] == " " || self[start] == "\t" { start = index(after: start) }
        while end > start, self[index(before: end)] == " " || self[index(before: end)] == "\t" {
            end = index(before: end)
        }
        return self[start..<end]
    }

    /// ASCII-only lowercasing: media types and header names compare by ASCII case-folding,
    /// never by locale rules.
    func asciiLowercased() -> String {
        String(decoding: utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
    }
}

extension MediaType {
    /// Whether `text` names a JSON media type (`*/json`, `*/*+json`, any case, parameters
    /// ignored), decided on the bytes without parsing or allocating: decoders ask this for
    /// every event. The same answer as `MediaType(text)?.isJSON`.
    public static func isJSON(_ text: String) -> Bool {
        // The usual value, told by one comparison (a few dozen instructions, not a scan).
        if text == commonJSON { return true }
        return UTF8Access.with(text) { utf8 -> Bool in
            // The essence ends at ';'; trailing spaces and tabs before it are ignored.
            var end = 0
            while end < utf8.count, utf8[end] != UInt8(ascii: ";") { end += 1 }
            while end > 0, utf8[end - 1] == 0x20 || utf8[end - 1] == 0x09 { end -= 1 }
            guard utf8[..<end].contains(UInt8(ascii: "/")) else { return false }
            func endsWith(_ suffix: StaticString) -> Bool {
                let count = suffix.utf8CodeUnitCount
                guard end >= count else { return false }
                for offset in 0..<count where utf8[end - count + offset] | 0x20 != suffix.utf8Start[offset] {
                    return false
                }
                return true
            }
            return endsWith("/json") || endsWith("+json")
        }
    }
}

extension MediaType {
    /// Whether `text` has the syntax of a media type: `type/subtype` made of RFC 7230 token
    /// characters, optionally followed by `;` and printable parameters. Checked on the
    /// bytes without allocating, for validation on every encode and decode.
    static func isWellFormed(_ text: String) -> Bool {
        if text == commonJSON { return true }
        return UTF8Access.with(text) { utf8 -> Bool in
            var index = 0
            func token() -> Bool {
                let start = index
                while index < utf8.count, ByteScan.isTokenCharacter(utf8[index]) { index += 1 }
                return index > start
            }
            guard token(), index < utf8.count, utf8[index] == UInt8(ascii: "/") else { return false }
            index += 1
            guard token() else { return false }
            while index < utf8.count, utf8[index] == 0x20 || utf8[index] == 0x09 { index += 1 }
            guard index < utf8.count else { return true }
            guard utf8[index] == UInt8(ascii: ";") else { return false }
            // Parameters: printable text (their grammar is the application's concern).
            return !utf8[index...].contains { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }
        }
    }
}

extension MediaType {
    /// `application/json`, by far the most common `datacontenttype`: checked for by
    /// equality before any scan.
    static let commonJSON = "application/json"
}
