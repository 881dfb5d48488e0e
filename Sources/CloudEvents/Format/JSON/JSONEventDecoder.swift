/// Decodes JSON-format events in two steps: a syntax pass that records where each member's
/// value lies (no allocation for the known attributes), then an interpretation pass that
/// needs `specversion` and `datacontenttype`, which may come anywhere in the object.
struct JSONEventDecoder {
    private var scanner: JSONScanner
    private let extensionTypes: ExtensionTypes

    init(_ bytes: UnsafeRawBufferPointer, extensionTypes: ExtensionTypes = .none) {
        scanner = JSONScanner(bytes)
        self.extensionTypes = extensionTypes
    }

    /// Where the next read starts (so a sequence's elements can be decoded one at a time).
    var position: Int {
        get { scanner.index }
        set { scanner.index = newValue }
    }

    mutating func expectEnd() throws(EventFormatError) {
        scanner.skipWhitespace()
        guard scanner.isAtEnd else {
            throw EventFormatError(.malformedJSON(JSONSyntaxError(.trailingCharacters, at: scanner.index)))
        }
    }

    mutating func decodeBatch() throws(EventFormatError) -> [CloudEvent] {
        var events: [CloudEvent] = []
        // Until the array opens, a syntax error belongs to the batch, not to its first event.
        var opened = false
        do {
            let first = try scanner.peekSignificant("a JSON array of events")
            guard first == UInt8(ascii: "[") else {
                throw EventFormatError(.notAnEvent("a batch must be a JSON array, found \(Self.describe(first))"))
            }
            scanner.index += 1
            opened = true
            if try scanner.peekSignificant("an event or ']'") == UInt8(ascii: "]") {
                scanner.index += 1
                return events
            }
            while true {
                do {
                    events.append(try decodeEvent())
                } catch var error {
                    error.batchIndex = events.count
                    throw error
                }
                let next = try scanner.peekSignificant("',' or ']'")
                scanner.index += 1
                if next == UInt8(ascii: "]") { return events }
                guard next == UInt8(ascii: ",") else {
                    throw JSONSyntaxError(.unexpectedByte(next, expected: "',' or ']'"), at: scanner.index - 1)
                }
            }
        } catch let error as JSONSyntaxError {
            throw EventFormatError(.malformedJSON(error), batchIndex: opened ? events.count : nil)
        } catch let error as EventFormatError {
            throw error
        } catch {
            fatalError("unreachable: \(error)")
        }
    }

    mutating func decodeEvent() throws(EventFormatError) -> CloudEvent {
        let members: Members
        do {
            members = try scanMembers()
        } catch {
            throw EventFormatError(.malformedJSON(error))
        }
        if let duplicate = members.duplicate { throw EventFormatError(.duplicateAttribute(duplicate)) }
        return try interpret(members)
    }

    // MARK: Syntax pass

    /// Where one member's value lies.
    struct ValueToken {
        var kind: JSONScanner.ValueKind
        var start: Int
        var end: Int
        /// Set for strings.
        var string: JSONScanner.StringToken?
        /// Numbers without fraction or exponent.
        var isIntegral: Bool
    }

    /// The members with a meaning to the format (attributes whose meaning may depend on
    /// `specversion`, and the data members).
    enum KnownMember: Int, CaseIterable {
        case specversion, id, source, type, datacontenttype, dataschema, subject, time
        case data, dataBase64, schemaurl, datacontentencoding

        var name: String {
            switch self {
            case .specversion: "specversion"
            case .id: "id"
            case .source: "source"
            case .type: "type"
            case .datacontenttype: "datacontenttype"
            case .dataschema: "dataschema"
            case .subject: "subject"
            case .time: "time"
            case .data: "data"
            case .dataBase64: "data_base64"
            case .schemaurl: "schemaurl"
            case .datacontentencoding: "datacontentencoding"
            }
        }
    }

    struct Members {
        var known = InlineArray<12, ValueToken?>(repeating: nil)
        var extensions: [(name: String, value: ValueToken)] = []
        var duplicate: String?
        /// The extension names seen, once there are many: the duplicate check stays
        /// constant-time for an event with thousands of members (a hostile one), where a
        /// scan of `extensions` would make decoding it quadratic.
        var extensionNames: Set<String>?

        /// Records the extension member `name`; notes it as the duplicate if it was seen.
        mutating func appendExtension(_ name: String, _ value: ValueToken) {
            let seen: Bool
            if extensionNames != nil {
                seen = extensionNames?.insert(name).inserted == false
            } else {
                seen = extensions.contains { $0.name == name }
                if extensions.count + 1 == ExtensionAttributes.indexingThreshold {
                    extensionNames = Set(extensions.map(\.name) + [name])
                }
            }
            if seen { duplicate = duplicate ?? name }
            extensions.append((name, value))
        }

        subscript(member: KnownMember) -> ValueToken? {
            get { known[member.rawValue] }
            set { known[member.rawValue] = newValue }
        }
    }

    private mutating func scanMembers() throws(JSONSyntaxError) -> Members {
        let first = try scanner.peekSignificant("a JSON object")
        guard first == UInt8(ascii: "{") else {
            throw JSONSyntaxError(.unexpectedByte(first, expected: "'{' starting an event object"), at: scanner.index)
        }
        scanner.index += 1
        var members = Members()
        if try scanner.peekSignificant("a member name or '}'") == UInt8(ascii: "}") {
            scanner.index += 1
            return members
        }
        while true {
            let quote = try scanner.peekSignificant("a member name")
            guard quote == UInt8(ascii: "\"") else {
                throw JSONSyntaxError(.unexpectedByte(quote, expected: "a member name"), at: scanner.index)
            }
            let key = try scanner.scanString()
            try scanner.expect(UInt8(ascii: ":"), "':' after a member name")
            let value = try scanValue()
            try record(key: key, value: value, in: &members)

            let next = try scanner.peekSignificant("',' or '}'")
            scanner.index += 1
            if next == UInt8(ascii: "}") { return members }
            guard next == UInt8(ascii: ",") else {
                throw JSONSyntaxError(.unexpectedByte(next, expected: "',' or '}'"), at: scanner.index - 1)
            }
        }
    }

    private mutating func scanValue() throws(JSONSyntaxError) -> ValueToken {
        let first = try scanner.peekSignificant("a JSON value")
        let start = scanner.index
        switch first {
        case UInt8(ascii: "\""):
            let string = try scanner.scanString()
            return ValueToken(kind: .string, start: start, end: scanner.index, string: string, isIntegral: false)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let integral = try scanner.scanNumber()
            return ValueToken(kind: .number, start: start, end: scanner.index, string: nil, isIntegral: integral)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            // An object or array (`data`, most often) through the flat validator; the
            // scanner steps over it only to say why it is invalid.
            if let end = JSONValidator.valueEnd(scanner.bytes, from: start) {
                scanner.index = end
            } else {
                try scanner.skipValue()
            }
            let kind: JSONScanner.ValueKind = first == UInt8(ascii: "{") ? .object : .array
            return ValueToken(kind: kind, start: start, end: scanner.index, string: nil, isIntegral: false)
        default:
            let kind = try scanner.skipValue()
            return ValueToken(kind: kind, start: start, end: scanner.index, string: nil, isIntegral: false)
        }
    }

    private func record(key: JSONScanner.StringToken, value: ValueToken, in members: inout Members) throws(JSONSyntaxError) {
        let known: KnownMember?
        var name: String?
        if key.hasEscapes {
            // A member name written with escapes (`"\u0069d"` is `id`) is the same name.
            let unescaped = try scanner.string(key)
            name = unescaped
            known = KnownMember.allCases.first { $0.name == unescaped }
        } else {
            known = Self.knownMember(UnsafeRawBufferPointer(rebasing: scanner.bytes[key.start..<key.end]))
        }
        if let known {
            if members[known] != nil { members.duplicate = members.duplicate ?? known.name }
            members[known] = value
            return
        }
        let extensionName: String
        if let name { extensionName = name } else { extensionName = try scanner.string(key) }
        members.appendExtension(extensionName, value)
    }

    private static func knownMember(_ key: UnsafeRawBufferPointer) -> KnownMember? {
        // The caller switched on the length, so `literal` has `key.count` bytes: compare
        // whole words (memcmp-style) rather than byte by byte.
        @inline(__always) func equals(_ literal: StaticString) -> Bool {
            guard let base = key.baseAddress else { return false }
            return memcmpEqual(base, UnsafeRawPointer(literal.utf8Start), key.count)
        }
        switch key.count {
        case 2: return equals("id") ? .id : nil
        case 4:
            if equals("type") { return .type }
            if equals("time") { return .time }
            return equals("data") ? .data : nil
        case 6: return equals("source") ? .source : nil
        case 7: return equals("subject") ? .subject : nil
        case 9: return equals("schemaurl") ? .schemaurl : nil
        case 10: return equals("dataschema") ? .dataschema : nil
        case 11:
            if equals("specversion") { return .specversion }
            return equals("data_base64") ? .dataBase64 : nil
        case 15: return equals("datacontenttype") ? .datacontenttype : nil
        case 19: return equals("datacontentencoding") ? .datacontentencoding : nil
        default: return nil
        }
    }

    // MARK: Interpretation pass

    private func interpret(_ members: Members) throws(EventFormatError) -> CloudEvent {
        let specVersion = try self.specVersion(members[.specversion])
        var violations: [Violation] = []

        // Attributes whose name means something else in the other version become extensions.
        var extensions = members.extensions
        switch specVersion {
        case .v1_0:
            if let token = members[.schemaurl] { extensions.append(("schemaurl", token)) }
            if let token = members[.datacontentencoding] { extensions.append(("datacontentencoding", token)) }
        case .v0_3:
            if let token = members[.dataschema] { extensions.append(("dataschema", token)) }
        }

        let id = requiredString(members[.id], "id", &violations)
        let source = requiredString(members[.source], "source", &violations)
        let type = requiredString(members[.type], "type", &violations)
        let dataContentType = optionalString(members[.datacontenttype], "datacontenttype", &violations)
        let schemaMember: KnownMember = specVersion == .v1_0 ? .dataschema : .schemaurl
        let dataSchema = optionalString(members[schemaMember], schemaMember.name, &violations)
        let subject = optionalString(members[.subject], "subject", &violations)
        let time = timestamp(members[.time], &violations)

        var extensionAttributes = ExtensionAttributes()
        extensionAttributes.reserveCapacity(extensions.count)
        let typesRegistered = !extensionTypes.types.isEmpty
        for (name, token) in extensions {
            guard var value = inferredValue(token, name, &violations) else { continue }
            if typesRegistered {
                do { value = try extensionTypes.typed(value, for: name) } catch {
                    violations.append(Violation(attribute: name, rule: error))
                    continue
                }
            }
            extensionAttributes.appendUnchecked(name, value)
        }

        let data = try self.data(members, specVersion: specVersion, dataContentType: dataContentType, &violations)

        // The values move into the event (without `consume` each is retained for it and
        // released here).
        let event = CloudEvent(
            id: id ?? "", source: source ?? "", type: type ?? "", specVersion: specVersion,
            dataContentType: consume dataContentType, dataSchema: consume dataSchema, subject: consume subject,
            time: time, extensions: consume extensionAttributes, data: consume data)
        do {
            // String characters were checked token by token above.
            try event.validate(checkingCharacters: false, addingTo: violations)
        } catch {
            throw EventFormatError(.invalidEvent(error))
        }
        return event
    }

    private func specVersion(_ token: ValueToken?) throws(EventFormatError) -> SpecVersion {
        guard let token, token.kind != .null else { throw EventFormatError(.missingSpecVersion) }
        guard let string = token.string else {
            throw EventFormatError(
                Violation(
                    attribute: "specversion", rule: .invalidJSONType(expected: "a JSON string", found: Self.name(of: token.kind)))
            )
        }
        let raw = UnsafeRawBufferPointer(rebasing: scanner.bytes[string.start..<string.end])
        if raw.count == 3, raw[1] == UInt8(ascii: ".") {
            if raw[0] == UInt8(ascii: "1"), raw[2] == UInt8(ascii: "0") { return .v1_0 }
            if raw[0] == UInt8(ascii: "0"), raw[2] == UInt8(ascii: "3") { return .v0_3 }
        }
        let text = (try? scanner.string(string)) ?? String(decoding: raw, as: UTF8.self)
        throw EventFormatError(.unsupportedSpecVersion(text))
    }

    private func requiredString(_ token: ValueToken?, _ name: String, _ violations: inout [Violation]) -> String? {
        guard let token, token.kind != .null else {
            violations.append(Violation(attribute: name, rule: .missing))
            return nil
        }
        return stringValue(token, name, &violations)
    }

    private func optionalString(_ token: ValueToken?, _ name: String, _ violations: inout [Violation]) -> String? {
        guard let token, token.kind != .null else { return nil }
        return stringValue(token, name, &violations)
    }

    private func stringValue(_ token: ValueToken, _ name: String, _ violations: inout [Violation]) -> String? {
        guard let string = token.string else {
            violations.append(
                Violation(
                    attribute: name, rule: .invalidJSONType(expected: "a JSON string", found: Self.name(of: token.kind))))
            return nil
        }
        return self.string(string, name, &violations)
    }

    /// An attribute's string, checked against the String type's excluded characters unless
    /// the tokenizer saw only printable ASCII (it flags escapes and bytes ≥ 0x7F; JSON has
    /// no raw control characters), which cannot break them.
    private func string(_ token: JSONScanner.StringToken, _ name: String, _ violations: inout [Violation]) -> String? {
        if !token.hasEscapes, let common = Self.commonString(scanner.bytes, token) { return common }
        let text: String
        do {
            text = try scanner.string(token)
        } catch {
            violations.append(Violation(attribute: name, rule: .invalidCharacter(scalar: 0xD800, reason: "lone surrogate")))
            return nil
        }
        if token.hasEscapes || token.hasNonASCII {
            do { try AttributeRules.checkString(text) } catch {
                violations.append(Violation(attribute: name, rule: error))
                return nil
            }
        }
        return text
    }

    /// Common values as string literals, which cost no allocation.
    private static func commonString(_ bytes: UnsafeRawBufferPointer, _ token: JSONScanner.StringToken) -> String? {
        let count = token.end - token.start
        guard count == 16 else { return nil }
        let literal: StaticString = "application/json"
        for index in 0..<16 where bytes[token.start + index] != literal.utf8Start[index] { return nil }
        return "application/json"
    }

    private func timestamp(_ token: ValueToken?, _ violations: inout [Violation]) -> Timestamp? {
        guard let token, token.kind != .null else { return nil }
        guard let string = token.string else {
            violations.append(
                Violation(
                    attribute: "time",
                    rule: .invalidJSONType(expected: "a JSON string (Timestamp)", found: Self.name(of: token.kind))))
            return nil
        }
        do {
            if string.hasEscapes {
                guard let text = self.string(string, "time", &violations) else { return nil }
                return try Timestamp(rfc3339: text)
            }
            return try Timestamp(rfc3339: UnsafeRawBufferPointer(rebasing: scanner.bytes[string.start..<string.end]), text: nil)
        } catch {
            let text = (try? scanner.string(string)) ?? ""
            violations.append(Violation(attribute: "time", rule: .invalidTimestamp(text, error)))
            return nil
        }
    }

    /// JSON type inference for attributes of unknown type: string → String, integral
    /// number in range → Integer, boolean → Boolean, null → absent.
    private func inferredValue(_ token: ValueToken, _ name: String, _ violations: inout [Violation]) -> AttributeValue? {
        switch token.kind {
        case .null:
            return nil
        case .string:
            return string(token.string!, name, &violations).map(AttributeValue.string)
        case .boolean:
            return .boolean(scanner.bytes[token.start] == UInt8(ascii: "t"))
        case .number:
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: scanner.bytes[token.start..<token.end]), as: UTF8.self)
            guard token.isIntegral else {
                violations.append(Violation(attribute: name, rule: .invalidInteger(text)))
                return nil
            }
            do {
                return .integer(try AttributeValue.parseCanonicalInteger(text))
            } catch {
                violations.append(Violation(attribute: name, rule: error))
                return nil
            }
        case .object, .array:
            violations.append(
                Violation(
                    attribute: name,
                    rule: .invalidJSONType(expected: "a string, number or boolean", found: Self.name(of: token.kind))))
            return nil
        }
    }

    private func data(
        _ members: Members, specVersion: SpecVersion, dataContentType: String?, _ violations: inout [Violation]
    ) throws(EventFormatError) -> EventData? {
        let dataToken = members[.data]
        var base64Token = members[.dataBase64]
        if base64Token?.kind == .null { base64Token = nil }
        if dataToken != nil && base64Token != nil { throw EventFormatError(.dataAndDataBase64) }

        if let base64Token {
            guard let string = base64Token.string else {
                throw EventFormatError(
                    .invalidData("'data_base64' must be a JSON string, got a JSON \(Self.name(of: base64Token.kind))"))
            }
            return .binary(try base64Bytes(string, member: "data_base64"))
        }
        guard let dataToken else { return nil }

        if specVersion == .v0_3, let encodingToken = members[.datacontentencoding], encodingToken.kind != .null {
            // 0.3: `datacontentencoding: base64` means `data` is a Base64 string.
            guard let encoding = stringValue(encodingToken, "datacontentencoding", &violations) else { return nil }
            guard encoding.asciiLowercased() == "base64" else {
                violations.append(Violation(attribute: "datacontentencoding", rule: .unsupportedValue(encoding)))
                return nil
            }
            guard let string = dataToken.string else {
                throw EventFormatError(.invalidData("'data' must be a Base64 JSON string when datacontentencoding is base64"))
            }
            return .binary(try base64Bytes(string, member: "data"))
        }

        let raw = Array(UnsafeRawBufferPointer(rebasing: scanner.bytes[dataToken.start..<dataToken.end]))
        if let dataContentType, !MediaType.isJSON(dataContentType), let string = dataToken.string {
            do {
                return .text(try scanner.string(string))
            } catch {
                throw EventFormatError(.invalidData("'data' is a string with an unpaired surrogate escape, which is not text"))
            }
        }
        return .json(RawJSON(unchecked: raw))
    }

    private func base64Bytes(_ string: JSONScanner.StringToken, member: String) throws(EventFormatError) -> [UInt8] {
        let decoded: [UInt8]?
        if string.hasEscapes {
            // `\u002B` is `+`: escapes are resolved before Base64 decoding (sdk-go missed this).
            let unescaped = (try? scanner.unescapedBytes(string)) ?? []
            decoded = unescaped.withUnsafeBytes { Base64.decode($0) }
        } else {
            decoded = Base64.decode(UnsafeRawBufferPointer(rebasing: scanner.bytes[string.start..<string.end]))
        }
        guard let decoded else {
            throw EventFormatError(.invalidData("'\(member)' is not valid Base64 (RFC 4648, standard alphabet, padded)"))
        }
        return decoded
    }

    static func name(of kind: JSONScanner.ValueKind) -> String {
        switch kind {
        case .object: "object"
        case .array: "array"
        case .string: "string"
        case .number: "number"
        case .boolean: "boolean"
        case .null: "null"
        }
    }

    private static func describe(_ byte: UInt8) -> String {
        switch byte {
        case UInt8(ascii: "{"): "an object"
        case UInt8(ascii: "\""): "a string"
        default: "'\(Character(Unicode.Scalar(byte)))'"
        }
    }
}

/// Whether `count` bytes at `left` and `right` are equal, eight at a time.
@inline(__always)
private func memcmpEqual(_ left: UnsafeRawPointer, _ right: UnsafeRawPointer, _ count: Int) -> Bool {
    var offset = 0
    while offset &+ 8 <= count {
        if left.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            != right.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
        {
            return false
        }
        offset &+= 8
    }
    while offset < count {
        if left.load(fromByteOffset: offset, as: UInt8.self) != right.load(fromByteOffset: offset, as: UInt8.self) {
            return false
        }
        offset &+= 1
    }
    return true
}
