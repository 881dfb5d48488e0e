/// The inputs every decoder must refuse, one set per format and per binding's native shape,
/// each with the error it must produce, read from `Conformance/Cases/invalid/` (see
/// ``CorpusFiles``). Each case's `error` is a distinctive part of the decoder's message (the
/// attribute and the rule, the header, the Protobuf field and byte offset): the error's
/// description must contain it.
///
/// The sets load once, on first use; a missing or malformed file stops the program with a
/// ``CorpusFileError`` naming the file (call ``CorpusFiles`` to get the error instead).
public enum InvalidInputs {
    /// A name and a value: an HTTP header or an MQTT 5 User Property.
    public struct Field: Sendable, Hashable {
        /// The header or property name, as it is sent.
        public let name: String
        /// The value, as it is sent.
        public let value: String

        /// A field.
        ///
        /// - Parameters:
        ///   - name: the name, as it is sent.
        ///   - value: the value, as it is sent.
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// Text that the JSON format must refuse.
    public struct JSONCase: Sendable, Hashable, CustomStringConvertible {
        /// What is wrong, in a few words.
        public let name: String
        /// The raw text.
        public let input: String
        /// A part of the error message the decoder must give.
        public let error: String
        /// Whether the input is given to the batch decoder rather than the single-event one.
        public let batch: Bool

        /// The case's name.
        public var description: String { name }
    }

    /// Bytes that the Protobuf format must refuse.
    public struct ProtobufCase: Sendable, Hashable, CustomStringConvertible {
        /// What is wrong, in a few words.
        public let name: String
        /// The raw bytes.
        public let bytes: [UInt8]
        /// A part of the error message the decoder must give.
        public let error: String
        /// Whether the input is given to the batch decoder rather than the single-event one.
        public let batch: Bool

        /// The case's name.
        public var description: String { name }
    }

    /// An HTTP request that the HTTP binding must refuse.
    public struct HTTPCase: Sendable, Hashable, CustomStringConvertible {
        /// What is wrong, in a few words.
        public let name: String
        /// The header fields, in order (repeats included).
        public let headers: [Field]
        /// The body.
        public let body: [UInt8]
        /// A part of the error message the reader must give.
        public let error: String

        /// The case's name.
        public var description: String { name }
    }

    /// An MQTT 5 PUBLISH (Content Type, User Properties, payload) that the MQTT binding must refuse.
    public struct MQTT5Case: Sendable, Hashable, CustomStringConvertible {
        /// What is wrong, in a few words.
        public let name: String
        /// The Content Type property, or `nil` when absent.
        public let contentType: String?
        /// The User Properties, in order (repeats included).
        public let userProperties: [Field]
        /// The payload.
        public let payload: [UInt8]
        /// A part of the error message the reader must give.
        public let error: String

        /// The case's name.
        public var description: String { name }
    }

    /// An AMQP 1.0 message (`properties.content-type`, typed application properties, body
    /// sections) that the AMQP binding must refuse.
    public struct AMQPCase: Sendable, Hashable, CustomStringConvertible {
        /// What is wrong, in a few words.
        public let name: String
        /// `properties.content-type` (written as a symbol), or `nil` when absent.
        public let contentType: String?
        /// The application properties, in order, typed as they travel.
        public let properties: [RawAMQPMapEntry]
        /// The application-data sections, in order (`data`, `amqp-value`, `amqp-sequence`).
        public let body: [RawAMQPSection]
        /// A part of the error message the reader must give.
        public let error: String

        /// The message, as a raw AMQP sender writes it (a durable header, then the sections).
        public var message: RawAMQPMessage {
            var sections = [RawAMQPSection(.header, .list([.boolean(true)]))]
            if let contentType {
                sections.append(RawAMQPSection(.properties, .list(Array(repeating: .null, count: 6) + [.symbol(contentType)])))
            }
            if !properties.isEmpty { sections.append(RawAMQPSection(.applicationProperties, .map(properties))) }
            return RawAMQPMessage(sections: sections + body)
        }

        /// The message's wire bytes (this module's own AMQP encoder, not proton).
        public var bytes: [UInt8] { message.encoded }

        /// The case's name.
        public var description: String { name }
    }

    /// Invalid JSON-format inputs (`invalid/json.json`).
    public static let json: [JSONCase] = Corpus.loadOrStop { () throws(CorpusFileError) in
        try CorpusFiles.bundled().invalidJSON()
    }
    /// Invalid Protobuf-format inputs (`invalid/protobuf.json`).
    public static let protobuf: [ProtobufCase] = Corpus.loadOrStop { () throws(CorpusFileError) in
        try CorpusFiles.bundled().invalidProtobuf()
    }
    /// Invalid HTTP requests (`invalid/http.json`).
    public static let http: [HTTPCase] = Corpus.loadOrStop { () throws(CorpusFileError) in
        try CorpusFiles.bundled().invalidHTTP()
    }
    /// Invalid AMQP 1.0 messages (`invalid/amqp.json`).
    public static let amqp: [AMQPCase] = Corpus.loadOrStop { () throws(CorpusFileError) in
        try CorpusFiles.bundled().invalidAMQP()
    }
    /// Invalid MQTT 5 PUBLISH property sets (`invalid/mqtt5.json`).
    public static let mqtt5: [MQTT5Case] = Corpus.loadOrStop { () throws(CorpusFileError) in
        try CorpusFiles.bundled().invalidMQTT5()
    }
}
