public import CloudEvents

/// Compares events by the spec's equivalence rules, which are looser than `==` where a
/// format or binding legitimately changes the representation.
public struct Equivalence: Sendable {
    /// Compare timestamps by instant (Protobuf and AMQP carry UTC only).
    public var timestampsByInstant: Bool
    /// Compare extension values by canonical string: header bindings carry no types, so
    /// an Integer `5` comes back as the String `"5"` (spec edge case 13).
    public var extensionsByCanonicalString: Bool
    /// Compare data by bytes, whatever case it is (a binary-mode body becomes text or JSON
    /// depending on `datacontenttype`).
    public var dataByBytes: Bool
    /// Treat a missing `datacontenttype` as `application/json` on either side when that event
    /// has JSON data (binding writers add it explicitly, as the spec says they should; a
    /// structured message keeps it absent).
    public var impliedJSONContentType: Bool

    public init(
        timestampsByInstant: Bool = false, extensionsByCanonicalString: Bool = false,
        dataByBytes: Bool = false, impliedJSONContentType: Bool = false
    ) {
        self.timestampsByInstant = timestampsByInstant
        self.extensionsByCanonicalString = extensionsByCanonicalString
        self.dataByBytes = dataByBytes
        self.impliedJSONContentType = impliedJSONContentType
    }

    /// Exact equality.
    public static let exact = Equivalence()
    /// What a typed format with UTC timestamps (Protobuf) preserves.
    public static let typedUTC = Equivalence(timestampsByInstant: true)
    /// What a header binding (HTTP, MQTT, NATS) preserves.
    public static let headers = Equivalence(
        extensionsByCanonicalString: true, dataByBytes: true, impliedJSONContentType: true)

    /// The differences between `expected` and `actual`, as sentences; empty when equivalent.
    public func differences(_ expected: CloudEvent, _ actual: CloudEvent) -> [String] {
        var differences: [String] = []
        func compare<T: Equatable>(_ name: String, _ left: T, _ right: T) {
            if left != right { differences.append("\(name): expected \(left), got \(right)") }
        }
        compare("specversion", expected.specVersion, actual.specVersion)
        compare("id", expected.id, actual.id)
        compare("source", expected.source, actual.source)
        compare("type", expected.type, actual.type)
        // JSON (non-binary) data without a content type is JSON: whichever side lacks it (a
        // structured message keeps it absent, a binary one writes it out) reads as
        // `application/json` when the rule is on.
        func contentType(of event: CloudEvent) -> String? {
            guard impliedJSONContentType, event.dataContentType == nil, let data = event.data else {
                return event.dataContentType
            }
            if case .binary = data { return nil }
            return "application/json"
        }
        let expectedContentType = contentType(of: expected)
        compare("datacontenttype", expectedContentType, contentType(of: actual))
        compare("dataschema", expected.dataSchema, actual.dataSchema)
        compare("subject", expected.subject, actual.subject)
        compareTime("time", expected.time, actual.time, into: &differences)
        compare("extension names", Set(expected.extensions.names), Set(actual.extensions.names))
        for (name, value) in expected.extensions {
            guard let other = actual.extensions[name] else { continue }
            switch (value, other) {
            case (.timestamp(let left), .timestamp(let right)) where timestampsByInstant:
                compareTime(name, left, right, into: &differences)
            default:
                if extensionsByCanonicalString {
                    compare(name, value.canonicalString, other.canonicalString)
                } else {
                    compare(name, value, other)
                }
            }
        }
        if dataByBytes {
            compare(
                "data", expected.data.map { $0.bodyBytes(contentType: expectedContentType) },
                actual.data.map { $0.bodyBytes(contentType: actual.dataContentType) })
        } else {
            compare("data", expected.data, actual.data)
        }
        return differences
    }

    private func compareTime(_ name: String, _ left: Timestamp?, _ right: Timestamp?, into differences: inout [String]) {
        switch (left, right) {
        case (nil, nil): return
        case (let left?, let right?):
            let same = timestampsByInstant ? left.isSameInstant(as: right) : left == right
            if !same { differences.append("\(name): expected \(left), got \(right)") }
        default:
            differences.append("\(name): expected \(String(describing: left)), got \(String(describing: right))")
        }
    }
}
