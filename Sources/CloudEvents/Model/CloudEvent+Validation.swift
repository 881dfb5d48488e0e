extension CloudEvent {
    /// Checks every CloudEvents rule for this event's ``specVersion`` and reports every
    /// violation, each naming the attribute and the rule.
    ///
    /// Checked: required attributes non-empty; `source` a URI-reference; `dataschema` an
    /// absolute URI (1.0) or a URI-reference (`schemaurl`, 0.3); `subject` non-empty;
    /// `datacontenttype` a media type; the String type's excluded characters in every String;
    /// extension names `[a-z0-9]+`, not `data`, not a core attribute's name.
    ///
    /// - Throws: ``CloudEventValidationError`` listing every violation.
    public func validate() throws(CloudEventValidationError) {
        try validate(checkingCharacters: true)
    }

    /// Validation for codecs that check the String type's characters themselves, in a scan
    /// they make anyway (the JSON decoder's tokenizer, the JSON encoder's escape scan, the
    /// HTTP binding's percent-encoding scan).
    package func validate(checkingCharacters: Bool) throws(CloudEventValidationError) {
        var violations: [Violation] = []
        func check(_ name: String, _ rule: () throws(AttributeRule) -> Void) {
            do { try rule() } catch { violations.append(Violation(attribute: name, rule: error)) }
        }
        func checkRequiredString(_ name: String, _ value: String) {
            check(name) { () throws(AttributeRule) in
                if value.isEmpty { throw .empty }
                if checkingCharacters { try AttributeRules.checkString(value) }
            }
        }

        checkRequiredString("id", id)
        check("source") { () throws(AttributeRule) in
            if source.isEmpty { throw .empty }
            try AttributeRules.checkURIReference(source)
        }
        checkRequiredString("type", type)
        if let dataContentType {
            check("datacontenttype") { () throws(AttributeRule) in
                if checkingCharacters { try AttributeRules.checkString(dataContentType) }
                if !MediaType.isWellFormed(dataContentType) { throw .unsupportedValue(dataContentType) }
            }
        }
        if let dataSchema {
            check(specVersion.dataSchemaAttributeName) { () throws(AttributeRule) in
                if specVersion == .v1_0 {
                    if dataSchema.isEmpty { throw .empty }
                    try AttributeRules.checkURI(dataSchema)
                } else {
                    try AttributeRules.checkURIReference(dataSchema)
                }
            }
        }
        if let subject { checkRequiredString("subject", subject) }

        for (name, value) in extensions {
            guard AttributeRules.isValidName(name) else {
                violations.append(Violation(attribute: name, rule: .invalidName))
                continue
            }
            if name == "data" || specVersion.isCoreAttribute(name) {
                violations.append(Violation(attribute: name, rule: .reservedName))
                continue
            }
            if case .string(let text) = value {
                if checkingCharacters { check(name) { () throws(AttributeRule) in try AttributeRules.checkString(text) } }
            } else {
                check(name) { () throws(AttributeRule) in try Self.checkValue(value) }
            }
        }

        if !violations.isEmpty { throw CloudEventValidationError(violations: violations) }
    }

    /// Validates an event a decoder has just built, together with the violations it found
    /// while building (an attribute that failed there was left empty or absent, so it is
    /// reported once, with the decoder's reason).
    ///
    /// - Throws: ``CloudEventValidationError`` with every violation, decoder's first.
    public func validate(addingTo decodingViolations: [Violation]) throws(CloudEventValidationError) {
        try validate(checkingCharacters: true, addingTo: decodingViolations)
    }

    /// Package-wide: the Protobuf decoder skips the character checks when it saw only
    /// printable ASCII.
    package func validate(checkingCharacters: Bool, addingTo decodingViolations: [Violation]) throws(CloudEventValidationError) {
        var violations = decodingViolations
        do {
            try validate(checkingCharacters: checkingCharacters)
        } catch {
            let reported = Set(decodingViolations.map(\.attribute))
            violations += error.violations.filter { !reported.contains($0.attribute) }
        }
        if !violations.isEmpty { throw CloudEventValidationError(violations: violations) }
    }

    /// Whether ``validate()`` passes.
    public var isValid: Bool {
        do {
            try validate()
            return true
        } catch { return false }
    }

    static func checkValue(_ value: AttributeValue) throws(AttributeRule) {
        switch value {
        case .string(let text): try AttributeRules.checkString(text)
        case .uri(let text): try AttributeRules.checkURI(text)
        case .uriReference(let text): try AttributeRules.checkURIReference(text)
        case .boolean, .integer, .binary, .timestamp: break
        }
    }
}
