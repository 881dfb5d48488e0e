import CloudEvents
import HTTPTypes

/// The header names of the core attributes other than `datacontenttype` (which travels as
/// `Content-Type`), built once: the same names `HTTPField.Name("ce-" + name)` makes,
/// without concatenating and validating them for every event.
extension HTTPField.Name {
    static let ceSpecVersion = HTTPField.Name("ce-specversion")!
    static let ceID = HTTPField.Name("ce-id")!
    static let ceSource = HTTPField.Name("ce-source")!
    static let ceType = HTTPField.Name("ce-type")!
    static let ceDataSchema = HTTPField.Name("ce-dataschema")!
    static let ceSchemaURL = HTTPField.Name("ce-schemaurl")!
    static let ceSubject = HTTPField.Name("ce-subject")!
    static let ceTime = HTTPField.Name("ce-time")!

    /// The name of the `ce-` header for a core attribute other than `datacontenttype`, or
    /// `nil` for any other name.
    static func ceCoreAttribute(_ name: String) -> HTTPField.Name? {
        switch name {
        case "specversion": .ceSpecVersion
        case "id": .ceID
        case "source": .ceSource
        case "type": .ceType
        case "time": .ceTime
        case "subject": .ceSubject
        case "dataschema": .ceDataSchema
        case "schemaurl": .ceSchemaURL
        default: nil
        }
    }
}

/// The binary-mode header names, and the fields whose value is a constant, built once for
/// the encoder's fast path: swift-http-types validates every name and value it is given
/// (and offers no unchecked initialiser), so what does not change is not rebuilt.
struct BinaryModeFields: Sendable {
    let id = HTTPField.Name.ceID
    let source = HTTPField.Name.ceSource
    let type = HTTPField.Name.ceType
    let dataSchema = HTTPField.Name.ceDataSchema
    let schemaURL = HTTPField.Name.ceSchemaURL
    let subject = HTTPField.Name.ceSubject
    let time = HTTPField.Name.ceTime
    let specVersion1_0 = HTTPField(name: .ceSpecVersion, value: SpecVersion.v1_0.rawValue)
    let specVersion0_3 = HTTPField(name: .ceSpecVersion, value: SpecVersion.v0_3.rawValue)
    /// `Content-Type: application/json`, the usual content type, which binary mode also
    /// sends for JSON data without `datacontenttype`.
    let contentTypeJSON = HTTPField(name: .contentType, value: BinaryModeFields.json)
    /// The names of the extensions the CloudEvents documented extensions define that
    /// events commonly carry (distributed tracing, partitioning, sequence, ...).
    private let traceparent = HTTPField.Name("ce-traceparent")!
    private let tracestate = HTTPField.Name("ce-tracestate")!
    private let partitionkey = HTTPField.Name("ce-partitionkey")!
    private let sequence = HTTPField.Name("ce-sequence")!
    private let dataref = HTTPField.Name("ce-dataref")!

    static let json = "application/json"
    static let shared = BinaryModeFields()

    /// The header name of a common extension, or `nil` (then `ce-` + name is built and validated).
    func extensionName(_ name: String) -> HTTPField.Name? {
        // Short names are small strings: each comparison is of two words, without a call.
        switch name {
        case "traceparent": traceparent
        case "tracestate": tracestate
        case "partitionkey": partitionkey
        case "sequence": sequence
        case "dataref": dataref
        default: nil
        }
    }
}
