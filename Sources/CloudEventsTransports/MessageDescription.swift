public import CloudEvents

/// A message described for a person: its content mode, then its attributes with their types
/// and its body (binary), or its content type and body (structured, batch).
public enum MessageDescription {
    /// The lines describing `message` as delivered over `endpoint`: UTF-8 text without
    /// control characters as it is, anything else (a Protobuf body, binary data) as hex.
    ///
    /// - Parameters:
    ///   - message: the message.
    ///   - endpoint: where it travelled, named in the first line.
    public static func lines(_ message: Message, endpoint: Endpoint) -> [String] {
        var lines = ["delivered over \(endpoint) in \(message.contentMode) mode"]
        switch message.content {
        case .binary(let attributes, let data):
            for attribute in attributes {
                lines.append("  \(attribute.name): \(attribute.value.canonicalString)  (\(attribute.value.type))")
            }
            lines.append(data.map { "  body (\($0.count) bytes): \(printable($0))" } ?? "  no body")
        case .structured(let content), .batch(let content):
            lines.append("  content type: \(content.mediaType)")
            lines.append("  body (\(content.body.count) bytes): \(printable(content.body))")
        }
        return lines
    }

    private static func printable(_ bytes: [UInt8]) -> String {
        if let text = String(validating: bytes, as: UTF8.self), !text.unicodeScalars.contains(where: { $0.value < 0x20 }) {
            return text
        }
        return bytes.map { ($0 < 0x10 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
