import Foundation

/// Parsing one control line (CRLF removed) straight from its bytes: the operation compared
/// case-insensitively, fields found as ranges, numbers parsed with bounds, and only the
/// subject and reply subject turned into `String`s.
extension NATSServerCommandDecoder {
    static func parseControlLine(_ line: UnsafeRawBufferPointer) throws(NATSProtocolError) -> ControlLine {
        let fields = FieldRanges(line)
        guard fields.count > 0 else {
            throw NATSProtocolError("empty control line: '\(NATSProtocolError.excerpt(line))'")
        }
        let op = fields[0]
        switch op.count {
        case 3 where matches(line, op, "msg"):
            return .message(try parseMessage(line, fields, hasHeaders: false))
        case 4 where matches(line, op, "hmsg"):
            return .message(try parseMessage(line, fields, hasHeaders: true))
        case 4 where matches(line, op, "ping"):
            try expectNoArguments(line, fields, "PING")
            return .command(.ping)
        case 4 where matches(line, op, "pong"):
            try expectNoArguments(line, fields, "PONG")
            return .command(.pong)
        case 3 where matches(line, op, "+ok"):
            try expectNoArguments(line, fields, "+OK")
            return .command(.ok)
        case 4 where matches(line, op, "-err"):
            return .command(.error(errorText(line, after: op)))
        case 4 where matches(line, op, "info"):
            return .command(.info(try parseInfo(line, after: op)))
        default:
            throw NATSProtocolError(
                "unknown operation '\(NATSProtocolError.excerpt(line[op], limit: 16))': '\(NATSProtocolError.excerpt(line))'")
        }
    }

    private static func parseMessage(
        _ line: UnsafeRawBufferPointer, _ fields: FieldRanges, hasHeaders: Bool
    ) throws(NATSProtocolError) -> PendingMessage {
        let name = hasHeaders ? "HMSG" : "MSG"
        let arguments = fields.count - 1
        let withoutReply = hasHeaders ? 4 : 3
        guard arguments == withoutReply || arguments == withoutReply + 1 else {
            throw NATSProtocolError(
                "\(name) control line has \(arguments) \(arguments == 1 ? "argument" : "arguments"), expected \(withoutReply) or \(withoutReply + 1): '\(NATSProtocolError.excerpt(line))'"
            )
        }
        let hasReply = arguments == withoutReply + 1
        let sizeIndex = hasReply ? 4 : 3
        guard let subscriptionID = parseDecimal(line, fields[2], maximum: UInt64.max) else {
            throw NATSProtocolError("\(name) subscription id is not a number: '\(NATSProtocolError.excerpt(line))'")
        }
        guard let first = parseDecimal(line, fields[sizeIndex], maximum: UInt64(Int.max)) else {
            throw NATSProtocolError("\(name) size is not a number or too large: '\(NATSProtocolError.excerpt(line))'")
        }
        var headerLength: Int?
        var totalLength = Int(first)
        if hasHeaders {
            guard let total = parseDecimal(line, fields[sizeIndex + 1], maximum: UInt64(Int.max)) else {
                throw NATSProtocolError("HMSG total size is not a number or too large: '\(NATSProtocolError.excerpt(line))'")
            }
            guard first <= total else {
                throw NATSProtocolError(
                    "HMSG header size \(first) is larger than its total size \(total): '\(NATSProtocolError.excerpt(line))'")
            }
            headerLength = Int(first)
            totalLength = Int(total)
        }
        return PendingMessage(
            subject: String(decoding: line[fields[1]], as: UTF8.self),
            subscriptionID: subscriptionID,
            replyTo: hasReply ? String(decoding: line[fields[3]], as: UTF8.self) : nil,
            headerLength: headerLength,
            totalLength: totalLength)
    }

    private static func parseInfo(_ line: UnsafeRawBufferPointer, after op: Range<Int>) throws(NATSProtocolError)
        -> NATSServerInfo
    {
        let json = line[op.upperBound...].drop(while: FieldRanges.isBlank)
        guard !json.isEmpty else { throw NATSProtocolError("INFO has no JSON: '\(NATSProtocolError.excerpt(line))'") }
        do {
            return try JSONDecoder().decode(NATSServerInfo.self, from: Data(json))
        } catch {
            throw NATSProtocolError("INFO is not a valid JSON object (\(error)): '\(NATSProtocolError.excerpt(line))'")
        }
    }

    /// `-ERR`'s text, trimmed, without the single quotes around it.
    private static func errorText(_ line: UnsafeRawBufferPointer, after op: Range<Int>) -> String {
        var text = line[op.upperBound...].drop(while: FieldRanges.isBlank)
        while let last = text.last, FieldRanges.isBlank(last) { text = text.dropLast() }
        if text.count >= 2, text.first == UInt8(ascii: "'"), text.last == UInt8(ascii: "'") {
            text = text.dropFirst().dropLast()
        }
        return String(decoding: text, as: UTF8.self)
    }

    private static func expectNoArguments(
        _ line: UnsafeRawBufferPointer, _ fields: FieldRanges, _ name: String
    ) throws(NATSProtocolError) {
        if fields.count > 1 {
            throw NATSProtocolError("\(name) has unexpected fields: '\(NATSProtocolError.excerpt(line))'")
        }
    }

    /// Whether `line[range]` is `lowercase` ignoring ASCII case.
    private static func matches(_ line: UnsafeRawBufferPointer, _ range: Range<Int>, _ lowercase: StaticString) -> Bool {
        guard range.count == lowercase.utf8CodeUnitCount else { return false }
        let expected = lowercase.utf8Start
        for offset in 0..<range.count {
            var byte = line[range.lowerBound + offset]
            if byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") { byte |= 0x20 }
            if byte != expected[offset] { return false }
        }
        return true
    }

    /// The decimal number in `line[range]`, or `nil` when it is empty, has a byte that is
    /// not a digit (a sign included) or is over `maximum`.
    private static func parseDecimal(_ line: UnsafeRawBufferPointer, _ range: Range<Int>, maximum: UInt64) -> UInt64? {
        guard !range.isEmpty else { return nil }
        var value: UInt64 = 0
        for index in range {
            let digit = line[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit))
            guard !overflow1, !overflow2, sum <= maximum else { return nil }
            value = sum
        }
        return value
    }
}

/// The ranges of the first five blank-separated fields of a control line, and how many
/// fields there are in all, without allocating.
struct FieldRanges {
    private var ranges: (Range<Int>, Range<Int>, Range<Int>, Range<Int>, Range<Int>, Range<Int>) = (
        0..<0, 0..<0, 0..<0, 0..<0, 0..<0, 0..<0
    )
    /// The number of fields (may exceed the six kept).
    private(set) var count = 0

    init(_ line: UnsafeRawBufferPointer) {
        var index = 0
        let end = line.count
        while index < end {
            while index < end && Self.isBlank(line[index]) { index += 1 }
            if index == end { break }
            let start = index
            while index < end && !Self.isBlank(line[index]) { index += 1 }
            store(start..<index)
        }
    }

    private mutating func store(_ range: Range<Int>) {
        switch count {
        case 0: ranges.0 = range
        case 1: ranges.1 = range
        case 2: ranges.2 = range
        case 3: ranges.3 = range
        case 4: ranges.4 = range
        case 5: ranges.5 = range
        default: break
        }
        count += 1
    }

    /// The range of field `index` (0 is the operation); only called with `index < min(count, 6)`.
    subscript(index: Int) -> Range<Int> {
        switch index {
        case 0: ranges.0
        case 1: ranges.1
        case 2: ranges.2
        case 3: ranges.3
        case 4: ranges.4
        default: ranges.5
        }
    }

    static func isBlank(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
    }
}
