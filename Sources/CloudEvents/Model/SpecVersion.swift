/// A CloudEvents specification version that this toolkit can read and write.
///
/// Only major.minor travels on the wire: every 1.0.x release writes `"1.0"`.
/// An event whose `specversion` is anything else has no defined processing rules,
/// so decoders reject it with ``EventFormatError/Reason/unsupportedSpecVersion(_:)``.
public enum SpecVersion: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// CloudEvents 1.0 (1.0, 1.0.1, 1.0.2 and the 1.0.3 work in progress).
    case v1_0 = "1.0"
    /// CloudEvents 0.3: `schemaurl` instead of `dataschema`, and `datacontentencoding`.
    case v0_3 = "0.3"

    /// The version as it travels in `specversion`, e.g. `1.0`.
    public var description: String { rawValue }

    /// The name of the attribute that points at the data's schema in this version.
    public var dataSchemaAttributeName: String {
        switch self {
        case .v1_0: "dataschema"
        case .v0_3: "schemaurl"
        }
    }

    /// The type of the schema attribute: `URI` in 1.0, `URI-reference` in 0.3.
    public var dataSchemaAttributeType: AttributeType {
        switch self {
        case .v1_0: .uri
        case .v0_3: .uriReference
        }
    }

    /// The core (spec-defined) attribute names of this version, `specversion` first.
    public var coreAttributeNames: [String] {
        switch self {
        case .v1_0:
            ["specversion", "id", "source", "type", "datacontenttype", "dataschema", "subject", "time"]
        case .v0_3:
            [
                "specversion", "id", "source", "type", "datacontenttype", "schemaurl", "subject", "time",
                "datacontentencoding"
            ]
        }
    }

    /// Whether `name` is a core attribute of this version (and so cannot be an extension).
    public func isCoreAttribute(_ name: String) -> Bool {
        // By length first: one comparison at most, and most extension names need none.
        switch name.utf8.count {
        case 2: return name == "id"
        case 4: return name == "type" || name == "time"
        case 6: return name == "source"
        case 7: return name == "subject"
        case 9: return self == .v0_3 && name == "schemaurl"
        case 10: return self == .v1_0 && name == "dataschema"
        case 11: return name == "specversion"
        case 15: return name == "datacontenttype"
        case 19: return self == .v0_3 && name == "datacontentencoding"
        default: return false
        }
    }
}
