/// One section of an AMQP 1.0 message (part 3 §3.2): a described value whose descriptor
/// names the section.
public struct RawAMQPSection: Sendable, Hashable {
    /// The sections of the default message format, by descriptor code.
    public enum Kind: UInt64, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        case header = 0x70
        case deliveryAnnotations = 0x71
        case messageAnnotations = 0x72
        case properties = 0x73
        case applicationProperties = 0x74
        case data = 0x75
        case amqpSequence = 0x76
        case amqpValue = 0x77
        case footer = 0x78

        /// The section's descriptor symbol, e.g. `amqp:data:binary`.
        public var symbol: String {
            switch self {
            case .header: "amqp:header:list"
            case .deliveryAnnotations: "amqp:delivery-annotations:map"
            case .messageAnnotations: "amqp:message-annotations:map"
            case .properties: "amqp:properties:list"
            case .applicationProperties: "amqp:application-properties:map"
            case .data: "amqp:data:binary"
            case .amqpSequence: "amqp:amqp-sequence:list"
            case .amqpValue: "amqp:amqp-value:*"
            case .footer: "amqp:footer:map"
            }
        }

        /// The section's name as the spec writes it: `data`, `application-properties`, ...
        public var description: String {
            String(symbol.dropFirst(5).prefix { $0 != ":" })
        }
    }

    /// Which section.
    public var kind: Kind
    /// Its value (a list, a map, binary, ...).
    public var value: RawAMQPValue

    /// A section.
    ///
    /// - Parameters:
    ///   - kind: which section.
    ///   - value: its value.
    public init(_ kind: Kind, _ value: RawAMQPValue) {
        self.kind = kind
        self.value = value
    }
}

/// An AMQP 1.0 message as it was on the wire: its sections in order, read by this module's
/// own decoder (not proton, which joins several `data` sections into one body and so
/// cannot say how many there were).
public struct RawAMQPMessage: Sendable, Hashable {
    /// The sections, in wire order.
    public var sections: [RawAMQPSection]

    /// A message of `sections`.
    ///
    /// - Parameter sections: the sections, in order.
    public init(sections: [RawAMQPSection]) {
        self.sections = sections
    }

    /// Parses the bytes of a delivery (a whole message, sections back to back).
    ///
    /// - Throws: ``RawAMQPDecodingError`` when a value cannot be read or a top-level value
    ///   is not a described section.
    public init(parsing bytes: [UInt8]) throws(RawAMQPDecodingError) {
        var reader = RawAMQPReader(bytes)
        var sections: [RawAMQPSection] = []
        while !reader.isAtEnd {
            let start = reader.offset
            let value = try reader.value()
            guard case .described(let descriptor, let inner) = value, let code = descriptor.descriptorCode,
                let kind = RawAMQPSection.Kind(rawValue: code)
            else {
                throw RawAMQPDecodingError(offset: start, reason: "\(value) is not a message section")
            }
            sections.append(RawAMQPSection(kind, inner))
        }
        self.sections = sections
    }

    /// The message's wire bytes (each section as a described value, widest encodings).
    public var encoded: [UInt8] {
        var writer = RawAMQPWriter()
        for section in sections { writer.write(.described(descriptor: .ulong(section.kind.rawValue), value: section.value)) }
        return writer.bytes
    }

    /// The values of the sections of `kind`, in order.
    public func sections(_ kind: RawAMQPSection.Kind) -> [RawAMQPValue] {
        sections.filter { $0.kind == kind }.map(\.value)
    }

    /// The `properties` field at `index` (0 `message-id`, 2 `to`, 3 `subject`, 6
    /// `content-type`), `nil` when absent or null.
    public func propertiesField(_ index: Int) -> RawAMQPValue? {
        guard case .list(let fields)? = sections(.properties).first, index < fields.count else { return nil }
        return fields[index] == .null ? nil : fields[index]
    }

    /// `properties.content-type` as it was typed (a `symbol` when well formed).
    public var contentTypeField: RawAMQPValue? { propertiesField(6) }

    /// `properties.content-type`'s text, whether a symbol or (wrongly) a string.
    public var contentType: String? {
        switch contentTypeField {
        case .symbol(let text)?, .string(let text)?: text
        default: nil
        }
    }

    /// The `application-properties` entries in wire order (keys as they were typed).
    public var applicationProperties: [RawAMQPMapEntry] {
        sections(.applicationProperties).flatMap { value -> [RawAMQPMapEntry] in
            if case .map(let entries) = value { return entries }
            return []
        }
    }

    /// The values of the application properties whose key is the string `name`, in order.
    public func applicationProperties(named name: String) -> [RawAMQPValue] {
        applicationProperties.filter { $0.key == .string(name) }.map(\.value)
    }

    /// The bytes of each `data` section, in order (a non-binary value gives no bytes).
    public var dataSections: [[UInt8]] {
        sections(.data).map { value in
            if case .binary(let bytes) = value { return bytes }
            return []
        }
    }

    /// A message of a `properties` section with `content-type` (when given), an
    /// `application-properties` section with `properties` (when any), and `body` sections.
    ///
    /// - Parameters:
    ///   - contentType: `properties.content-type`, written as a symbol (or as given).
    ///   - properties: the application properties, string keys.
    ///   - body: the application-data sections.
    public static func make(
        contentType: RawAMQPValue? = nil, properties: [(String, RawAMQPValue)] = [], body: [RawAMQPSection] = []
    ) -> RawAMQPMessage {
        var sections = [RawAMQPSection(.header, .list([.boolean(true)]))]
        if let contentType {
            sections.append(RawAMQPSection(.properties, .list(Array(repeating: .null, count: 6) + [contentType])))
        }
        if !properties.isEmpty {
            sections.append(RawAMQPSection(.applicationProperties, .map(properties.map { RawAMQPMapEntry(.string($0.0), $0.1) })))
        }
        return RawAMQPMessage(sections: sections + body)
    }
}
