import CloudEvents
import CloudEventsConformance
import Foundation
import Testing

/// The HTTP cases of `github.com/cloudevents/conformance` (`Conformance/Cases/http/*.yaml`):
/// each must make a valid event that survives the JSON format and both content modes, with
/// its data in the shape the JSON format prescribes (REFERENCE 2.2).
@Suite("Conformance YAML cases")
struct ConformanceYAMLTests {
    static let files = ["v1.yaml", "v03.yaml", "v1_minimum.yaml", "v03_minimum.yaml"]

    static func cases() throws -> [ConformanceCase] {
        try files.flatMap { try ConformanceCase.load(file: $0) }
    }

    @Test func everyFileIsRead() throws {
        let cases = try Self.cases()
        #expect(
            Dictionary(grouping: cases, by: \.file).mapValues(\.count)
                == ["v1.yaml": 2, "v03.yaml": 1, "v1_minimum.yaml": 6, "v03_minimum.yaml": 6])
        // The block-scalar extension of v1.yaml and v03.yaml (see `blockScalarNewline`).
        #expect(cases.filter { $0.extensions.contains { $0.value.hasSuffix("\n") } }.count == 3)
    }

    @Test(arguments: try cases())
    func caseMakesAValidEvent(_ item: ConformanceCase) throws {
        let event = try item.event()
        #expect(event.specVersion == item.expectedSpecVersion)
        #expect(throws: Never.self) { try event.validate() }
    }

    /// `comexampleextension2: |` is a YAML block scalar, which keeps one trailing newline:
    /// the value is `{"othervalue": 5}\n`. U+000A is a control character, which the
    /// CloudEvents String type excludes, so a strict validator must reject it, naming the
    /// attribute and the rule.
    @Test(arguments: try cases().filter { $0.extensions.contains { $0.value.hasSuffix("\n") } })
    func blockScalarNewline(_ item: ConformanceCase) throws {
        let error = try #require(throws: CloudEventValidationError.self) {
            try item.event(strippingBlockNewlines: false).validate()
        }
        try #require(error.violations.count == 1, "\(error)")
        #expect(error.violations[0].attribute == "comexampleextension2")
        guard case .invalidCharacter(scalar: 0x0A, _) = error.violations[0].rule else {
            Issue.record("expected the control-character rule, got \(error.violations[0].rule)")
            return
        }
        #expect(error.description.contains("U+000A"))
    }

    @Test(arguments: try cases())
    func jsonFormatRoundTrip(_ item: ConformanceCase) throws {
        let event = try item.event()
        let decoded = try JSONEventFormat().decode(try JSONEventFormat().encode(event))
        #expect(decoded == event)
        #expect(decoded.specVersion == item.expectedSpecVersion)
    }

    @Test(arguments: try cases())
    func messageRoundTrip(_ item: ConformanceCase) throws {
        let event = try item.event()
        for mode in item.mode.map({ [$0] }) ?? [.binary, .structured] {
            var message = try Message(event, mode: mode)
            // Transport extensions are protocol metadata, never CloudEvents attributes.
            message.metadata = Dictionary(uniqueKeysWithValues: item.transportExtensions.map { ($0.key, $0.value) })
            let back = try message.event()
            for (name, _) in item.transportExtensions { #expect(back[attribute: name] == nil) }
            if mode == .binary {
                let differences = Equivalence.headers.differences(event, back)
                #expect(differences.isEmpty, "\(differences)")
                guard case .binary(_, let body) = message.content else { continue }
                // The body is the data's own bytes: the JSON text (a JSON string with its
                // quotes), or the text as it is.
                #expect(body == item.expectedBinaryBody)
            } else {
                #expect(back == event)
            }
        }
    }

    @Test(arguments: try cases())
    func jsonDataShape(_ item: ConformanceCase) throws {
        let json = try JSONEventFormat().encode(try item.event())
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
        let data = try #require(object["data"])
        #expect(object["data_base64"] == nil)
        let raw = try #require(item.data)
        switch item.dataKind {
        case .text:
            // A non-JSON type (text/plain, application/xml): a JSON string holding the text.
            #expect(data as? String == raw)
        case .json:
            // The JSON value itself, never a string holding encoded JSON: a JSON string
            // stays a string (`"Hello, 🌎!"` keeps its quotes on the wire), an object an object.
            let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            switch trimmed.first {
            case "\""?: #expect(data as? String == String(trimmed.dropFirst().dropLast()))
            case "{"?: #expect(data is [String: Any])
            case "["?: #expect(data is [Any])
            default: Issue.record("unexpected JSON data \(trimmed)")
            }
            #expect(String(decoding: json, as: UTF8.self).hasSuffix(#","data":"# + trimmed + "}"))
        }
    }
}

/// One case of a conformance YAML file.
struct ConformanceCase: Sendable, CustomStringConvertible {
    var file: String
    var index: Int
    var mode: ContentMode?
    var contextAttributes: [(key: String, value: String)]
    var extensions: [(key: String, value: String)]
    var transportExtensions: [(key: String, value: String)]
    var data: String?

    var description: String { "\(file) #\(index + 1)" }

    /// The version the file is named for: `v03*.yaml` cases are CloudEvents 0.3.
    var expectedSpecVersion: SpecVersion { file.hasPrefix("v03") ? .v0_3 : .v1_0 }

    enum DataKind { case json, text }

    struct Invalid: Error, CustomStringConvertible {
        var description: String
    }

    var contentType: String? { contextAttributes.first { $0.key == "datacontenttype" }?.value }

    /// JSON for JSON media types and when `datacontenttype` is absent (the JSON format
    /// implies `application/json`); text otherwise (`text/plain`, `application/xml`).
    var dataKind: DataKind {
        guard let contentType else { return .json }
        return MediaType(contentType)?.isJSON == true ? .json : .text
    }

    var expectedBinaryBody: [UInt8]? {
        guard let data else { return nil }
        return Array((dataKind == .json ? data.trimmingCharacters(in: .whitespacesAndNewlines) : data).utf8)
    }

    /// The case's event. With `strippingBlockNewlines`, an extension written as a `|` block
    /// scalar loses its final newline, as `|-` would write it: the newline is YAML syntax
    /// that the String type cannot hold (see `ConformanceYAMLTests.blockScalarNewline`).
    func event(strippingBlockNewlines: Bool = true) throws -> CloudEvent {
        let specversion = contextAttributes.first { $0.key == "specversion" }?.value ?? "(none)"
        guard let version = SpecVersion(rawValue: specversion) else {
            throw Invalid(description: "\(self): unsupported specversion \(specversion)")
        }
        var event = CloudEvent(id: "", source: "", type: "", specVersion: version)
        for (name, value) in contextAttributes { try event.setAttribute(name, to: .string(value)) }
        for (name, value) in extensions {
            let text = strippingBlockNewlines && value.hasSuffix("\n") ? String(value.dropLast()) : value
            event.extensions[name] = .string(text)
        }
        if let data {
            switch dataKind {
            case .json: event.data = .json(try RawJSON(validating: data))
            case .text: event.data = .text(data)
            }
        }
        return event
    }

    static func load(file: String) throws -> [ConformanceCase] {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Conformance/Cases/http").appendingPathComponent(file)
        let documents = try YAMLSubset.documents(String(contentsOf: url, encoding: .utf8))
        return try documents.enumerated().map { index, document in
            func invalid(_ message: String) -> Invalid { Invalid(description: "\(file) #\(index + 1): \(message)") }
            guard let attributes = document.mapping("ContextAttributes") else { throw invalid("no ContextAttributes") }
            let mode = document.scalar("Mode")
            if let mode, ContentMode(rawValue: mode) == nil { throw invalid("unknown Mode \(mode)") }
            return ConformanceCase(
                file: file, index: index, mode: mode.flatMap(ContentMode.init(rawValue:)),
                contextAttributes: attributes.scalars,
                extensions: attributes.mapping("Extensions")?.scalars ?? [],
                transportExtensions: document.mapping("TransportExtensions")?.scalars ?? [],
                data: document.scalar("Data"))
        }
    }
}

/// The YAML the conformance cases use, and no more: documents separated by `---`, `#`
/// comment lines, maps nested by indentation, `key: value` with plain or double-quoted
/// scalars, and `|` block scalars (`|-` and `|+` chomping too). No flow collections, no
/// sequences, no inline comments.
enum YAMLSubset {
    struct Map {
        var entries: [(key: String, value: Node)] = []

        func node(_ key: String) -> Node? { entries.first { $0.key == key }?.value }
        func scalar(_ key: String) -> String? { node(key)?.scalar }
        func mapping(_ key: String) -> Map? {
            if case .map(let map) = node(key) { return map }
            return nil
        }
        /// The entries that are scalars, in order.
        var scalars: [(key: String, value: String)] {
            entries.compactMap { entry in entry.value.scalar.map { (entry.key, $0) } }
        }
    }

    enum Node {
        case scalar(String)
        case map(Map)

        var scalar: String? {
            if case .scalar(let text) = self { return text }
            return nil
        }
    }

    struct SyntaxError: Error, CustomStringConvertible {
        var line: Int
        var message: String
        var description: String { "line \(line): \(message)" }
    }

    /// The non-empty documents of `text`, each a map.
    static func documents(_ text: String) throws -> [Map] {
        var documents: [[(number: Int, text: Substring)]] = [[]]
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.trimmingCharacters(in: .whitespaces) == "---" {
                documents.append([])
            } else {
                documents[documents.count - 1].append((index + 1, line))
            }
        }
        return try documents.compactMap { lines in
            var parser = Parser(lines: lines)
            let map = try parser.map(indent: 0)
            return map.entries.isEmpty ? nil : map
        }
    }

    private struct Parser {
        let lines: [(number: Int, text: Substring)]
        var index = 0

        init(lines: [(number: Int, text: Substring)]) {
            self.lines = lines
        }

        mutating func map(indent: Int) throws -> Map {
            var map = Map()
            while let line = nextContentLine() {
                let lineIndent = Self.indentation(line.text)
                if lineIndent < indent { break }
                guard lineIndent == indent else { throw SyntaxError(line: line.number, message: "unexpected indentation") }
                index += 1
                guard let colon = line.text.firstIndex(of: ":") else {
                    throw SyntaxError(line: line.number, message: "expected 'key: value'")
                }
                let key = line.text[..<colon].trimmingCharacters(in: .whitespaces)
                let rest = line.text[line.text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                let value: Node
                switch rest {
                case "":
                    let child = nextContentLine().map { Self.indentation($0.text) } ?? indent
                    value = .map(child > indent ? try self.map(indent: child) : Map())
                case "|", "|-", "|+":
                    value = .scalar(blockScalar(parentIndent: indent, chomping: rest.dropFirst().first))
                default:
                    value = .scalar(try Self.unquoted(rest, line: line.number))
                }
                map.entries.append((key, value))
            }
            return map
        }

        /// The next line that is neither blank nor a comment (without consuming it).
        private mutating func nextContentLine() -> (number: Int, text: Substring)? {
            while index < lines.count {
                let trimmed = lines[index].text.trimmingCharacters(in: .whitespaces)
                if !trimmed.isEmpty && !trimmed.hasPrefix("#") { return lines[index] }
                index += 1
            }
            return nil
        }

        /// The lines indented deeper than the key, less the first line's indentation, each
        /// ending in a newline; then chomping: clip (`|`) keeps one final newline, strip
        /// (`|-`) none, keep (`|+`) all.
        private mutating func blockScalar(parentIndent: Int, chomping: Character?) -> String {
            var contentLines: [Substring] = []
            var contentIndent: Int?
            while index < lines.count {
                let text = lines[index].text
                let isBlank = text.allSatisfy { $0 == " " }
                if !isBlank && Self.indentation(text) <= parentIndent { break }
                if !isBlank && contentIndent == nil { contentIndent = Self.indentation(text) }
                contentLines.append(isBlank ? "" : text.dropFirst(contentIndent ?? 0))
                index += 1
            }
            var trailingBlank = 0
            while contentLines.last?.isEmpty == true {
                contentLines.removeLast()
                trailingBlank += 1
            }
            let body = contentLines.joined(separator: "\n")
            switch chomping {
            case "-": return body
            case "+": return body + String(repeating: "\n", count: trailingBlank + 1)
            default: return body.isEmpty ? "" : body + "\n"
            }
        }

        private static func indentation(_ line: Substring) -> Int {
            line.prefix { $0 == " " }.count
        }

        /// A plain scalar as it is; a double-quoted one without its quotes, `\"` and `\\` unescaped.
        private static func unquoted(_ text: String, line: Int) throws -> String {
            guard text.hasPrefix("\"") else { return text }
            guard text.count >= 2, text.hasSuffix("\"") else { throw SyntaxError(line: line, message: "unterminated string") }
            var result = ""
            var escaped = false
            for character in text.dropFirst().dropLast() {
                if escaped || character != "\\" {
                    result.append(character)
                    escaped = false
                } else {
                    escaped = true
                }
            }
            return result
        }
    }
}
