/// Builds a ``CloudEvent`` from the attributes and data of a binary-mode message.
///
/// Core attributes get their spec types: a `time` that arrives as a String (as header
/// bindings deliver it) is parsed as a Timestamp. Extensions keep the type the binding
/// gave them: header bindings cannot carry types, so their extensions stay Strings (spec
/// edge case 13). Data is classified by `datacontenttype` with
/// ``EventData/init(bytes:contentType:)``.
public struct CloudEventBuilder: BinaryMessageWriter {
    private var attributes: [BinaryAttribute] = []
    /// The names written, once there are many: the duplicate check stays constant-time for
    /// a message with thousands of attributes (a hostile one), where a scan would make
    /// building it quadratic.
    private var names: Set<String>?
    private var data: [UInt8]?
    private let extensionTypes: ExtensionTypes

    /// - Parameter extensionTypes: extensions to parse from their canonical strings.
    public init(extensionTypes: ExtensionTypes = .none) {
        self.extensionTypes = extensionTypes
    }

    /// Collects one attribute as the binding read it.
    ///
    /// - Parameters:
    ///   - name: the attribute name.
    ///   - value: its value (a String for header bindings).
    /// - Throws: ``MessageError/Reason/duplicateAttribute(_:)`` for a name already written.
    public mutating func writeAttribute(_ name: String, _ value: AttributeValue) throws(MessageError) {
        if names != nil {
            guard names?.insert(name).inserted == true else { throw MessageError(.duplicateAttribute(name)) }
        } else {
            if attributes.contains(where: { $0.name == name }) { throw MessageError(.duplicateAttribute(name)) }
            if attributes.count + 1 == ExtensionAttributes.indexingThreshold {
                names = Set(attributes.map(\.name) + [name])
            }
        }
        attributes.append(BinaryAttribute(name: name, value: value))
    }

    /// Collects the data bytes.
    ///
    /// - Parameter bytes: the body.
    public mutating func writeData(_ bytes: [UInt8]) throws(MessageError) {
        data = bytes
    }

    /// An extension's value converted to its registered type, if it has one.
    private func typed(_ attribute: BinaryAttribute, specVersion: SpecVersion) throws(Violation) -> AttributeValue {
        guard !specVersion.isCoreAttribute(attribute.name) else { return attribute.value }
        do {
            return try extensionTypes.typed(attribute.value, for: attribute.name)
        } catch {
            throw Violation(attribute: attribute.name, rule: error)
        }
    }

    /// The event, validated.
    ///
    /// - Throws: ``MessageError`` for a missing or unsupported `specversion`, or with every
    ///   attribute violation.
    public func build() throws(MessageError) -> CloudEvent {
        guard let specAttribute = attributes.first(where: { $0.name == "specversion" }) else {
            throw MessageError(.missingSpecVersion)
        }
        let specText = specAttribute.value.canonicalString
        guard let specVersion = SpecVersion(rawValue: specText) else {
            throw MessageError(.unsupportedSpecVersion(specText))
        }
        var event = CloudEvent(id: "", source: "", type: "", specVersion: specVersion)
        var violations: [Violation] = []
        var seenID = false
        var seenSource = false
        var seenType = false
        for attribute in attributes where attribute.name != "specversion" {
            do {
                try event.setAttribute(attribute.name, to: try typed(attribute, specVersion: specVersion))
                switch attribute.name {
                case "id": seenID = true
                case "source": seenSource = true
                case "type": seenType = true
                default: break
                }
            } catch {
                violations.append(error)
            }
        }
        func requireSeen(_ seen: Bool, _ name: String) {
            guard !seen, !violations.contains(where: { $0.attribute == name }) else { return }
            violations.append(Violation(attribute: name, rule: .missing))
        }
        requireSeen(seenID, "id")
        requireSeen(seenSource, "source")
        requireSeen(seenType, "type")
        if let data {
            event.data = EventData(bytes: data, contentType: event.dataContentType)
        }
        do {
            try event.validate(addingTo: violations)
        } catch {
            throw MessageError(.invalidEvent(error))
        }
        return event
    }
}
