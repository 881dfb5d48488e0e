/// The binary-mode mapping between CloudEvents attributes and `ce-` headers that the
/// header-based bindings share: HTTP and NATS. It works on names and values as
/// `String`s and bytes, so it depends on no binding's header type.
///
/// The rules (`REFERENCE.md` §3.1 for HTTP, §3.4 for NATS):
/// - Every attribute, extensions included, is a header named `ce-` + the attribute name,
///   written lowercase. Header names are case-insensitive: `CE-ID` is `id` on receipt.
/// - Values are the canonical string, percent-encoded with
///   ``PercentEncoding/encodeHeaderValue(_:)``; on receipt a quoted-string is unquoted, then
///   exactly one strict percent-decoding pass runs, and bytes that are not UTF-8 are refused
///   with an error naming the header (``decodeValue(_:header:)``), never replaced.
/// - `datacontenttype` is the one attribute whose place differs, set by ``dataContentType``:
///   HTTP carries it in `Content-Type`, as it is, and a `ce-datacontenttype` header MUST NOT
///   be present (§3.1, "Binary mode"); NATS carries it as `ce-datacontenttype`, encoded like
///   every other attribute, and its `Content-Type` header only selects the mode (§3.4).
/// - The same attribute twice (in any case) is refused as
///   ``MessageError/Reason/duplicateAttribute(_:)``.
///
/// Header-based bindings read with ``Reader`` and write with ``headerName(forAttribute:)``
/// and ``headerValue(forAttribute:_:)``; a binding's hand-optimised path calls the same
/// classification (``Header``), value decoding and `datacontenttype` rule (``role(of:)``).
public struct HeaderAttributeCodec: Sendable, Hashable {
    /// Where `datacontenttype` travels in binary mode.
    public enum DataContentTypeMapping: Sendable, Hashable {
        /// In the binding's `Content-Type` header, its value as it is (not percent-encoded);
        /// a `ce-datacontenttype` header is refused (HTTP, `REFERENCE.md` §3.1).
        case contentTypeHeader
        /// In a `ce-datacontenttype` header, percent-encoded like every attribute;
        /// `Content-Type` is not an attribute (NATS, `REFERENCE.md` §3.4).
        case prefixedHeader
    }

    /// Where this binding carries `datacontenttype`.
    public var dataContentType: DataContentTypeMapping

    /// A codec with the given `datacontenttype` rule.
    ///
    /// - Parameter dataContentType: where `datacontenttype` travels.
    public init(dataContentType: DataContentTypeMapping) {
        self.dataContentType = dataContentType
    }

    /// The HTTP binding's rule: `datacontenttype` in `Content-Type`.
    public static let http = HeaderAttributeCodec(dataContentType: .contentTypeHeader)
    /// The NATS binding's rule: `datacontenttype` as `ce-datacontenttype`.
    public static let nats = HeaderAttributeCodec(dataContentType: .prefixedHeader)

    /// The prefix of every attribute header, as written (lowercase).
    public static let prefix = "ce-"

    // MARK: Names

    /// What a header name is to binary mode, found case-insensitively, without building a
    /// `String` for a core attribute's name.
    public enum Header: Sendable, Hashable {
        /// `Content-Type`.
        case contentType
        /// `ce-specversion`.
        case specVersion
        /// `ce-id`.
        case id
        /// `ce-source`.
        case source
        /// `ce-type`.
        case type
        /// `ce-dataschema`.
        case dataSchema
        /// `ce-subject`.
        case subject
        /// `ce-time`.
        case time
        /// `ce-datacontenttype`: refused or an attribute, as ``role(of:)`` says.
        case dataContentType
        /// Any other `ce-` header with at least one character after the prefix: the rest of
        /// the name, lowercased.
        case `extension`(String)
        /// Not CloudEvents metadata (`ce-` alone, `x-id`, ...).
        case other

        /// The header named `name`, in any case.
        ///
        /// - Parameter name: the header name as it arrived.
        public init(name: String) {
            self = UTF8Access.with(name) { utf8 in
                var lowercase = true
                for byte in utf8 where byte >= 0x41 && byte <= 0x5A {
                    lowercase = false
                    break
                }
                if lowercase { return Header(lowercasedUTF8: utf8) }
                var folded = Array(utf8)
                for index in folded.indices where folded[index] >= 0x41 && folded[index] <= 0x5A {
                    folded[index] |= 0x20
                }
                return folded.withUnsafeBufferPointer(Header.init(lowercasedUTF8:))
            }
        }

        /// The header whose name is `name`, already lowercased (as swift-http-types'
        /// `canonicalName` is): the classification both HTTP decoding paths run.
        ///
        /// - Parameter name: the header name's UTF-8, lowercase.
        @inlinable
        package init(lowercasedUTF8 name: UnsafeBufferPointer<UInt8>) {
            @inline(__always)
            func matches(_ literal: StaticString, from start: Int) -> Bool {
                let count = literal.utf8CodeUnitCount
                guard name.count &- start == count else { return false }
                var offset = 0
                while offset < count {
                    if name[start &+ offset] != literal.utf8Start[offset] { return false }
                    offset &+= 1
                }
                return true
            }
            // "ce-" and at least one character.
            guard name.count > 3, name[0] == UInt8(ascii: "c"), name[1] == UInt8(ascii: "e"),
                name[2] == UInt8(ascii: "-")
            else {
                self = matches("content-type", from: 0) ? .contentType : .other
                return
            }
            let core: Header? =
                switch name.count - 3 {
                case 2: matches("id", from: 3) ? .id : nil
                case 4: matches("type", from: 3) ? .type : matches("time", from: 3) ? .time : nil
                case 6: matches("source", from: 3) ? .source : nil
                case 7: matches("subject", from: 3) ? .subject : nil
                case 10: matches("dataschema", from: 3) ? .dataSchema : nil
                case 11: matches("specversion", from: 3) ? .specVersion : nil
                case 15: matches("datacontenttype", from: 3) ? .dataContentType : nil
                default: nil
                }
            self = core ?? .extension(String(decoding: UnsafeBufferPointer(rebasing: name[3...]), as: UTF8.self))
        }

        /// The attribute a `ce-` header names (`datacontenttype` included); `nil` for
        /// `Content-Type` and headers that are not CloudEvents metadata.
        public var attributeName: String? {
            switch self {
            case .contentType, .other: nil
            case .specVersion: "specversion"
            case .id: "id"
            case .source: "source"
            case .type: "type"
            case .dataSchema: "dataschema"
            case .subject: "subject"
            case .time: "time"
            case .dataContentType: "datacontenttype"
            case .extension(let name): name
            }
        }
    }

    /// What a header does in a binary-mode message under a codec's `datacontenttype` rule.
    public enum Role: Sendable, Hashable {
        /// It carries this attribute, its value percent-encoded.
        case attribute(String)
        /// It carries `datacontenttype`, its value as it is (HTTP's `Content-Type`).
        case dataContentType
        /// It must not be present in binary mode (HTTP's `ce-datacontenttype`).
        case forbidden
        /// It is not CloudEvents metadata.
        case other
    }

    /// The role of `header` in a binary-mode message under this codec's rule.
    ///
    /// - Parameter header: the classified header name.
    /// - Returns: what the header carries, or that it is refused or foreign.
    public func role(of header: Header) -> Role {
        switch (header, dataContentType) {
        case (.contentType, .contentTypeHeader): .dataContentType
        case (.contentType, .prefixedHeader), (.other, _): .other
        case (.dataContentType, .contentTypeHeader): .forbidden
        default: header.attributeName.map(Role.attribute) ?? .other
        }
    }

    /// The error for a header that ``role(of:)`` calls ``Role/forbidden``.
    ///
    /// - Parameter name: the header name as it arrived.
    /// - Returns: ``MessageError/Reason/invalidMessage(_:)`` naming the header and the rule.
    public static func forbiddenHeaderError(_ name: String) -> MessageError {
        MessageError(
            .invalidMessage(
                "header '\(name)' must not be present in binary mode: 'datacontenttype' travels as Content-Type"))
    }

    // MARK: Values

    /// The canonical string that a `ce-` header's value carries: quotes removed, one strict
    /// percent-decoding pass, UTF-8 checked.
    ///
    /// - Parameters:
    ///   - value: the value as the binding's header type gives it.
    ///   - header: the header name as it arrived, for the error.
    /// - Returns: the canonical string.
    /// - Throws: ``MessageError`` `.invalidMessage` naming the header for a malformed
    ///   escape or quoted-string, decoded bytes that are not UTF-8, or an unencoded U+FFFD
    ///   (the mark a lenient HTTP parser leaves where bytes were not UTF-8; see
    ///   ``PercentEncoding``).
    public static func decodeValue(_ value: String, header: String) throws(MessageError) -> String {
        do {
            return try PercentEncoding.decodeHeaderValueReportingASCII(value).text
        } catch {
            throw valueError(header: header, error)
        }
    }

    /// ``decodeValue(_:header:)`` for a value that arrives as bytes (NATS headers): bytes
    /// that are not UTF-8 are refused before decoding.
    ///
    /// - Parameters:
    ///   - bytes: the value's bytes as they arrived.
    ///   - header: the header name as it arrived, for the error.
    /// - Returns: the canonical string.
    /// - Throws: ``MessageError`` `.invalidMessage` naming the header, as
    ///   ``decodeValue(_:header:)`` does.
    public static func decodeValue(bytes: some Collection<UInt8>, header: String) throws(MessageError) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw valueError(header: header, .invalidUTF8)
        }
        return try decodeValue(text, header: header)
    }

    /// ``decodeValue(_:header:)`` without the error's text, also telling whether the value
    /// was taken as it is and is printable ASCII (so the String type's character rules need
    /// not look at it again): the HTTP fast path's call, which hands any error on to the
    /// general path. `value` is consumed so that a header's fresh copy is returned as it is.
    ///
    /// - Throws: the ``PercentEncoding/DecodingError`` found.
    @inlinable
    package static func decodeValueReportingASCII(
        _ value: consuming String
    ) throws(PercentEncoding.DecodingError) -> (text: String, isPrintableASCII: Bool) {
        try PercentEncoding.decodeHeaderValueReportingASCII(value)
    }

    /// The value of the header that carries `datacontenttype` as it is (HTTP's
    /// `Content-Type`), checked as ``decodeValue(_:header:)`` checks UTF-8: an unencoded
    /// U+FFFD is refused as bytes that were not UTF-8.
    ///
    /// - Parameters:
    ///   - value: the header's value.
    ///   - header: the header name as it arrived, for the error.
    /// - Returns: `value`.
    /// - Throws: ``MessageError`` `.invalidMessage` naming the header.
    public static func contentTypeValue(_ value: String, header: String) throws(MessageError) -> String {
        if let offset = replacementCharacterOffset(value) {
            throw valueError(header: header, .replacementCharacter(offset: offset))
        }
        return value
    }

    /// The byte offset of the first U+FFFD in `text`, or `nil`.
    package static func replacementCharacterOffset(_ text: String) -> Int? {
        UTF8Access.with(text) { utf8 -> Int? in
            guard utf8.count >= 3 else { return nil }
            for index in 0..<(utf8.count - 2)
            where utf8[index] == 0xEF && utf8[index + 1] == 0xBF && utf8[index + 2] == 0xBD {
                return index
            }
            return nil
        }
    }

    /// The error for a header value that does not decode, naming the header and the
    /// attribute it carries.
    ///
    /// - Parameters:
    ///   - header: the header name as it arrived.
    ///   - error: why the value does not decode.
    /// - Returns: ``MessageError/Reason/invalidMessage(_:)``.
    public static func valueError(header: String, _ error: PercentEncoding.DecodingError) -> MessageError {
        let attribute = Header(name: header).attributeName ?? "datacontenttype"
        return MessageError(.invalidMessage("header '\(header)' (attribute '\(attribute)'): \(error)"))
    }

    /// Whether `attribute` travels in the binding's own content-type header rather than a
    /// `ce-` header (`datacontenttype` under HTTP's rule).
    ///
    /// - Parameter attribute: the attribute name.
    public func travelsAsContentType(_ attribute: String) -> Bool {
        dataContentType == .contentTypeHeader && attribute == "datacontenttype"
    }

    /// The header name for `attribute`: `ce-` + the name, lowercase as attribute names are,
    /// or `content-type` for what ``travelsAsContentType(_:)``.
    ///
    /// - Parameter attribute: the attribute name.
    public func headerName(forAttribute attribute: String) -> String {
        travelsAsContentType(attribute) ? "content-type" : Self.prefix + attribute
    }

    /// The header value for `attribute`: its canonical string, percent-encoded, or as it is
    /// for what ``travelsAsContentType(_:)``.
    ///
    /// - Parameters:
    ///   - attribute: the attribute name.
    ///   - value: the attribute's value.
    public func headerValue(forAttribute attribute: String, _ value: AttributeValue) -> String {
        travelsAsContentType(attribute)
            ? value.canonicalString : PercentEncoding.encodeHeaderValue(value.canonicalString)
    }

    // MARK: Reading a message's headers

    /// Reads the headers of a binary-mode message one at a time, in order, and says which
    /// attribute each carries, refusing duplicates, forbidden headers and values that do
    /// not decode: the general path of every header-based binding.
    public struct Reader: Sendable {
        /// The rule the headers are read by.
        public let codec: HeaderAttributeCodec
        /// The `datacontenttype` read from the content-type header (HTTP's rule), if any.
        public private(set) var contentType: String?
        private var seen: [Header] = []
        private var seenSet: Set<Header> = []

        /// A reader for one message's headers.
        ///
        /// - Parameter codec: the binding's rule.
        public init(codec: HeaderAttributeCodec) {
            self.codec = codec
        }

        /// Reads one header.
        ///
        /// - Parameters:
        ///   - name: the header name as it arrived (any case).
        ///   - value: its value as the binding's header type gives it.
        /// - Returns: the attribute it carries (value decoded to the canonical string);
        ///   `nil` for a header that is not an attribute, or for the content-type header
        ///   under HTTP's rule (then see ``contentType``).
        /// - Throws: ``MessageError``: `.duplicateAttribute` for an attribute seen before
        ///   (in any case), `.invalidMessage` naming the header for a forbidden header or a
        ///   value that does not decode.
        public mutating func read(name: String, value: String) throws(MessageError) -> BinaryAttribute? {
            let header = Header(name: name)
            switch codec.role(of: header) {
            case .other:
                return nil
            case .forbidden:
                throw HeaderAttributeCodec.forbiddenHeaderError(name)
            case .dataContentType:
                try noteFirst(header, attribute: "datacontenttype")
                contentType = try HeaderAttributeCodec.contentTypeValue(value, header: name)
                return nil
            case .attribute(let attribute):
                try noteFirst(header, attribute: attribute)
                return BinaryAttribute(
                    name: attribute, value: .string(try HeaderAttributeCodec.decodeValue(value, header: name)))
            }
        }

        /// ``read(name:value:)`` for a value that arrives as bytes (NATS headers).
        ///
        /// - Throws: as ``read(name:value:)``, and for bytes that are not UTF-8.
        public mutating func read(name: String, bytes: some Collection<UInt8>) throws(MessageError) -> BinaryAttribute? {
            guard let text = String(validating: bytes, as: UTF8.self) else {
                guard codec.role(of: Header(name: name)) == .other else {
                    throw HeaderAttributeCodec.valueError(header: name, .invalidUTF8)
                }
                return nil
            }
            return try read(name: name, value: text)
        }

        /// Records `header`, refusing a second one: a short head is searched, a long one
        /// goes through a set.
        private mutating func noteFirst(_ header: Header, attribute: String) throws(MessageError) {
            if seen.count < 32 {
                guard !seen.contains(header) else { throw MessageError(.duplicateAttribute(attribute)) }
                if seen.isEmpty { seen.reserveCapacity(12) }
                seen.append(header)
                if seen.count == 32 { seenSet = Set(seen) }
            } else {
                guard seenSet.insert(header).inserted else { throw MessageError(.duplicateAttribute(attribute)) }
            }
        }
    }
}
