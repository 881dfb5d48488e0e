import CloudEvents

/// Writes Protobuf wire format by hand, so that tests can build messages our encoder would
/// never produce (wrong wire types, invalid UTF-8, unknown fields, colliding keys).
struct ProtoWire {
    var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    mutating func key(_ field: Int, wireType: UInt8) {
        varint(UInt64(field) << 3 | UInt64(wireType))
    }

    mutating func varintField(_ field: Int, _ value: UInt64) {
        key(field, wireType: 0)
        varint(value)
    }

    mutating func lengthDelimited(_ field: Int, _ payload: [UInt8]) {
        key(field, wireType: 2)
        varint(UInt64(payload.count))
        bytes += payload
    }

    mutating func string(_ field: Int, _ text: String) {
        lengthDelimited(field, Array(text.utf8))
    }

    mutating func message(_ field: Int, _ build: (inout ProtoWire) -> Void) {
        var inner = ProtoWire()
        build(&inner)
        lengthDelimited(field, inner.bytes)
    }

    /// One entry of `CloudEvent.attributes` (field 5): key (1) and value (2).
    mutating func attribute(_ key: [UInt8], _ value: (inout ProtoWire) -> Void) {
        message(5) { entry in
            entry.lengthDelimited(1, key)
            entry.message(2, value)
        }
    }

    mutating func attribute(_ key: String, _ value: (inout ProtoWire) -> Void) {
        attribute(Array(key.utf8), value)
    }

    /// A `CloudEvent` with the four required fields (each left out when `nil`).
    static func event(
        specVersion: [UInt8]? = Array("1.0".utf8), id: [UInt8]? = Array("A-1".utf8),
        source: [UInt8]? = Array("/test".utf8), type: [UInt8]? = Array("com.example.test".utf8),
        _ more: (inout ProtoWire) -> Void = { _ in }
    ) -> [UInt8] {
        var wire = ProtoWire()
        if let id { wire.lengthDelimited(1, id) }
        if let source { wire.lengthDelimited(2, source) }
        if let specVersion { wire.lengthDelimited(3, specVersion) }
        if let type { wire.lengthDelimited(4, type) }
        more(&wire)
        return wire.bytes
    }
}

/// One field of a message as it is on the wire.
struct ProtoField: Equatable {
    var number: Int
    var wireType: UInt8
    /// For wire type 0 (varint).
    var varint: UInt64 = 0
    /// For wire type 2 (length-delimited).
    var payload: [UInt8] = []
}

/// Reads Protobuf wire format (varint and length-delimited fields only, which is all
/// `cloudevents.proto` uses), so that tests can assert the exact wire shape.
enum ProtoWireReader {
    static func fields(_ bytes: [UInt8]) -> [ProtoField]? {
        var fields: [ProtoField] = []
        var index = 0
        func varint() -> UInt64? {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while index < bytes.count, shift < 64 {
                let byte = bytes[index]
                index += 1
                result |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return result }
                shift += 7
            }
            return nil
        }
        while index < bytes.count {
            guard let key = varint() else { return nil }
            var field = ProtoField(number: Int(key >> 3), wireType: UInt8(key & 7))
            switch field.wireType {
            case 0:
                guard let value = varint() else { return nil }
                field.varint = value
            case 2:
                guard let length = varint(), length <= UInt64(bytes.count - index) else { return nil }
                field.payload = Array(bytes[index..<index + Int(length)])
                index += Int(length)
            default:
                return nil
            }
            fields.append(field)
        }
        return fields
    }

    /// The `attributes` map of an encoded `CloudEvent`: key → (oneof field number, payload).
    static func attributes(_ event: [UInt8]) -> [String: ProtoField] {
        var result: [String: ProtoField] = [:]
        for entry in fields(event) ?? [] where entry.number == 5 {
            let parts = fields(entry.payload) ?? []
            guard let key = parts.first(where: { $0.number == 1 }) else { continue }
            let value = parts.first(where: { $0.number == 2 }).flatMap { fields($0.payload)?.first }
            result[String(decoding: key.payload, as: UTF8.self)] = value
        }
        return result
    }

    /// The field number of the `data` oneof case that is set (6, 7, 8), or `nil`.
    static func dataField(_ event: [UInt8]) -> ProtoField? {
        fields(event)?.last { (6...8).contains($0.number) }
    }
}

/// Compares two events as the Protobuf format can preserve them: timestamps by instant
/// (Protobuf keeps no UTC offset), everything else exactly.
func isEquivalent(_ lhs: CloudEvent, _ rhs: CloudEvent) -> Bool {
    func sameTime(_ a: Timestamp?, _ b: Timestamp?) -> Bool {
        switch (a, b) {
        case (nil, nil): true
        case (let a?, let b?): a.isSameInstant(as: b)
        default: false
        }
    }
    func sameValue(_ a: AttributeValue?, _ b: AttributeValue?) -> Bool {
        if case .timestamp(let a)? = a, case .timestamp(let b)? = b { return a.isSameInstant(as: b) }
        return a == b
    }
    guard lhs.specVersion == rhs.specVersion, lhs.id == rhs.id, lhs.source == rhs.source, lhs.type == rhs.type,
        lhs.dataContentType == rhs.dataContentType, lhs.dataSchema == rhs.dataSchema, lhs.subject == rhs.subject,
        sameTime(lhs.time, rhs.time), lhs.data == rhs.data,
        lhs.extensions.count == rhs.extensions.count
    else { return false }
    return lhs.extensions.allSatisfy { sameValue($0.value, rhs.extensions[$0.name]) }
}
