import CloudEvents

extension WireShape {
    /// NATS (REFERENCE §3.4, the binding on main: headers need NATS 2.2). A published message
    /// carries a header block whose first line is plain `NATS/1.0` (no status). Attribute
    /// headers are named `ce-` + the attribute name in lowercase (the spec calls names
    /// case-insensitive, NATS ADR-4 case-preserving: §3.4's note says always write lowercase).
    ///
    /// Binary: **every** attribute, `datacontenttype` included, once as a `ce-<name>` header
    /// whose value is the canonical string percent-encoded exactly as HTTP's (space, `"`, `%`
    /// and everything outside U+0021-U+007E encoded; one strict decoding pass gives the
    /// canonical string); no `Content-Type` header (NATS is the exception to §3.0's rule); the
    /// payload the data bytes. An event without `datacontenttype` whose data is JSON may carry
    /// the implied `application/json`. Structured: `Content-Type` the format's media type, no
    /// `ce-` headers (the spec allows copies; this toolkit writes none), and the payload
    /// decodes with the format to the event sent (for JSON also read with Foundation's parser).
    static func natsViolations(
        _ message: RawNATSMessage, event: CloudEvent, mode: ContentMode, format: (any EventFormat)?
    ) -> [WireShapeViolation] {
        var violations: [WireShapeViolation] = []
        if mode == .batch {
            violations.append(WireShapeViolation(field: "mode", rule: "NATS has no batch mode"))
        }
        guard let headers = message.headers else {
            let rule =
                mode == .binary
                ? "binary mode carries the attributes as headers: the message must have a header block (HPUB)"
                : "structured mode carries Content-Type: the message must have a header block (HPUB)"
            return violations + [WireShapeViolation(field: "header block", rule: "\(rule), it had none (PUB)")]
        }
        if message.statusLine != "NATS/1.0" {
            violations.append(
                WireShapeViolation(
                    field: "header block",
                    rule: "a published message's first line is 'NATS/1.0' (no status), was '\(message.statusLine ?? "")'"))
        }
        for header in headers {
            let lower = header.name.lowercased()
            if lower.hasPrefix("ce-"), header.name != lower {
                violations.append(
                    WireShapeViolation(
                        field: "header '\(header.name)'", rule: "attribute headers are written in lowercase (REFERENCE §3.4)"))
            } else if lower.hasPrefix("ce_") {
                violations.append(
                    WireShapeViolation(
                        field: "header '\(header.name)'",
                        rule: "attribute headers are named 'ce-' + the attribute name (REFERENCE §3.4)"))
            }
        }
        let contentTypes = message.headers(named: "content-type")
        let ceHeaders = headers.filter { $0.name.lowercased().hasPrefix("ce-") }
        switch mode {
        case .binary:
            violations += natsAttributeHeaderViolations(message, event: event)
            for header in contentTypes {
                violations.append(
                    WireShapeViolation(
                        field: "header '\(header.name)'",
                        rule: "must not be sent in binary mode: datacontenttype travels as ce-datacontenttype (REFERENCE §3.4)"))
            }
            let expected = dataBytes(event)
            if message.payload != expected {
                violations.append(
                    WireShapeViolation(
                        field: "payload",
                        rule: "must be the data bytes unchanged (\(expected.count) bytes), was \(message.payload.count) bytes"))
            }
        case .structured, .batch:
            if contentTypes.count > 1 {
                violations.append(WireShapeViolation(field: "Content-Type", rule: "must appear at most once"))
            }
            let contentType = contentTypes.first.map { String(decoding: $0.value, as: UTF8.self) }
            let expected = mode == .batch ? format?.batchMediaType : format?.mediaType
            if let expected, contentType.map(essence) != essence(expected) {
                violations.append(
                    WireShapeViolation(
                        field: "Content-Type",
                        rule: "must be the format's media type '\(expected)', was '\(contentType ?? "absent")'"))
            }
            for header in ceHeaders {
                violations.append(
                    WireShapeViolation(
                        field: "header '\(header.name)'",
                        rule: "no ce- headers in \(mode.rawValue) mode: the payload carries the event"))
            }
            if format?.name == "json" {
                violations += jsonBodyViolations(message.payload, event: event, batch: mode == .batch, field: "payload")
            }
            if mode == .structured, let format {
                violations += natsDecodedPayloadViolations(message.payload, event: event, format: format)
            }
        }
        return violations
    }

    /// Binary mode's `ce-` headers: one per attribute (read ignoring case), each value a valid
    /// percent-encoding of the canonical string; `ce-datacontenttype` carrying
    /// `datacontenttype`; none naming no attribute.
    static func natsAttributeHeaderViolations(_ message: RawNATSMessage, event: CloudEvent) -> [WireShapeViolation] {
        var violations: [WireShapeViolation] = []
        for (name, value) in headerAttributes(event) {
            let matches = message.headers(named: "ce-" + name)
            guard let header = matches.first else {
                violations.append(
                    WireShapeViolation(field: "header 'ce-\(name)'", rule: "missing: attribute '\(name)' must be sent as it"))
                continue
            }
            if matches.count > 1 {
                violations.append(WireShapeViolation(field: "header '\(header.name)'", rule: "must appear once"))
            }
            violations += headerValueViolations(RawHTTPHeader(name: header.name, value: header.value), canonical: value)
        }
        let contentTypeHeaders = message.headers(named: "ce-datacontenttype")
        if contentTypeHeaders.count > 1 {
            violations.append(WireShapeViolation(field: "header 'ce-datacontenttype'", rule: "must appear at most once"))
        }
        var dataContentType: String?
        if let header = contentTypeHeaders.first {
            let field = "header '\(header.name)'"
            if let bad = header.value.first(where: { $0 < 0x21 || $0 > 0x7E || $0 == 0x22 }) {
                violations.append(
                    WireShapeViolation(
                        field: field, rule: "raw byte 0x\(String(bad, radix: 16, uppercase: true)) must be percent-encoded"))
            }
            switch percentDecode(header.value) {
            case .failure(let reason): violations.append(WireShapeViolation(field: field, rule: "percent-encoding: \(reason)"))
            case .success(let decoded): dataContentType = decoded
            }
        }
        if !carriesDataContentType(dataContentType, of: event) {
            violations.append(
                WireShapeViolation(
                    field: "header 'ce-datacontenttype'",
                    rule: "\(dataContentTypeRule(event)), was '\(dataContentType ?? "absent")'"))
        }
        let names = Set(event.attributes.map { "ce-" + $0.name })
        for header in message.headers ?? [] {
            let lower = header.name.lowercased()
            guard lower.hasPrefix("ce-"), !names.contains(lower), lower != "ce-datacontenttype" else { continue }
            violations.append(WireShapeViolation(field: "header '\(header.name)'", rule: "names no attribute of the event sent"))
        }
        return violations
    }

    /// A structured payload decoded with the format itself (not the binding): it must give an
    /// event with the id, source, type and specversion sent.
    static func natsDecodedPayloadViolations(_ payload: [UInt8], event: CloudEvent, format: any EventFormat)
        -> [WireShapeViolation]
    {
        let decoded: CloudEvent
        do {
            decoded = try format.decode(payload)
        } catch {
            return [WireShapeViolation(field: "payload", rule: "must decode with the \(format.name) format: \(error)")]
        }
        var violations: [WireShapeViolation] = []
        for name in ["specversion", "id", "source", "type"] where decoded[attribute: name] != event[attribute: name] {
            violations.append(
                WireShapeViolation(
                    field: "payload",
                    rule:
                        "the decoded event's \(name) must be '\(event[attribute: name]?.canonicalString ?? "")', was '\(decoded[attribute: name]?.canonicalString ?? "absent")'"
                ))
        }
        return violations
    }
}
