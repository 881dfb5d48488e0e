public import CloudEvents

extension WireShape {
    /// The application-property prefix this toolkit's AMQP sender writes by default
    /// (REFERENCE §3.3: the underscore form is RECOMMENDED).
    public static let amqpPrefix = "cloudEvents_"
    /// The other prefix the spec allows; a message must not mix the two.
    public static let amqpColonPrefix = "cloudEvents:"

    /// The AMQP value REFERENCE §3.3's table gives `value`: Boolean → `boolean`, Integer →
    /// `long`, Binary → `binary`, Timestamp → `timestamp` (UTC milliseconds), String, URI and
    /// URI-reference → `string`.
    public static func amqpTypedValue(_ value: AttributeValue) -> RawAMQPValue {
        switch value {
        case .boolean(let flag): .boolean(flag)
        case .integer(let number): .long(Int64(number))
        case .binary(let bytes): .binary(bytes)
        case .string(let text), .uri(let text), .uriReference(let text): .string(text)
        case .timestamp(let time):
            .timestamp(time.secondsSinceEpoch * 1000 + Int64(time.nanosecond / 1_000_000))
        }
    }

    /// Whether the typed AMQP form of `value` would lose part of it (a Timestamp with digits
    /// below the millisecond, or a leap second `:60`): then the sender writes the canonical
    /// string, which §3.3 allows.
    static func amqpTypedFormLoses(_ value: AttributeValue) -> Bool {
        if case .timestamp(let time) = value { return !time.nanosecond.isMultiple(of: 1_000_000) || time.second == 60 }
        return false
    }

    /// AMQP 1.0 (REFERENCE §3.3), read from the raw sections. Binary: each attribute but
    /// `datacontenttype` once as the application property `cloudEvents_<name>`, with the AMQP
    /// type of §3.3's table and the event's value (a Timestamp that milliseconds cannot hold as
    /// its canonical string instead); no `cloudEvents:` key mixed in, no
    /// `cloudEvents_datacontenttype`; `properties.content-type` a symbol carrying
    /// `datacontenttype` (absent without one); the data as exactly one `data` section (none,
    /// or one empty one, without data), never `amqp-value` or `amqp-sequence`. Structured: `content-type` the
    /// format's media type, the encoded event as one `data` section, no attribute properties
    /// (the spec allows copies; this toolkit writes none).
    static func amqpViolations(
        _ message: RawAMQPMessage, event: CloudEvent, mode: ContentMode, format: (any EventFormat)?
    ) -> [WireShapeViolation] {
        var violations = amqpSectionViolations(message)
        let entries = message.applicationProperties
        for entry in entries {
            guard case .string(let key) = entry.key else {
                violations.append(
                    WireShapeViolation(
                        field: "application property key \(entry.key)", rule: "application-properties keys must be strings"))
                continue
            }
            if key.hasPrefix(amqpColonPrefix) {
                violations.append(
                    WireShapeViolation(
                        field: "application property '\(key)'",
                        rule: "the sender writes '\(amqpPrefix)' keys by default; a message must not mix the two prefixes"))
            } else if !key.hasPrefix(amqpPrefix), key.lowercased().hasPrefix("cloudevents") {
                violations.append(
                    WireShapeViolation(
                        field: "application property '\(key)'",
                        rule: "the prefix is '\(amqpPrefix)' exactly (AMQP map keys are case-sensitive)"))
            }
        }
        if let field = message.contentTypeField, case .symbol = field {
        } else if let field = message.contentTypeField {
            violations.append(
                WireShapeViolation(field: "properties.content-type", rule: "must be a symbol, was \(field.typeName)"))
        }
        let data = message.dataSections
        switch mode {
        case .binary:
            violations += amqpPropertyViolations(message, event: event)
            if !carriesDataContentType(message.contentType, of: event) {
                violations.append(
                    WireShapeViolation(
                        field: "properties.content-type",
                        rule: "\(dataContentTypeRule(event)), was '\(message.contentType ?? "absent")'"))
            }
            let expected = dataBytes(event)
            // No data: no body section, or one empty data section without a content-type,
            // which is what a broker that holds AMQP 1.0's "a body is required" (RabbitMQ)
            // delivers for a message sent without one, and what the receiver reads as no data.
            let noData = data.isEmpty || (data == [[]] && message.contentType == nil)
            if event.data == nil ? !noData : data != [expected] {
                let rule =
                    event.data == nil
                    ? "an event without data has no data section (or one empty one without a content-type)"
                    : "must be one data section of the data bytes unchanged (\(expected.count) bytes)"
                violations.append(
                    WireShapeViolation(
                        field: "body", rule: "\(rule), was \(data.count) data section(s) of \(data.map(\.count)) bytes"))
            }
        case .structured, .batch:
            if mode == .batch {
                violations.append(WireShapeViolation(field: "mode", rule: "AMQP has no batch mode"))
            }
            if let expected = format?.mediaType, message.contentType.map(essence) != essence(expected) {
                violations.append(
                    WireShapeViolation(
                        field: "properties.content-type",
                        rule: "must be the format's media type '\(expected)', was '\(message.contentType ?? "absent")'"))
            }
            for entry in entries {
                guard case .string(let key) = entry.key, key.hasPrefix(amqpPrefix) || key.hasPrefix(amqpColonPrefix)
                else { continue }
                violations.append(
                    WireShapeViolation(
                        field: "application property '\(key)'",
                        rule: "no attribute properties in structured mode: the body carries the event"))
            }
            guard data.count == 1 else {
                violations.append(
                    WireShapeViolation(
                        field: "body", rule: "must be one data section of the encoded event, was \(data.count)"))
                return violations
            }
            if format?.name == "json" {
                violations += jsonBodyViolations(data[0], event: event, batch: false, field: "body")
            }
        }
        return violations
    }

    /// The message-level rules: the application data is `data` sections only (REFERENCE §3.3:
    /// the spec does not cover `amqp-value` or `amqp-sequence` bodies), at most one
    /// `application-properties` section, and each section a value of its section's type.
    static func amqpSectionViolations(_ message: RawAMQPMessage) -> [WireShapeViolation] {
        var violations: [WireShapeViolation] = []
        for kind in [RawAMQPSection.Kind.amqpValue, .amqpSequence] where !message.sections(kind).isEmpty {
            violations.append(
                WireShapeViolation(field: "body", rule: "must be a data section, not \(kind): the binding defines no other"))
        }
        let applicationProperties = message.sections(.applicationProperties)
        if applicationProperties.count > 1 {
            violations.append(WireShapeViolation(field: "application-properties", rule: "must appear at most once"))
        }
        for value in applicationProperties {
            if case .map = value { continue }
            violations.append(WireShapeViolation(field: "application-properties", rule: "must be a map, was \(value.typeName)"))
        }
        for value in message.sections(.data) {
            if case .binary = value { continue }
            violations.append(WireShapeViolation(field: "data section", rule: "must be binary, was \(value.typeName)"))
        }
        return violations
    }

    /// Binary mode's application properties: one per attribute but `datacontenttype`, named
    /// with the prefix, typed by §3.3's table, equal to the event's value; no others.
    static func amqpPropertyViolations(_ message: RawAMQPMessage, event: CloudEvent) -> [WireShapeViolation] {
        var violations: [WireShapeViolation] = []
        var expectedNames: Set<String> = []
        for attribute in event.attributes where attribute.name != "datacontenttype" {
            let key = amqpPrefix + attribute.name
            expectedNames.insert(key)
            let field = "application property '\(key)'"
            let values = message.applicationProperties(named: key)
            guard let value = values.first else {
                violations.append(
                    WireShapeViolation(field: field, rule: "missing: attribute '\(attribute.name)' must be sent as it"))
                continue
            }
            if values.count > 1 {
                violations.append(WireShapeViolation(field: field, rule: "must appear once"))
            }
            let typed = amqpTypedValue(attribute.value)
            if value == typed { continue }
            if amqpTypedFormLoses(attribute.value), value == .string(attribute.value.canonicalString) { continue }
            let expected =
                amqpTypedFormLoses(attribute.value)
                ? "\(typed) or, for sub-millisecond digits, string(\"\(attribute.value.canonicalString)\")" : "\(typed)"
            violations.append(
                WireShapeViolation(
                    field: field, rule: "\(attribute.value.type) must be sent as \(expected) (REFERENCE §3.3), was \(value)"))
        }
        for entry in message.applicationProperties {
            guard case .string(let key) = entry.key, key.hasPrefix(amqpPrefix), !expectedNames.contains(key) else { continue }
            let rule =
                key == amqpPrefix + "datacontenttype"
                ? "must not be sent: datacontenttype goes in properties.content-type"
                : "names no attribute of the event sent"
            violations.append(WireShapeViolation(field: "application property '\(key)'", rule: rule))
        }
        return violations
    }

    /// The event id of an AMQP message: its `cloudEvents_id` (or `cloudEvents:id`) string,
    /// else the `id` of a JSON body.
    static func amqpEventID(_ message: RawAMQPMessage) -> String? {
        for key in [amqpPrefix + "id", amqpColonPrefix + "id"] {
            if case .string(let id)? = message.applicationProperties(named: key).first { return id }
        }
        return nil
    }
}
