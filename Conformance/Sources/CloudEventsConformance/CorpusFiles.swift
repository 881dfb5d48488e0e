import CloudEvents
public import Foundation

/// Why a corpus file could not be loaded: the file (relative to `Conformance/Cases`) and
/// what is wrong with it. A missing or malformed file is always this error, never an
/// empty list.
public struct CorpusFileError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file, relative to the `Cases` folder, e.g. `valid/manifest.json`.
    public var file: String
    /// What is wrong, e.g. `entry 3 ('bad id'): 'hex' has an odd number of digits`.
    public var reason: String

    /// An error about `file`.
    ///
    /// - Parameters:
    ///   - file: the file, relative to the `Cases` folder.
    ///   - reason: what is wrong with it.
    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }

    /// `corpus file '<file>': <reason>`.
    public var description: String { "corpus file '\(file)': \(reason)" }
}

/// Reads the conformance corpus from its data files (`Conformance/Cases`, shipped as this
/// module's resources): the valid events listed by `valid/manifest.json`, and the invalid
/// inputs of `invalid/json.json`, `invalid/protobuf.json`, `invalid/http.json` and
/// `invalid/mqtt5.json`. `Cases/README.md` describes each file's shape.
///
/// ``Corpus/events`` and ``InvalidInputs`` load the bundled files once; use this type to
/// read them with errors instead of a trap, or to read another folder of the same layout.
public struct CorpusFiles: Sendable {
    /// The `Cases` folder.
    public let directory: URL

    /// Files of the folder at `directory`.
    ///
    /// - Parameter directory: a folder laid out as `Conformance/Cases`.
    public init(directory: URL) {
        self.directory = directory
    }

    /// The files shipped with this module.
    ///
    /// - Throws: ``CorpusFileError`` when the module's `Cases` resource is missing.
    public static func bundled() throws(CorpusFileError) -> CorpusFiles {
        guard let url = Bundle.module.url(forResource: "Cases", withExtension: nil) else {
            throw CorpusFileError(file: ".", reason: "the 'Cases' resource is not in the CloudEventsConformance bundle")
        }
        return CorpusFiles(directory: url)
    }

    // MARK: Valid events

    /// The manifest of the valid events, relative to the `Cases` folder.
    public static let manifestPath = "valid/manifest.json"

    /// The valid events, in the manifest's order, each decoded from its JSON file with the
    /// extension types its manifest entry declares.
    ///
    /// - Throws: ``CorpusFileError`` naming the file: a manifest that is missing or not the
    ///   expected JSON, an entry without a file or description, a repeated file or
    ///   description, an unknown type name, a listed file that is missing or is not a valid
    ///   JSON-format event, a `.json` file in `valid/` the manifest does not list, or an
    ///   extension name declared with two different types by two entries.
    public func validCases() throws(CorpusFileError) -> [Corpus.Case] {
        let entries: [ManifestEntry] = try decode(Self.manifestPath)
        var cases: [Corpus.Case] = []
        var files: Set<String> = []
        var descriptions: Set<String> = []
        var union: [String: (type: AttributeType, file: String)] = [:]
        for (index, entry) in entries.enumerated() {
            let what = "entry \(index) ('\(entry.file)')"
            guard !entry.file.isEmpty, !entry.file.contains("/") else {
                throw CorpusFileError(file: Self.manifestPath, reason: "\(what): 'file' must be a file name in valid/")
            }
            guard files.insert(entry.file).inserted else {
                throw CorpusFileError(file: Self.manifestPath, reason: "\(what): the file is listed twice")
            }
            guard !entry.description.isEmpty, descriptions.insert(entry.description).inserted else {
                throw CorpusFileError(
                    file: Self.manifestPath, reason: "\(what): the description is empty or repeats another entry's")
            }
            var types: [String: AttributeType] = [:]
            for (name, typeName) in entry.extensionTypes ?? [:] {
                guard let type = AttributeType(name: typeName) else {
                    throw CorpusFileError(
                        file: Self.manifestPath, reason: "\(what): extension '\(name)' has unknown type '\(typeName)'")
                }
                if let other = union[name], other.type != type {
                    throw CorpusFileError(
                        file: Self.manifestPath,
                        reason:
                            "\(what): extension '\(name)' is declared \(type) here and \(other.type) for '\(other.file)'; a name has one type across the corpus"
                    )
                }
                union[name] = (type, entry.file)
                types[name] = type
            }
            let path = "valid/" + entry.file
            let bytes = try read(path)
            let extensionTypes = ExtensionTypes(types)
            let event: CloudEvent
            do {
                event = try JSONEventFormat(extensionTypes: extensionTypes).decode(bytes)
            } catch {
                throw CorpusFileError(file: path, reason: "not a valid JSON-format event: \(error)")
            }
            cases.append(
                Corpus.Case(name: entry.description, event: event, extensionTypes: extensionTypes, file: entry.file))
        }
        let listed = try directoryContents("valid")
        for file in listed where file.hasSuffix(".json") && file != "manifest.json" && !files.contains(file) {
            throw CorpusFileError(file: "valid/" + file, reason: "not listed in \(Self.manifestPath)")
        }
        return cases
    }

    // MARK: Invalid inputs

    /// The invalid JSON-format inputs (`invalid/json.json`).
    ///
    /// - Throws: ``CorpusFileError`` naming the file when it is missing or malformed.
    public func invalidJSON() throws(CorpusFileError) -> [InvalidInputs.JSONCase] {
        let path = "invalid/json.json"
        let entries: [JSONEntry] = try decode(path)
        try checkNames(entries.map(\.name), errors: entries.map(\.error), in: path)
        return entries.map { InvalidInputs.JSONCase(name: $0.name, input: $0.input, error: $0.error, batch: $0.batch ?? false) }
    }

    /// The invalid Protobuf-format inputs (`invalid/protobuf.json`).
    ///
    /// - Throws: ``CorpusFileError`` naming the file when it is missing or malformed (a
    ///   `hex` that is not pairs of hexadecimal digits included).
    public func invalidProtobuf() throws(CorpusFileError) -> [InvalidInputs.ProtobufCase] {
        let path = "invalid/protobuf.json"
        let entries: [ProtobufEntry] = try decode(path)
        try checkNames(entries.map(\.name), errors: entries.map(\.error), in: path)
        var cases: [InvalidInputs.ProtobufCase] = []
        for entry in entries {
            let bytes = try Self.hexBytes(entry.hex, field: "hex", entry: entry.name, in: path)
            cases.append(
                InvalidInputs.ProtobufCase(name: entry.name, bytes: bytes, error: entry.error, batch: entry.batch ?? false))
        }
        return cases
    }

    /// The invalid HTTP requests (`invalid/http.json`).
    ///
    /// - Throws: ``CorpusFileError`` naming the file when it is missing or malformed (a
    ///   header that is not a `[name, value]` pair, both `body` and `bodyHex`).
    public func invalidHTTP() throws(CorpusFileError) -> [InvalidInputs.HTTPCase] {
        let path = "invalid/http.json"
        let entries: [HTTPEntry] = try decode(path)
        try checkNames(entries.map(\.name), errors: entries.map(\.error), in: path)
        var cases: [InvalidInputs.HTTPCase] = []
        for entry in entries {
            let headers = try Self.pairs(entry.headers, field: "headers", entry: entry.name, in: path)
            let body = try Self.body(
                text: entry.body, hex: entry.bodyHex, names: ("body", "bodyHex"), entry: entry.name, in: path)
            cases.append(InvalidInputs.HTTPCase(name: entry.name, headers: headers, body: body, error: entry.error))
        }
        return cases
    }

    /// The invalid MQTT 5 property sets (`invalid/mqtt5.json`).
    ///
    /// - Throws: ``CorpusFileError`` naming the file when it is missing or malformed (a user
    ///   property that is not a `[name, value]` pair, both `payload` and `payloadHex`).
    public func invalidMQTT5() throws(CorpusFileError) -> [InvalidInputs.MQTT5Case] {
        let path = "invalid/mqtt5.json"
        let entries: [MQTT5Entry] = try decode(path)
        try checkNames(entries.map(\.name), errors: entries.map(\.error), in: path)
        var cases: [InvalidInputs.MQTT5Case] = []
        for entry in entries {
            let properties = try Self.pairs(entry.userProperties, field: "userProperties", entry: entry.name, in: path)
            let payload = try Self.body(
                text: entry.payload, hex: entry.payloadHex, names: ("payload", "payloadHex"), entry: entry.name, in: path)
            cases.append(
                InvalidInputs.MQTT5Case(
                    name: entry.name, contentType: entry.contentType, userProperties: properties, payload: payload,
                    error: entry.error))
        }
        return cases
    }

    /// The invalid AMQP 1.0 messages (`invalid/amqp.json`).
    ///
    /// - Throws: ``CorpusFileError`` naming the file when it is missing or malformed (a
    ///   property that is not `[name, type, value]`, an unknown type, a value of the wrong
    ///   kind for its type, a body section that is not `data`, `dataHex`, `value` or `sequence`).
    public func invalidAMQP() throws(CorpusFileError) -> [InvalidInputs.AMQPCase] {
        let path = "invalid/amqp.json"
        let entries: [AMQPEntry] = try decode(path)
        try checkNames(entries.map(\.name), errors: entries.map(\.error), in: path)
        var cases: [InvalidInputs.AMQPCase] = []
        for entry in entries {
            func fail(_ why: String) -> CorpusFileError { CorpusFileError(file: path, reason: "entry '\(entry.name)': \(why)") }
            var properties: [RawAMQPMapEntry] = []
            for property in entry.properties {
                guard property.count == 3, case .string(let name) = property[0], case .string(let type) = property[1] else {
                    throw fail("each property must be [name, type, value]")
                }
                guard let value = Self.amqpValue(type: type, property[2], entry: entry.name, in: path) else {
                    throw fail("property '\(name)': \(property[2]) is not a value of AMQP type '\(type)'")
                }
                properties.append(RawAMQPMapEntry(.string(name), value))
            }
            var body: [RawAMQPSection] = []
            for section in entry.body {
                switch (section.data, section.dataHex, section.value, section.sequence) {
                case (let text?, nil, nil, nil): body.append(RawAMQPSection(.data, .binary(Array(text.utf8))))
                case (nil, let hex?, nil, nil):
                    body.append(
                        RawAMQPSection(.data, .binary(try Self.hexBytes(hex, field: "dataHex", entry: entry.name, in: path))))
                case (nil, nil, let text?, nil): body.append(RawAMQPSection(.amqpValue, .string(text)))
                case (nil, nil, nil, let items?): body.append(RawAMQPSection(.amqpSequence, .list(items.map { .string($0) })))
                default: throw fail("each body section must have exactly one of data, dataHex, value, sequence")
                }
            }
            cases.append(
                InvalidInputs.AMQPCase(
                    name: entry.name, contentType: entry.contentType, properties: properties, body: body, error: entry.error))
        }
        return cases
    }

    /// A property value of AMQP `type` from its JSON form: strings for string, symbol and
    /// timestamp-free text; numbers for the integer types, double and timestamp (ms);
    /// hexadecimal for binary and uuid; `nil` when the JSON value does not fit the type.
    private static func amqpValue(type: String, _ value: CorpusJSONValue, entry: String, in path: String) -> RawAMQPValue? {
        switch (type, value) {
        case ("string", .string(let text)): .string(text)
        case ("symbol", .string(let text)): .symbol(text)
        case ("boolean", .bool(let flag)): .boolean(flag)
        case ("long", .integer(let number)): .long(number)
        case ("int", .integer(let number)): Int32(exactly: number).map { .int($0) }
        case ("ulong", .integer(let number)): UInt64(exactly: number).map { .ulong($0) }
        case ("timestamp", .integer(let number)): .timestamp(number)
        case ("double", .double(let number)): .double(bitPattern: number.bitPattern)
        case ("double", .integer(let number)): .double(bitPattern: Double(number).bitPattern)
        case ("binary", .string(let hex)): (try? hexBytes(hex, field: type, entry: entry, in: path)).map { .binary($0) }
        case ("uuid", .string(let hex)):
            (try? hexBytes(hex, field: type, entry: entry, in: path)).flatMap { $0.count == 16 ? .uuid($0) : nil }
        case ("null", .null): .null
        default: nil
        }
    }

    // MARK: Reading

    private struct ManifestEntry: Decodable {
        let file: String
        let description: String
        let extensionTypes: [String: String]?
    }

    private struct JSONEntry: Decodable {
        let name: String
        let input: String
        let error: String
        let batch: Bool?
    }

    private struct ProtobufEntry: Decodable {
        let name: String
        let hex: String
        let error: String
        let batch: Bool?
    }

    private struct HTTPEntry: Decodable {
        let name: String
        let headers: [[String]]
        let body: String?
        let bodyHex: String?
        let error: String
    }

    private struct MQTT5Entry: Decodable {
        let name: String
        // Required, so that a forgotten member is an error rather than "no Content Type".
        let contentType: String?
        let userProperties: [[String]]
        let payload: String?
        let payloadHex: String?
        let error: String

        enum CodingKeys: String, CodingKey {
            case name, contentType, userProperties, payload, payloadHex, error
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            guard container.contains(.contentType) else {
                throw DecodingError.keyNotFound(
                    CodingKeys.contentType,
                    DecodingError.Context(
                        codingPath: container.codingPath, debugDescription: "'contentType' is required (null for none)"))
            }
            contentType = try container.decodeIfPresent(String.self, forKey: .contentType)
            userProperties = try container.decode([[String]].self, forKey: .userProperties)
            payload = try container.decodeIfPresent(String.self, forKey: .payload)
            payloadHex = try container.decodeIfPresent(String.self, forKey: .payloadHex)
            error = try container.decode(String.self, forKey: .error)
        }
    }

    private struct AMQPEntry: Decodable {
        let name: String
        // Required, so that a forgotten member is an error rather than "no content-type".
        let contentType: String?
        let properties: [[CorpusJSONValue]]
        let body: [AMQPBodyEntry]
        let error: String

        enum CodingKeys: String, CodingKey {
            case name, contentType, properties, body, error
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            guard container.contains(.contentType) else {
                throw DecodingError.keyNotFound(
                    CodingKeys.contentType,
                    DecodingError.Context(
                        codingPath: container.codingPath, debugDescription: "'contentType' is required (null for none)"))
            }
            contentType = try container.decodeIfPresent(String.self, forKey: .contentType)
            properties = try container.decode([[CorpusJSONValue]].self, forKey: .properties)
            body = try container.decode([AMQPBodyEntry].self, forKey: .body)
            error = try container.decode(String.self, forKey: .error)
        }
    }

    private struct AMQPBodyEntry: Decodable {
        let data: String?
        let dataHex: String?
        let value: String?
        let sequence: [String]?
    }

    private func url(_ path: String) -> URL {
        directory.appendingPathComponent(path, isDirectory: false)
    }

    private func read(_ path: String) throws(CorpusFileError) -> [UInt8] {
        let data: Data
        do {
            data = try Data(contentsOf: url(path))
        } catch {
            throw CorpusFileError(file: path, reason: "cannot be read: \(error.localizedDescription)")
        }
        return Array(data)
    }

    private func directoryContents(_ path: String) throws(CorpusFileError) -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: url(path).path).sorted()
        } catch {
            throw CorpusFileError(file: path, reason: "cannot be listed: \(error.localizedDescription)")
        }
    }

    func decode<T: Decodable>(_ path: String) throws(CorpusFileError) -> [T] {
        let bytes = try read(path)
        let entries: [T]
        do {
            entries = try JSONDecoder().decode([T].self, from: Data(bytes))
        } catch let error as DecodingError {
            throw CorpusFileError(file: path, reason: "not the expected JSON: \(Self.describe(error))")
        } catch {
            throw CorpusFileError(file: path, reason: "not the expected JSON: \(error)")
        }
        guard !entries.isEmpty else { throw CorpusFileError(file: path, reason: "holds no entries") }
        return entries
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context)): member '\(key.stringValue)' is missing"
        case .typeMismatch(let type, let context): return "\(path(context)): expected \(type): \(context.debugDescription)"
        case .valueNotFound(let type, let context): return "\(path(context)): expected \(type), found null"
        case .dataCorrupted(let context): return "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    func checkNames(_ names: [String], errors: [String], in path: String) throws(CorpusFileError) {
        var seen: Set<String> = []
        for (name, error) in zip(names, errors) {
            guard !name.isEmpty, seen.insert(name).inserted else {
                throw CorpusFileError(file: path, reason: "entry '\(name)': the name is empty or repeats another entry's")
            }
            guard !error.isEmpty else {
                throw CorpusFileError(file: path, reason: "entry '\(name)': 'error' must not be empty")
            }
        }
    }

    private static func pairs(
        _ pairs: [[String]], field: String, entry: String, in path: String
    ) throws(CorpusFileError) -> [InvalidInputs.Field] {
        var fields: [InvalidInputs.Field] = []
        for pair in pairs {
            guard pair.count == 2 else {
                throw CorpusFileError(
                    file: path, reason: "entry '\(entry)': each of '\(field)' must be [name, value], got \(pair)")
            }
            fields.append(InvalidInputs.Field(name: pair[0], value: pair[1]))
        }
        return fields
    }

    static func body(
        text: String?, hex: String?, names: (text: String, hex: String), entry: String, in path: String
    ) throws(CorpusFileError) -> [UInt8] {
        switch (text, hex) {
        case (let text?, nil): return Array(text.utf8)
        case (nil, let hex?): return try hexBytes(hex, field: names.hex, entry: entry, in: path)
        case (nil, nil): return []
        case (_?, _?):
            throw CorpusFileError(file: path, reason: "entry '\(entry)': '\(names.text)' and '\(names.hex)' are exclusive")
        }
    }

    /// Pairs of hexadecimal digits; spaces between bytes are allowed.
    static func hexBytes(_ text: String, field: String, entry: String, in path: String) throws(CorpusFileError) -> [UInt8] {
        var bytes: [UInt8] = []
        var high: UInt8?
        for character in text.utf8 {
            if character == UInt8(ascii: " ") {
                guard high == nil else {
                    throw CorpusFileError(file: path, reason: "entry '\(entry)': '\(field)' splits a byte with a space")
                }
                continue
            }
            let digit: UInt8
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = character - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = character - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = character - UInt8(ascii: "A") + 10
            default:
                throw CorpusFileError(
                    file: path, reason: "entry '\(entry)': '\(field)' has a character that is not a hexadecimal digit")
            }
            if let first = high {
                bytes.append(first << 4 | digit)
                high = nil
            } else {
                high = digit
            }
        }
        guard high == nil else {
            throw CorpusFileError(file: path, reason: "entry '\(entry)': '\(field)' has an odd number of digits")
        }
        return bytes
    }
}

/// A JSON scalar of a corpus file, as written (integers kept exact).
enum CorpusJSONValue: Decodable, Sendable, Hashable, CustomStringConvertible {
    case string(String)
    case integer(Int64)
    case double(Double)
    case bool(Bool)
    case null

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let flag = try? container.decode(Bool.self) {
            self = .bool(flag)
        } else if let number = try? container.decode(Int64.self) {
            self = .integer(number)
        } else if let number = try? container.decode(Double.self) {
            self = .double(number)
        } else {
            self = .string(try container.decode(String.self))
        }
    }

    var description: String {
        switch self {
        case .string(let text): "\"\(text)\""
        case .integer(let number): String(number)
        case .double(let number): String(number)
        case .bool(let flag): String(flag)
        case .null: "null"
        }
    }
}
