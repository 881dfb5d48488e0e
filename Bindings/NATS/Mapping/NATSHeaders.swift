/// The headers of a NATS message (`HPUB`/`HMSG`, NATS 2.2+): the status line's code and
/// description, and the fields in the order they arrived or were added.
///
/// Names are kept as they were written (NATS ADR-4: headers are case-preserving); lookups
/// here are case-insensitive, as the CloudEvents NATS binding says header names are
/// (`REFERENCE.md` §3.4). Values are kept as bytes: a header that is not CloudEvents
/// metadata may carry any bytes but CR and LF, and the mapping refuses a `ce-` value that
/// is not UTF-8 by name rather than replacing it.
public struct NATSHeaders: Sendable, Hashable, RandomAccessCollection {
    /// One `name: value` line.
    public struct Field: Sendable, Hashable {
        /// The name as written.
        public var name: String
        /// The value's bytes, leading and trailing spaces removed.
        public var value: [UInt8]

        /// A field.
        ///
        /// - Parameters:
        ///   - name: the header name.
        ///   - value: its value's bytes.
        public init(name: String, value: [UInt8]) {
            self.name = name
            self.value = value
        }

        /// A field with a text value.
        ///
        /// - Parameters:
        ///   - name: the header name.
        ///   - value: its value.
        public init(name: String, value: String) {
            self.init(name: name, value: Array(value.utf8))
        }

        /// The value as text, or `nil` when its bytes are not UTF-8.
        public var text: String? { String(validating: value, as: UTF8.self) }
    }

    /// The status code of the status line (`NATS/1.0 503` from a server with no responders
    /// for a request), or `nil` for a plain `NATS/1.0`.
    public var status: Int?
    /// The description after the status code, if any (`No Responders`).
    public var statusDescription: String?
    /// The fields, in order.
    public var fields: [Field]
    /// Why a received message's header block could not be read, or `nil` when it was (then
    /// ``fields`` is empty). nats-server forwards a publisher's header block as it came, so a
    /// malformed one is a fault of that message only: it arrives marked, the connection goes
    /// on, and the CloudEvents mapping refuses it naming this reason.
    public var malformation: String?

    /// No fields and no status.
    public init() {
        fields = []
    }

    /// Headers with `fields` and an optional status.
    ///
    /// - Parameters:
    ///   - fields: the fields, in order.
    ///   - status: the status line's code.
    ///   - statusDescription: the status line's description.
    public init(_ fields: [Field], status: Int? = nil, statusDescription: String? = nil) {
        self.fields = fields
        self.status = status
        self.statusDescription = statusDescription
    }

    /// Appends a field.
    ///
    /// - Parameters:
    ///   - name: the header name, written as given.
    ///   - value: its value.
    public mutating func append(name: String, value: String) {
        fields.append(Field(name: name, value: value))
    }

    /// The first value of the field named `name`, compared case-insensitively (ASCII), as
    /// text; `nil` when there is none or its bytes are not UTF-8.
    public subscript(name: String) -> String? {
        fields.first { Self.namesEqual($0.name, name) }?.text
    }

    /// Whether two header names are equal ignoring ASCII case.
    static func namesEqual(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.count == rhs.utf8.count
            && zip(lhs.utf8, rhs.utf8).allSatisfy { a, b in
                a == b || (a | 0x20 == b | 0x20 && (a | 0x20) >= 0x61 && (a | 0x20) <= 0x7A)
            }
    }

    // MARK: RandomAccessCollection

    /// `0`.
    public var startIndex: Int { fields.startIndex }
    /// The number of fields.
    public var endIndex: Int { fields.endIndex }
    /// The field at `position`.
    public subscript(position: Int) -> Field { fields[position] }
}
