import Foundation

extension InvalidInputs {
    /// A NATS message (a header block or none, and a payload) that the NATS binding must refuse.
    public struct NATSCase: Sendable, Hashable, CustomStringConvertible {
        /// What is wrong, in a few words.
        public let name: String
        /// The header fields in order (repeats included, names as cased here), or `nil` for a
        /// message without a header block (`PUB`, as a NATS 1.0.2-era sender writes it).
        public let headers: [RawNATSHeader]?
        /// The payload.
        public let payload: [UInt8]
        /// A part of the error message the reader must give.
        public let error: String

        /// The message on `subject`, as a raw sender publishes it (`HPUB` with a `NATS/1.0`
        /// block, or `PUB`).
        ///
        /// - Parameter subject: the subject to publish to.
        public func message(subject: String) -> RawNATSMessage {
            RawNATSMessage(subject: subject, headers: headers, payload: payload)
        }

        /// The case's name.
        public var description: String { name }
    }

    /// Invalid NATS messages (`invalid/nats.json`).
    public static let nats: [NATSCase] = Corpus.loadOrStop { () throws(CorpusFileError) in
        try CorpusFiles.bundled().invalidNATS()
    }
}

extension CorpusFiles {
    /// The invalid NATS messages (`invalid/nats.json`).
    ///
    /// - Throws: ``CorpusFileError`` naming the file when it is missing or malformed (a
    ///   header that is neither `[name, value]` nor `{"name": ..., "valueHex": ...}`, both
    ///   `payload` and `payloadHex`, a forgotten `headers` member).
    public func invalidNATS() throws(CorpusFileError) -> [InvalidInputs.NATSCase] {
        let path = "invalid/nats.json"
        let entries: [NATSEntry] = try decode(path)
        try checkNames(entries.map(\.name), errors: entries.map(\.error), in: path)
        var cases: [InvalidInputs.NATSCase] = []
        for entry in entries {
            var headers: [RawNATSHeader]?
            if let fields = entry.headers {
                headers = []
                for field in fields {
                    switch field {
                    case .text(let pair):
                        guard pair.count == 2 else {
                            throw CorpusFileError(
                                file: path, reason: "entry '\(entry.name)': each header must be [name, value], got \(pair)")
                        }
                        headers?.append(RawNATSHeader(pair[0], pair[1]))
                    case .hex(let name, let hex):
                        let value = try Self.hexBytes(hex, field: "valueHex", entry: entry.name, in: path)
                        headers?.append(RawNATSHeader(name: name, value: value))
                    }
                }
            }
            let payload = try Self.body(
                text: entry.payload, hex: entry.payloadHex, names: ("payload", "payloadHex"), entry: entry.name, in: path)
            cases.append(InvalidInputs.NATSCase(name: entry.name, headers: headers, payload: payload, error: entry.error))
        }
        return cases
    }

    private struct NATSEntry: Decodable {
        let name: String
        // Required, so that a forgotten member is an error rather than "no header block".
        let headers: [NATSHeaderEntry]?
        let payload: String?
        let payloadHex: String?
        let error: String

        enum CodingKeys: String, CodingKey {
            case name, headers, payload, payloadHex, error
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            guard container.contains(.headers) else {
                throw DecodingError.keyNotFound(
                    CodingKeys.headers,
                    DecodingError.Context(
                        codingPath: container.codingPath, debugDescription: "'headers' is required (null for no header block)"))
            }
            headers = try container.decodeIfPresent([NATSHeaderEntry].self, forKey: .headers)
            payload = try container.decodeIfPresent(String.self, forKey: .payload)
            payloadHex = try container.decodeIfPresent(String.self, forKey: .payloadHex)
            error = try container.decode(String.self, forKey: .error)
        }
    }

    /// `[name, value]`, or `{"name": ..., "valueHex": ...}` for a value that is not UTF-8.
    private enum NATSHeaderEntry: Decodable {
        case text([String])
        case hex(name: String, valueHex: String)

        private struct HexForm: Decodable {
            let name: String
            let valueHex: String
        }

        init(from decoder: any Decoder) throws {
            if let pair = try? decoder.singleValueContainer().decode([String].self) {
                self = .text(pair)
            } else {
                let form = try HexForm(from: decoder)
                self = .hex(name: form.name, valueHex: form.valueHex)
            }
        }
    }
}
