/// Why an event format could not encode or decode.
///
/// ``description`` is one line naming the position or the attribute and the rule, e.g.
/// `invalid JSON at byte 17: unexpected '}', expected a JSON value` or
/// `event 2 of the batch: attribute 'time' must be an RFC 3339 timestamp, got '2018-04-05'`.
public struct EventFormatError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public enum Reason: Sendable, Hashable {
        /// The bytes are not well-formed in the format's syntax.
        case malformedJSON(JSONSyntaxError)
        /// The bytes are not a well-formed message of the format (non-JSON formats).
        case malformed(String)
        /// The top-level value is not what the format needs (an object, an array).
        case notAnEvent(String)
        /// No `specversion`.
        case missingSpecVersion
        /// A `specversion` this toolkit does not implement.
        case unsupportedSpecVersion(String)
        /// The same attribute (or member) twice in one event.
        case duplicateAttribute(String)
        /// Attributes that break the spec's rules; every one found.
        case invalidEvent(CloudEventValidationError)
        /// Both `data` and `data_base64`.
        case dataAndDataBase64
        /// Data that the format cannot carry as given.
        case invalidData(String)
        /// A batch whose events have different `specversion`s.
        case mixedSpecVersions(first: SpecVersion, other: SpecVersion)
    }

    /// What is wrong.
    public var reason: Reason
    /// The position of the event in a batch, when the error concerns one event of a batch.
    public var batchIndex: Int?
    /// Where in the input the error was found, when the format can say more than the
    /// reason does: for Protobuf, the field path and byte offset of a string that is not
    /// UTF-8 (malformed Protobuf names them in its ``Reason/malformed(_:)`` text).
    public var location: String?

    /// An error for `reason`.
    ///
    /// - Parameters:
    ///   - reason: what is wrong.
    ///   - batchIndex: the event's position, when it concerns one event of a batch.
    ///   - location: where in the input, when the format can say.
    public init(_ reason: Reason, batchIndex: Int? = nil, location: String? = nil) {
        self.reason = reason
        self.batchIndex = batchIndex
        self.location = location
    }

    init(_ violation: Violation) {
        self.init(.invalidEvent(CloudEventValidationError(violations: [violation])))
    }

    /// The violations, when the error is about attribute values.
    public var violations: [Violation] {
        if case .invalidEvent(let error) = reason { return error.violations }
        return []
    }

    /// One line naming the position or the attribute and the rule, with the batch index
    /// and the location when known.
    public var description: String {
        let what: String
        switch reason {
        case .malformedJSON(let error): what = error.description
        case .malformed(let message): what = message
        case .notAnEvent(let message): what = message
        case .missingSpecVersion: what = "attribute 'specversion' is required but missing"
        case .unsupportedSpecVersion(let value):
            what = "attribute 'specversion' has unsupported value '\(value)' (supported: 1.0, 0.3)"
        case .duplicateAttribute(let name): what = "attribute '\(name)' appears more than once"
        case .invalidEvent(let error): what = error.description
        case .dataAndDataBase64: what = "'data' and 'data_base64' must not both be present"
        case .invalidData(let message): what = message
        case .mixedSpecVersions(let first, let other):
            what = "specversion \(other) differs from the batch's first event (\(first)); a batch must share one specversion"
        }
        let located = location.map { "\(what) (\($0))" } ?? what
        if let batchIndex { return "event \(batchIndex) of the batch: \(located)" }
        return located
    }
}
