/// Finds where Protobuf bytes go wrong, for the error message: protobuf-c's unpack says
/// only that it failed, so the wire format is walked here (tags, varints, lengths, nested
/// messages of the CloudEvents schema) to name the first malformed field, its number and
/// the byte offset (from the start of the input) where decoding failed.
///
/// Runs only after a failure, never on the decoding path.
enum ProtobufWireDiagnosis {
    /// A field of the schema: its name, the wire type it must have, and what its bytes hold.
    struct Field: Sendable {
        enum Content: Sendable {
            case scalar
            case string
            case bytes
            case message(Schema)
        }
        let name: String
        let wireType: UInt8
        let content: Content
    }

    /// A message of the schema, by field number.
    struct Schema: Sendable {
        let name: String
        let fields: [Int: Field]
    }

    static let timestamp = Schema(
        name: "google.protobuf.Timestamp",
        fields: [1: Field(name: "seconds", wireType: 0, content: .scalar), 2: Field(name: "nanos", wireType: 0, content: .scalar)]
    )
    static let any = Schema(
        name: "google.protobuf.Any",
        fields: [1: Field(name: "type_url", wireType: 2, content: .string), 2: Field(name: "value", wireType: 2, content: .bytes)]
    )
    static let attributeValue = Schema(
        name: "io.cloudevents.v1.CloudEvent.CloudEventAttributeValue",
        fields: [
            1: Field(name: "ce_boolean", wireType: 0, content: .scalar),
            2: Field(name: "ce_integer", wireType: 0, content: .scalar),
            3: Field(name: "ce_string", wireType: 2, content: .string),
            4: Field(name: "ce_bytes", wireType: 2, content: .bytes),
            5: Field(name: "ce_uri", wireType: 2, content: .string),
            6: Field(name: "ce_uri_ref", wireType: 2, content: .string),
            7: Field(name: "ce_timestamp", wireType: 2, content: .message(timestamp))
        ])
    static let attributeEntry = Schema(
        name: "io.cloudevents.v1.CloudEvent.AttributesEntry",
        fields: [
            1: Field(name: "key", wireType: 2, content: .string),
            2: Field(name: "value", wireType: 2, content: .message(attributeValue))
        ])
    static let event = Schema(
        name: "io.cloudevents.v1.CloudEvent",
        fields: [
            1: Field(name: "id", wireType: 2, content: .string),
            2: Field(name: "source", wireType: 2, content: .string),
            3: Field(name: "spec_version", wireType: 2, content: .string),
            4: Field(name: "type", wireType: 2, content: .string),
            5: Field(name: "attributes", wireType: 2, content: .message(attributeEntry)),
            6: Field(name: "binary_data", wireType: 2, content: .bytes),
            7: Field(name: "text_data", wireType: 2, content: .string),
            8: Field(name: "proto_data", wireType: 2, content: .message(any))
        ])
    static let batch = Schema(
        name: "io.cloudevents.v1.CloudEventBatch",
        fields: [1: Field(name: "events", wireType: 2, content: .message(event))])

    /// The first problem found: where, in which field (a path from the outer message), and what.
    struct Problem: Equatable, CustomStringConvertible {
        /// Byte offset from the start of the input.
        let offset: Int
        /// `field 5 (attributes) > field 2 (value) > ...`; empty before any field is known.
        let path: String
        let what: String

        var description: String {
            path.isEmpty ? "at byte \(offset): \(what)" : "\(path) at byte \(offset): \(what)"
        }
    }

    /// The first malformed field of `bytes` read as `schema`, or `nil` when the walk finds
    /// nothing wrong (then protobuf-c refused something this walk does not model).
    ///
    /// - Parameter checkingUTF8: also report string fields that are not UTF-8.
    static func diagnose(_ bytes: UnsafeRawBufferPointer, as schema: Schema, checkingUTF8: Bool = true) -> Problem? {
        var walker = Walker(bytes: bytes, checkingUTF8: checkingUTF8)
        return walker.walk(schema, from: 0, to: bytes.count, path: "", depth: 0)
    }

    private struct Walker {
        let bytes: UnsafeRawBufferPointer
        let checkingUTF8: Bool

        static func wireTypeName(_ wireType: UInt8) -> String {
            switch wireType {
            case 0: "0 (varint)"
            case 1: "1 (64-bit)"
            case 2: "2 (length-delimited)"
            case 3: "3 (start group)"
            case 4: "4 (end group)"
            case 5: "5 (32-bit)"
            default: "\(wireType) (none such)"
            }
        }

        /// Reads a varint at `offset` within `end`: the value and the offset after it, or why not.
        func varint(at offset: Int, end: Int) -> Result<(value: UInt64, next: Int), VarintError> {
            var value: UInt64 = 0
            var index = offset
            var shift: UInt64 = 0
            while true {
                guard index < end else { return .failure(.truncated) }
                guard index - offset < 10 else { return .failure(.tooLong) }
                let byte = bytes[index]
                value |= UInt64(byte & 0x7F) << shift
                index += 1
                if byte & 0x80 == 0 { return .success((value, index)) }
                shift += 7
            }
        }

        enum VarintError: Error {
            case truncated, tooLong

            var text: String {
                switch self {
                case .truncated: "a varint runs past the end of its message"
                case .tooLong: "a varint longer than 10 bytes"
                }
            }
        }

        mutating func walk(_ schema: Schema, from start: Int, to end: Int, path: String, depth: Int) -> Problem? {
            guard depth < 16 else { return nil }
            var offset = start
            while offset < end {
                let fieldStart = offset
                let key: UInt64
                switch varint(at: offset, end: end) {
                case .failure(let error):
                    return Problem(offset: fieldStart, path: path, what: "field key: " + error.text)
                case .success(let (value, next)):
                    key = value
                    offset = next
                }
                let number = key >> 3
                let wireType = UInt8(key & 7)
                let field = number <= UInt64(Int32.max) ? schema.fields[Int(number)] : nil
                let fieldPath =
                    (path.isEmpty ? "" : path + " > ") + "field \(number)" + (field.map { " (\($0.name))" } ?? "")
                guard number != 0 else {
                    return Problem(offset: fieldStart, path: fieldPath, what: "field number 0 does not exist")
                }
                if let field, field.wireType != wireType {
                    return Problem(
                        offset: fieldStart, path: fieldPath,
                        what:
                            "wire type \(Self.wireTypeName(wireType)) where \(schema.name).\(field.name) has wire type \(Self.wireTypeName(field.wireType))"
                    )
                }
                switch wireType {
                case 0:
                    switch varint(at: offset, end: end) {
                    case .failure(let error): return Problem(offset: offset, path: fieldPath, what: error.text)
                    case .success(let (_, next)): offset = next
                    }
                case 1, 5:
                    let size = wireType == 1 ? 8 : 4
                    guard end - offset >= size else {
                        return Problem(
                            offset: offset, path: fieldPath,
                            what: "a \(size * 8)-bit value runs past the end of its message (\(end - offset) bytes left)")
                    }
                    offset += size
                case 2:
                    let lengthOffset = offset
                    let length: UInt64
                    switch varint(at: offset, end: end) {
                    case .failure(let error): return Problem(offset: offset, path: fieldPath, what: "length: " + error.text)
                    case .success(let (value, next)):
                        length = value
                        offset = next
                    }
                    guard length <= UInt64(end - offset) else {
                        return Problem(
                            offset: lengthOffset, path: fieldPath,
                            what: "a length of \(length) runs past the end of its message (\(end - offset) bytes left)")
                    }
                    let payloadEnd = offset + Int(length)
                    switch field?.content {
                    case .message(let inner)?:
                        if let problem = walk(inner, from: offset, to: payloadEnd, path: fieldPath, depth: depth + 1) {
                            return problem
                        }
                    case .string?:
                        if checkingUTF8,
                            String(validating: UnsafeRawBufferPointer(rebasing: bytes[offset..<payloadEnd]), as: UTF8.self) == nil
                        {
                            return Problem(offset: offset, path: fieldPath, what: "the string is not valid UTF-8")
                        }
                    default:
                        break
                    }
                    offset = payloadEnd
                case 3, 4:
                    return Problem(
                        offset: fieldStart, path: fieldPath,
                        what: "wire type \(Self.wireTypeName(wireType)): groups are not part of proto3")
                default:
                    return Problem(
                        offset: fieldStart, path: fieldPath, what: "wire type \(Self.wireTypeName(wireType)) does not exist")
                }
            }
            return nil
        }
    }
}
