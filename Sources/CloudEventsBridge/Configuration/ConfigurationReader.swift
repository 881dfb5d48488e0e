import CloudEvents
import Foundation
import Yams

/// What reading a configuration file needs besides its nodes: the file's name for errors, the
/// environment `${NAME}` references resolve in, and the formats endpoints may name.
struct ConfigurationReader {
    let file: String
    let environment: [String: String]
    let formats: EventFormatRegistry

    /// An error at `node`'s position (or none) in `field`.
    func error(_ message: String, at node: Node?, field: String) -> ConfigurationError {
        error(message, at: node?.mark, field: field)
    }

    /// An error at `mark` (or none) in `field`.
    func error(_ message: String, at mark: Mark?, field: String) -> ConfigurationError {
        ConfigurationError(file: file, line: mark?.line, column: mark?.column, field: field, message: message)
    }

    /// `node` as a mapping whose keys are all in `keys`.
    ///
    /// - Throws: ``ConfigurationError`` when `node` is not a mapping, or has a key that is not
    ///   in `keys` (naming the known ones).
    func fields(_ node: Node, field: String, keys: [String]) throws(ConfigurationError) -> ConfigurationFields {
        guard let mapping = node.mapping else {
            throw error("expected a mapping with keys \(Self.list(keys)), got \(Self.kind(of: node))", at: node, field: field)
        }
        var entries: [String: (key: Node, value: Node)] = [:]
        for (key, value) in mapping {
            let name = key.scalar?.string ?? ""
            let path = field.isEmpty ? name : "\(field).\(name)"
            guard keys.contains(name) else {
                let suggestion = Self.closest(to: name, in: keys).map { " (did you mean '\($0)'?)" } ?? ""
                throw error("unknown key '\(name)'\(suggestion); known keys: \(Self.list(keys))", at: key, field: path)
            }
            entries[name] = (key, value)
        }
        return ConfigurationFields(reader: self, field: field, mark: node.mark, entries: entries)
    }

    /// The scalar `node` holds with every `${NAME}` replaced from the environment, and the
    /// values that replaced them (to keep them out of error messages); `nil` for a null.
    ///
    /// - Throws: ``ConfigurationError`` when `node` is a mapping or a list, a variable is not
    ///   set, or a `${` is not closed.
    func scalar(_ node: Node, field: String, expected: String) throws(ConfigurationError) -> Substituted? {
        guard let scalar = node.scalar else {
            throw error("expected \(expected), got \(Self.kind(of: node))", at: node, field: field)
        }
        if scalar.style == .plain, ["", "~", "null", "Null", "NULL"].contains(scalar.string) { return nil }
        return try substitute(scalar.string, at: node, field: field)
    }

    /// `text` with `${NAME}` replaced by the environment's `NAME`; `$${` is a literal `${`.
    private func substitute(_ text: String, at node: Node, field: String) throws(ConfigurationError) -> Substituted {
        var result = Substituted(written: text, value: "", secrets: [])
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            result.value += rest[..<dollar]
            rest = rest[dollar...]
            if rest.hasPrefix("$${") {
                result.value += "${"
                rest = rest.dropFirst(3)
            } else if rest.hasPrefix("${") {
                guard let close = rest.firstIndex(of: "}") else {
                    throw error("'${' is not closed by '}' (write $${ for a literal '${')", at: node, field: field)
                }
                let name = String(rest[rest.index(rest.startIndex, offsetBy: 2)..<close])
                guard Self.isVariableName(name) else {
                    throw error(
                        "'${\(name)}' does not name an environment variable (letters, digits and _, not starting with a digit)",
                        at: node, field: field)
                }
                guard let value = environment[name] else {
                    throw error("environment variable '\(name)' is not set", at: node, field: field)
                }
                result.value += value
                if !value.isEmpty { result.secrets.append((name, value)) }
                rest = rest[rest.index(after: close)...]
            } else {
                result.value += "$"
                rest = rest.dropFirst()
            }
        }
        result.value += rest
        return result
    }

    private static func isVariableName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy {
            $0.isASCII && ($0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0))
        }
    }

    /// `'a', 'b' and 'c'`.
    static func list(_ names: [String]) -> String {
        let quoted = names.map { "'\($0)'" }
        guard quoted.count > 1 else { return quoted.first ?? "(none)" }
        return quoted.dropLast().joined(separator: ", ") + " and " + quoted[quoted.count - 1]
    }

    /// `a`, `a or b`, `a, b or c`.
    static func alternatives(_ names: [String]) -> String {
        guard names.count > 1 else { return names.first ?? "(none)" }
        return names.dropLast().joined(separator: ", ") + " or " + names[names.count - 1]
    }

    /// What a node is, in words, for "expected …, got …".
    static func kind(of node: Node) -> String {
        switch node {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .scalar(let scalar): "'\(scalar.string)'"
        case .alias: "an alias"
        }
    }

    /// The known key nearest to a misspelt one (`max_attempt` → `max_attempts`), if one is
    /// within a third of its length in edits.
    private static func closest(to name: String, in keys: [String]) -> String? {
        let scored = keys.map { ($0, editDistance(Array(name.utf8), Array($0.utf8))) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(1, best.0.utf8.count / 3) else { return nil }
        return best.0
    }

    private static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(Swift.min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}

/// A scalar's text as written and after `${NAME}` substitution.
struct Substituted {
    /// The text as the file writes it (with its `${NAME}` references).
    var written: String
    /// The text with the references replaced.
    var value: String
    /// The variables used and their values, which error messages must not show.
    var secrets: [(name: String, value: String)]

    /// `message` with each substituted value put back as its `${NAME}` reference, longest
    /// value first so that a value containing another is replaced whole.
    func hidingSecrets(in message: String) -> String {
        secrets.sorted { $0.value.count > $1.value.count }.reduce(message) { text, secret in
            text.replacingOccurrences(of: secret.value, with: "${\(secret.name)}")
        }
    }
}

/// A mapping of a configuration file whose keys were checked, with typed readers that throw
/// errors naming the value's line and field.
struct ConfigurationFields {
    let reader: ConfigurationReader
    /// The mapping's own path (`routes[0].retry`), empty at the top.
    let field: String
    /// Where the mapping starts: missing keys are reported there.
    let mark: Mark?
    let entries: [String: (key: Node, value: Node)]

    /// The path of `key` in this mapping.
    func path(_ key: String) -> String {
        field.isEmpty ? key : "\(field).\(key)"
    }

    /// The value node of `key`, if the mapping has it.
    func node(_ key: String) -> Node? {
        entries[key]?.value
    }

    /// An error about `key`'s value.
    func error(_ key: String, _ message: String) -> ConfigurationError {
        reader.error(message, at: node(key) ?? entries[key]?.key, field: path(key))
    }

    /// The error for a required key that is missing, at the mapping's start.
    func missing(_ key: String, _ why: String = "required") -> ConfigurationError {
        reader.error(why, at: mark, field: path(key))
    }

    /// `key`'s substituted scalar, or `nil` when absent or null.
    func substituted(_ key: String, expected: String) throws(ConfigurationError) -> Substituted? {
        guard let node = node(key) else { return nil }
        return try reader.scalar(node, field: path(key), expected: expected)
    }

    /// `key`'s text, `nil` when absent; a null or empty value is an error.
    func string(_ key: String, expected: String = "a string") throws(ConfigurationError) -> String? {
        guard node(key) != nil else { return nil }
        guard let text = try substituted(key, expected: expected)?.value, !text.isEmpty else {
            throw error(key, "expected \(expected), got nothing")
        }
        return text
    }

    /// `key` as a whole number in `range`.
    func integer(_ key: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        let expected =
            range.upperBound == .max
            ? "a whole number ≥ \(range.lowerBound)" : "a whole number from \(range.lowerBound) to \(range.upperBound)"
        guard let text = try string(key, expected: expected) else { return nil }
        guard let number = Int(text), range.contains(number) else { throw error(key, "expected \(expected), got '\(text)'") }
        return number
    }

    /// `key` as a finite number in `range`.
    func number(_ key: String, in range: ClosedRange<Double>, expected: String) throws(ConfigurationError) -> Double? {
        guard let text = try string(key, expected: expected) else { return nil }
        guard let number = Double(text), number.isFinite, range.contains(number) else {
            throw error(key, "expected \(expected), got '\(text)'")
        }
        return number
    }

    /// `key` as `true` or `false`.
    func bool(_ key: String) throws(ConfigurationError) -> Bool? {
        guard let text = try string(key, expected: "true or false") else { return nil }
        switch text {
        case "true": return true
        case "false": return false
        default: throw error(key, "expected true or false, got '\(text)'")
        }
    }

    /// `key` as a duration of at least `minimum` (or more than zero when `positive`).
    func duration(_ key: String, positive: Bool = false) throws(ConfigurationError) -> Duration? {
        let expected = DurationParsing.expected + (positive ? ", more than zero" : "")
        guard let text = try string(key, expected: expected) else { return nil }
        guard let duration = DurationParsing.duration(text), !positive || duration > .zero else {
            throw error(key, "expected \(expected), got '\(text)'")
        }
        return duration
    }

    /// `key` as a byte count of at least 1.
    func bytes(_ key: String) throws(ConfigurationError) -> Int? {
        guard let text = try string(key, expected: ByteSizeParsing.expected) else { return nil }
        guard let bytes = ByteSizeParsing.bytes(text), bytes > 0 else {
            throw error(key, "expected \(ByteSizeParsing.expected), more than zero, got '\(text)'")
        }
        return bytes
    }

    /// `key` as one of `choices`' names.
    func choice<Value>(_ key: String, _ choices: [(name: String, value: Value)]) throws(ConfigurationError) -> Value? {
        let expected = ConfigurationReader.alternatives(choices.map(\.name))
        guard let text = try string(key, expected: expected) else { return nil }
        guard let choice = choices.first(where: { $0.name == text }) else {
            throw error(key, "expected \(expected), got '\(text)'")
        }
        return choice.value
    }

    /// `key` as a list of protocol status codes (100…599).
    func statuses(_ key: String) throws(ConfigurationError) -> Set<Int>? {
        guard let node = node(key) else { return nil }
        let expected = "a list of status codes from 100 to 599, such as [400, 422]"
        guard let sequence = node.sequence else {
            throw error(key, "expected \(expected), got \(ConfigurationReader.kind(of: node))")
        }
        var statuses: Set<Int> = []
        for (index, item) in sequence.enumerated() {
            let field = "\(path(key))[\(index)]"
            let text = try reader.scalar(item, field: field, expected: "a status code")?.value ?? ""
            guard let status = Int(text), (100...599).contains(status) else {
                throw reader.error("expected a status code from 100 to 599, got '\(text)'", at: item, field: field)
            }
            statuses.insert(status)
        }
        return statuses
    }

    /// `key` as an endpoint; `.some(nil)` for an explicit null (`dead_letter: ~`, for none).
    ///
    /// An error message shows the URL as written, its password masked and its `${NAME}`
    /// references unexpanded.
    func endpoint(_ key: String, formats: EventFormatRegistry) throws(ConfigurationError) -> Endpoint?? {
        guard node(key) != nil else { return nil }
        guard let text = try substituted(key, expected: "an endpoint URL") else { return .some(nil) }
        do {
            return .some(try Endpoint(text.value, formats: formats, allowingPortZero: false))
        } catch {
            throw self.error(key, Self.masked(error.message, for: text))
        }
    }

    /// An endpoint error's message with the passwords of `text` (as parsed or not) and the
    /// environment's values hidden: Endpoint masks a well-formed URL's password itself, and a
    /// malformed one may still carry user info.
    static func masked(_ message: String, for text: Substituted) -> String {
        var message = text.hidingSecrets(in: message)
        for candidate in [text.written, text.value] {
            let afterScheme = candidate.range(of: "://").map { candidate[$0.upperBound...] } ?? candidate[...]
            let authority = afterScheme.prefix { $0 != "/" && $0 != "?" }
            guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else { continue }
            let password = String(authority[authority.index(after: colon)..<at])
            if !password.isEmpty, password != "***" {
                message = message.replacingOccurrences(of: password, with: "***")
            }
        }
        return message
    }

    /// `key` as a mapping with `keys`, or `nil` when absent or null.
    func fields(_ key: String, keys: [String]) throws(ConfigurationError) -> ConfigurationFields? {
        guard let node = node(key) else { return nil }
        if case .scalar(let scalar) = node, scalar.style == .plain, ["", "~", "null"].contains(scalar.string) { return nil }
        return try reader.fields(node, field: path(key), keys: keys)
    }
}
