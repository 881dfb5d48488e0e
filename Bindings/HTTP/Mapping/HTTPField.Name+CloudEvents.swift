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
