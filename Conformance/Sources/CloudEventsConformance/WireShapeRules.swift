public import CloudEvents
import Foundation

/// A raw native message, as a raw peer captured it.
public enum RawWireMessage: Sendable, Hashable {
    /// An HTTP request from ``RawHTTPCapture``.
    case http(RawHTTPRequest)
    /// An MQTT PUBLISH from ``RawMQTTSubscriber``.
    case mqtt(RawMQTTPublish)
    /// An AMQP message from a ``RawAMQPReceiving`` receiver, parsed by ``RawAMQPMessage``.
    case amqp(RawAMQPMessage)
    /// A NATS `MSG`/`HMSG` from a ``RawNATSConnection``.
    case nats(RawNATSMessage)
    /// Bytes a raw peer received that are not a message of its protocol, and why.
    case unreadable(reason: String)
}

/// One way a raw message breaks the binding's wire shape: which header, property or part,
/// and the rule (from REFERENCE §3.1 HTTP and §3.2 MQTT).
public struct WireShapeViolation: Sendable, Hashable, CustomStringConvertible {
    /// The part of the message, in the sender's own casing: `header 'ce_id'`,
    /// `user property 'ce-id'`, `Content-Type`, `body`.
    public var field: String
    /// The rule it breaks, and what was there.
    public var rule: String

    /// A violation of `rule` by `field`.
    ///
    /// - Parameters:
    ///   - field: the part of the message.
    ///   - rule: the rule and what was there.
    public init(field: String, rule: String) {
        self.field = field
        self.rule = rule
    }

    /// `field: rule`.
    public var description: String { "\(field): \(rule)" }
}

/// The wire-shape rules of the HTTP, MQTT, AMQP and NATS bindings, checked on raw messages against the
/// event that was sent. Nothing here uses the bindings' decoders: header values go through
/// the strict percent-decoder below, JSON bodies through Foundation's parser.
public enum WireShape {
    /// The violations of `message` as the encoding of `event` in `mode` (and `format`, for
    /// structured and batch).
    ///
    /// - Parameters:
    ///   - message: the raw message.
    ///   - event: the event that was sent.
    ///   - mode: the content mode it was sent in.
    ///   - format: the event format, for structured and batch mode.
    /// - Returns: the violations, empty when the shape is right.
    public static func violations(
        of message: RawWireMessage, event: CloudEvent, mode: ContentMode, format: (any EventFormat)?
    ) -> [WireShapeViolation] {
        switch message {
        case .http(let request): httpViolations(request, event: event, mode: mode, format: format)
        case .mqtt(let publish): mqttViolations(publish, event: event, mode: mode, format: format)
        case .amqp(let amqp): amqpViolations(amqp, event: event, mode: mode, format: format)
        case .nats(let nats): natsViolations(nats, event: event, mode: mode, format: format)
        case .unreadable(let reason): [WireShapeViolation(field: "message", rule: "unreadable: \(reason)")]
        }
    }

    /// The event id a raw message names, read as the rules read it (a `ce-id` header, an
    /// `id` user property, or a JSON body's `id`), to recognise a message that arrived after
    /// its event timed out; `nil` when none can be read.
    public static func eventID(of message: RawWireMessage) -> String? {
        let body: [UInt8]
        switch message {
        case .http(let request):
            if let header = request.headers(named: "ce-id").first, case .success(let id) = percentDecode(header.value) {
                return id
            }
            body = request.body
        case .mqtt(let publish):
            if let id = publish.userProperties.first(where: { $0.name == "id" })?.value { return id }
            body = publish.payload
        case .amqp(let amqp):
            if let id = amqpEventID(amqp) { return id }
            body = amqp.dataSections.first ?? []
        case .nats(let nats):
            if let header = nats.headers(named: "ce-id").first, case .success(let id) = percentDecode(header.value) {
                return id
            }
            body = nats.payload
        case .unreadable:
            return nil
        }
        let parsed = try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])
        let object = (parsed as? [String: Any]) ?? ((parsed as? [Any])?.first as? [String: Any])
        return object?["id"] as? String
    }

    /// The attributes a binary-mode message carries as headers or properties: every one but
    /// `datacontenttype`, with its canonical string.
    static func headerAttributes(_ event: CloudEvent) -> [(name: String, value: String)] {
        event.attributes.filter { $0.name != "datacontenttype" }.map { ($0.name, $0.value.canonicalString) }
    }

    /// The body a binary-mode message carries for `event`'s data.
    static func dataBytes(_ event: CloudEvent) -> [UInt8] {
        event.data?.bodyBytes(contentType: event.dataContentType) ?? []
    }

    /// Whether `contentType` (the native content-type field, `nil` when absent) carries
    /// `event`'s `datacontenttype`: exactly it; or, for an event without one whose data is
    /// JSON (or text, written as a JSON string), absent or the implied `application/json`,
    /// which REFERENCE §1.5 says a re-encoding SHOULD write out.
    static func carriesDataContentType(_ contentType: String?, of event: CloudEvent) -> Bool {
        if let expected = event.dataContentType { return contentType == expected }
        guard let contentType else { return true }
        switch event.data {
        case .json?, .text?: return contentType == "application/json"
        case .binary?, nil: return false
        }
    }

    /// The rule ``carriesDataContentType(_:of:)`` checks, for a violation's text.
    static func dataContentTypeRule(_ event: CloudEvent) -> String {
        event.dataContentType.map { "must be datacontenttype '\($0)' exactly" }
            ?? "the event has no datacontenttype: absent, or application/json implied for JSON data"
    }

    /// A media type's essence (`type/subtype`), lowercased, without parameters.
    static func essence(_ mediaType: String) -> String {
        String(mediaType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
            .trimmingCharacters(in: .whitespaces).lowercased()
    }

    /// A structured body's check, with Foundation's JSON parser: a JSON object (or, for a
    /// batch, an array of one) whose `id` and `specversion` are the event's.
    static func jsonBodyViolations(_ body: [UInt8], event: CloudEvent, batch: Bool, field: String)
        -> [WireShapeViolation]
    {
        let parsed = try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])
        let object: [String: Any]?
        if batch {
            guard let array = parsed as? [Any], array.count == 1 else {
                return [WireShapeViolation(field: field, rule: "a JSON batch must be a JSON array of the one event sent")]
            }
            object = array[0] as? [String: Any]
        } else {
            object = parsed as? [String: Any]
        }
        guard let object else {
            return [WireShapeViolation(field: field, rule: "a structured JSON body must be a JSON object")]
        }
        var violations: [WireShapeViolation] = []
        if object["id"] as? String != event.id {
            violations.append(WireShapeViolation(field: field, rule: "the JSON event's id must be '\(event.id)'"))
        }
        if object["specversion"] as? String != event.specVersion.rawValue {
            violations.append(
                WireShapeViolation(field: field, rule: "the JSON event's specversion must be '\(event.specVersion.rawValue)'"))
        }
        return violations
    }

    // MARK: HTTP

    /// HTTP (REFERENCE §3.1). Binary: each attribute but `datacontenttype` as a `ce-<name>`
    /// header (names compared case-insensitively), percent-encoded, once; no
    /// `ce-datacontenttype`; `Content-Type` exactly `datacontenttype` (absent without one);
    /// the body the data. Structured and batch: `Content-Type` the format's (batch) media
    /// type, no `ce-` headers (the spec allows copies; this toolkit sends none).
    static func httpViolations(
        _ request: RawHTTPRequest, event: CloudEvent, mode: ContentMode, format: (any EventFormat)?
    ) -> [WireShapeViolation] {
        var violations: [WireShapeViolation] = []
        let contentTypes = request.headers(named: "content-type")
        if contentTypes.count > 1 {
            violations.append(WireShapeViolation(field: "Content-Type", rule: "must appear at most once"))
        }
        let contentType = contentTypes.first.map { String(decoding: $0.value, as: UTF8.self) }
        let ceHeaders = request.headers.filter { $0.name.lowercased().hasPrefix("ce-") }
        for header in request.headers {
            let lower = header.name.lowercased()
            let misprefixed =
                lower.hasPrefix("ce_")
                || (!lower.hasPrefix("ce-") && lower.hasPrefix("ce") && event[attribute: String(lower.dropFirst(2))] != nil)
            if misprefixed {
                violations.append(
                    WireShapeViolation(
                        field: "header '\(header.name)'",
                        rule: "attribute headers are named 'ce-' + the attribute name (REFERENCE §3.1)"))
            }
        }
        switch mode {
        case .binary:
            let expected = headerAttributes(event)
            for (name, value) in expected {
                let matches = request.headers(named: "ce-" + name)
                guard let header = matches.first else {
                    violations.append(
                        WireShapeViolation(field: "header 'ce-\(name)'", rule: "missing: attribute '\(name)' must be sent as it"))
                    continue
                }
                if matches.count > 1 {
                    violations.append(WireShapeViolation(field: "header '\(header.name)'", rule: "must appear once"))
                }
                violations += headerValueViolations(header, canonical: value)
            }
            let names = Set(expected.map { "ce-" + $0.name })
            for header in ceHeaders where !names.contains(header.name.lowercased()) {
                let rule =
                    header.name.lowercased() == "ce-datacontenttype"
                    ? "must not be sent: datacontenttype goes in Content-Type"
                    : "names no attribute of the event sent"
                violations.append(WireShapeViolation(field: "header '\(header.name)'", rule: rule))
            }
            if !carriesDataContentType(contentType, of: event) {
                violations.append(
                    WireShapeViolation(
                        field: "Content-Type", rule: "\(dataContentTypeRule(event)), was '\(contentType ?? "absent")'"))
            }
            if request.body != dataBytes(event) {
                violations.append(
                    WireShapeViolation(
                        field: "body",
                        rule:
                            "must be the data bytes unchanged (\(dataBytes(event).count) bytes), was \(request.body.count) bytes"
                    ))
            }
        case .structured, .batch:
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
                        rule: "no ce- headers in \(mode.rawValue) mode: the body carries the event"))
            }
            if format?.name == "json" {
                violations += jsonBodyViolations(request.body, event: event, batch: mode == .batch, field: "body")
            }
        }
        return violations
    }

    /// A `ce-` header value's violations: raw bytes only in U+0021-U+007E, never a raw `"`
    /// or a `%` that does not start `%XX` (uppercase hex); one strict percent-decoding pass
    /// gives valid UTF-8 equal to the canonical string.
    static func headerValueViolations(_ header: RawHTTPHeader, canonical: String) -> [WireShapeViolation] {
        let field = "header '\(header.name)'"
        var violations: [WireShapeViolation] = []
        if let bad = header.value.first(where: { $0 < 0x21 || $0 > 0x7E || $0 == 0x22 }) {
            violations.append(
                WireShapeViolation(
                    field: field,
                    rule:
                        "raw byte 0x\(String(bad, radix: 16, uppercase: true)) must be percent-encoded (only U+0021-U+007E but '\"' and '%' go raw)"
                ))
        }
        switch percentDecode(header.value) {
        case .failure(let reason):
            violations.append(WireShapeViolation(field: field, rule: "percent-encoding: \(reason)"))
        case .success(let decoded):
            if decoded != canonical {
                violations.append(
                    WireShapeViolation(
                        field: field, rule: "decodes to '\(decoded)', not the canonical string '\(canonical)'"))
            }
        }
        return violations
    }

    /// One strict percent-decoding pass (REFERENCE §3.1): `%` must start `%XX` with
    /// uppercase hex (what the encoder SHOULD write, and this toolkit does); the bytes must
    /// be valid UTF-8 (no overlong forms).
    ///
    /// - Returns: the decoded text, or why it is not a valid encoding.
    public static func percentDecode(_ bytes: [UInt8]) -> Swift.Result<String, WireShapeDecodingFailure> {
        var decoded: [UInt8] = []
        var index = 0
        func hex(_ byte: UInt8) -> UInt8? {
            switch byte {
            case 0x30...0x39: byte - 0x30
            case 0x41...0x46: byte - 0x41 + 10
            default: nil
            }
        }
        while index < bytes.count {
            if bytes[index] == 0x25 {
                guard index + 2 < bytes.count, let high = hex(bytes[index + 1]), let low = hex(bytes[index + 2]) else {
                    let text = String(decoding: bytes[index..<min(bytes.count, index + 3)], as: UTF8.self)
                    return .failure(WireShapeDecodingFailure(reason: "'\(text)' is not '%' and two uppercase hex digits"))
                }
                decoded.append(high << 4 | low)
                index += 3
            } else {
                decoded.append(bytes[index])
                index += 1
            }
        }
        guard let text = String(validating: decoded, as: UTF8.self) else {
            return .failure(WireShapeDecodingFailure(reason: "the decoded bytes are not valid UTF-8"))
        }
        return .success(text)
    }

    // MARK: MQTT

    /// MQTT (REFERENCE §3.2). 5 binary: each attribute but `datacontenttype` as a User
    /// Property named exactly the attribute (no prefix), its canonical string as value; the
    /// Content Type property `datacontenttype` (absent without one); the payload the data.
    /// 5 structured: Content Type the format's media type, no attribute user properties.
    /// 3.1.1: the JSON format as payload, no properties.
    static func mqttViolations(
        _ publish: RawMQTTPublish, event: CloudEvent, mode: ContentMode, format: (any EventFormat)?
    ) -> [WireShapeViolation] {
        var violations: [WireShapeViolation] = []
        let user = publish.userProperties
        let contentTypes = publish.contentTypes
        if contentTypes.count > 1 {
            violations.append(WireShapeViolation(field: "Content Type property", rule: "must appear at most once"))
        }
        for property in user {
            let lower = property.name.lowercased()
            if lower.hasPrefix("ce-") || lower.hasPrefix("ce_") {
                violations.append(
                    WireShapeViolation(
                        field: "user property '\(property.name)'",
                        rule:
                            "MQTT user properties are named the attribute name unchanged, no 'ce-' or 'ce_' prefix (REFERENCE §3.2)"
                    ))
            }
        }
        if publish.version == .v311 {
            if mode != .structured || (format.map { $0.name != "json" } ?? true) {
                violations.append(
                    WireShapeViolation(field: "mode", rule: "MQTT 3.1.1 carries structured JSON only"))
            }
            return violations + jsonBodyViolations(publish.payload, event: event, batch: false, field: "payload")
        }
        switch mode {
        case .binary:
            let expected = headerAttributes(event)
            for (name, value) in expected {
                let matches = user.filter { $0.name == name }
                guard let property = matches.first else {
                    violations.append(
                        WireShapeViolation(
                            field: "user property '\(name)'", rule: "missing: attribute '\(name)' must be sent as it"))
                    continue
                }
                if matches.count > 1 {
                    violations.append(WireShapeViolation(field: "user property '\(name)'", rule: "must appear once"))
                }
                if property.value != value {
                    violations.append(
                        WireShapeViolation(
                            field: "user property '\(name)'",
                            rule: "value must be the canonical string '\(value)', was '\(property.value)'"))
                }
            }
            let names = Set(expected.map(\.name))
            for property in user where !names.contains(property.name) && !property.name.lowercased().hasPrefix("ce") {
                let rule =
                    property.name == "datacontenttype"
                    ? "should not be sent: datacontenttype goes in the Content Type property"
                    : "names no attribute of the event sent"
                violations.append(WireShapeViolation(field: "user property '\(property.name)'", rule: rule))
            }
            if !carriesDataContentType(contentTypes.first, of: event) {
                violations.append(
                    WireShapeViolation(
                        field: "Content Type property",
                        rule: "\(dataContentTypeRule(event)), was '\(contentTypes.first ?? "absent")'"))
            }
            if publish.payload != dataBytes(event) {
                violations.append(
                    WireShapeViolation(
                        field: "payload",
                        rule:
                            "must be the data bytes unchanged (\(dataBytes(event).count) bytes), was \(publish.payload.count) bytes"
                    ))
            }
        case .structured, .batch:
            if mode == .batch {
                violations.append(WireShapeViolation(field: "mode", rule: "MQTT has no batch mode"))
            }
            if let expected = format?.mediaType, contentTypes.first.map(essence) != essence(expected) {
                violations.append(
                    WireShapeViolation(
                        field: "Content Type property",
                        rule: "must be the format's media type '\(expected)', was '\(contentTypes.first ?? "absent")'"))
            }
            for property in user where event[attribute: property.name] != nil {
                violations.append(
                    WireShapeViolation(
                        field: "user property '\(property.name)'",
                        rule: "no attribute user properties in structured mode: the payload carries the event"))
            }
            if format?.name == "json" {
                violations += jsonBodyViolations(publish.payload, event: event, batch: false, field: "payload")
            }
        }
        return violations
    }
}

/// Why a header value is not a valid percent-encoding.
public struct WireShapeDecodingFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was wrong.
    public var reason: String
    /// The reason.
    public var description: String { reason }
}
