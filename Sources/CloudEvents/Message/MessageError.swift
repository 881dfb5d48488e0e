/// Why a message could not be read as, or written from, a CloudEvent.
public struct MessageError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public enum Reason: Sendable, Hashable {
        /// A binary-mode message without `specversion`.
        case missingSpecVersion
        /// A `specversion` this toolkit does not implement.
        case unsupportedSpecVersion(String)
        /// The same attribute twice (e.g. `ce-ID` and `ce-id`).
        case duplicateAttribute(String)
        /// Attributes that break the spec's rules; every one found.
        case invalidEvent(CloudEventValidationError)
        /// A structured body that its format could not decode.
        case format(EventFormatError)
        /// A structured or batch media type no registered format handles.
        case unsupportedFormat(String)
        /// A batch was given to something that carries one event at a time.
        case batchNotSupported
        /// One event was asked for, but the message is a batch.
        case isBatch
        /// The native message breaks the binding's rules (names the rule).
        case invalidMessage(String)
        /// A ``MessageReader`` broke its own contract: names the reader type and what it
        /// failed to provide (e.g. a structured mode without structured content).
        case inconsistentReader(String)
    }

    /// What is wrong.
    public var reason: Reason

    /// An error for `reason`.
    ///
    /// - Parameter reason: what is wrong.
    public init(_ reason: Reason) {
        self.reason = reason
    }

    /// The attribute violations, when the error is about attribute values.
    public var violations: [Violation] {
        switch reason {
        case .invalidEvent(let error): error.violations
        case .format(let error): error.violations
        default: []
        }
    }

    /// One line naming what is wrong (the attribute, header or rule).
    public var description: String {
        switch reason {
        case .missingSpecVersion: "attribute 'specversion' is required but missing"
        case .unsupportedSpecVersion(let value): "attribute 'specversion' has unsupported value '\(value)' (supported: 1.0, 0.3)"
        case .duplicateAttribute(let name): "attribute '\(name)' appears more than once"
        case .invalidEvent(let error): error.description
        case .format(let error): error.description
        case .unsupportedFormat(let mediaType): "no event format is registered for media type '\(mediaType)'"
        case .batchNotSupported: "this binding has no batch mode"
        case .isBatch: "the message is a batch; read it with events(formats:)"
        case .invalidMessage(let message): message
        case .inconsistentReader(let message): "inconsistent message reader: \(message)"
        }
    }
}
