import CloudEvents

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One run of `ce convert`: reads the input in its shape, element by element where the shape
/// allows, checks the batch rules, and hands each event to the output as soon as it is decoded.
///
/// A bad element fails the run, naming its batch index (or line) and the rule broken; what was
/// converted before it has been written, and the message says so. With `skipInvalid` it is
/// reported on stderr and skipped instead, and the run goes on.
struct ConvertStream {
    /// The input shape.
    enum InputShape {
        /// Exactly one event in `format`.
        case single(any EventFormat)
        /// A JSON array, decoded element by element.
        case jsonBatch(JSONEventFormat)
        /// One JSON event per line; blank lines are ignored.
        case lines(JSONEventFormat)
        /// A Protobuf `CloudEventBatch`, decoded field by field.
        case protobufBatch(any EventFormat)
        /// Any other format's batch, decoded in one piece.
        case wholeBatch(any EventFormat)
    }

    private let shape: InputShape
    private let input: ConvertInput
    private(set) var sink: ConvertSink
    /// Whether every event must share the first one's `specversion` (a batch on either side).
    private let sameSpecVersion: Bool
    private let skipInvalid: Bool
    private var firstSpecVersion: SpecVersion?
    /// Elements reported and skipped.
    private(set) var skipped = 0

    init(from shape: InputShape, to sink: ConvertSink, input: ConvertInput, sameSpecVersion: Bool, skipInvalid: Bool) {
        self.shape = shape
        self.sink = sink
        self.input = input
        self.sameSpecVersion = sameSpecVersion
        self.skipInvalid = skipInvalid
    }

    /// Converts the whole input and writes the end of the output.
    ///
    /// - Throws: ``ConvertFailure`` with the one line to print, after writing what was
    ///   converted before the failure.
    mutating func run() throws(ConvertFailure) {
        var failure: ConvertFailure?
        do {
            switch shape {
            case .single(let format): try convertSingle(format)
            case .jsonBatch(let format): try convertJSONBatch(format)
            case .lines(let format): try convertLines(format)
            case .protobufBatch(let format): try convertProtobufBatch(format)
            case .wholeBatch(let format): try convertWholeBatch(format)
            }
        } catch {
            failure = error
        }
        guard var failure else { return try sink.finish() }
        // What was converted before the failure is written.
        try? sink.flush()
        let count = sink.count
        if failure.mentionsWritten && count > 0 {
            failure.description +=
                " (the \(count) event\(count == 1 ? "" : "s") converted before it \(count == 1 ? "was" : "were") written)"
        }
        throw failure
    }

    // MARK: Elements

    /// Converts one element, or fails the run, or (with `skipInvalid`) reports and skips it.
    private mutating func convert(
        at label: ConvertLabel, _ decode: () throws(EventFormatError) -> CloudEvent
    ) throws(ConvertFailure) {
        let event: CloudEvent
        do throws(EventFormatError) {
            event = try decode()
            if sameSpecVersion {
                if let first = firstSpecVersion {
                    if event.specVersion != first {
                        throw EventFormatError(.mixedSpecVersions(first: first, other: event.specVersion))
                    }
                } else {
                    firstSpecVersion = event.specVersion
                }
            }
        } catch {
            return try reject(error, at: label)
        }
        do throws(EventFormatError) {
            try sink.write(event)
        } catch {
            return try reject(error, at: label)
        }
        try sink.flushIfFull()
    }

    /// Fails the run for a bad element, or reports and skips it.
    private mutating func reject(_ error: EventFormatError, at label: ConvertLabel) throws(ConvertFailure) {
        let message = label.message(for: error)
        if skipInvalid {
            Console.error("skipped \(message)")
            skipped += 1
            return
        }
        throw failure(message)
    }

    /// A failure for `message`, to say what was already written once that is known.
    private func failure(_ message: String) -> ConvertFailure {
        ConvertFailure(message, mentionsWritten: true)
    }

    /// Decodes `input.bytes[start..<end]` with `format`.
    private static func decode(
        _ format: any EventFormat, _ input: ConvertInput, from start: Int, to end: Int
    ) throws(EventFormatError) -> CloudEvent {
        try format.decode(UnsafeRawBufferPointer(rebasing: input.bytes[start..<end]))
    }

    /// The first index in `start..<end` that is not JSON whitespace, or `end`.
    private static func skippingWhitespace(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int {
        var index = start
        while index < end {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return index
            }
        }
        return end
    }

    // MARK: Shapes

    private mutating func convertSingle(_ format: any EventFormat) throws(ConvertFailure) {
        try input.readToEnd()
        do {
            try sink.write(try Self.decode(format, input, from: input.start, to: input.end))
        } catch {
            throw ConvertFailure("\(error)")
        }
    }

    private mutating func convertWholeBatch(_ format: any EventFormat) throws(ConvertFailure) {
        try input.readToEnd()
        let events: [CloudEvent]
        do {
            events = try format.decodeBatch(UnsafeRawBufferPointer(rebasing: input.bytes[input.start..<input.end]))
        } catch {
            throw ConvertFailure("\(error)")
        }
        for (index, event) in events.enumerated() {
            try convert(at: .batch(index)) { () throws(EventFormatError) in event }
        }
    }

    /// Skips JSON whitespace, reading as needed. Returns the next byte's stream offset, or
    /// `nil` at the end of the input.
    private func skipWhitespace() throws(ConvertFailure) -> Int? {
        while true {
            let bytes = input.bytes
            var index = input.start
            while index < input.end {
                switch bytes[index] {
                case 0x20, 0x0A, 0x0D, 0x09: index += 1
                default:
                    input.start = index
                    return input.offset(of: index)
                }
            }
            input.start = index
            guard try input.readMore() else { return nil }
        }
    }

    private static func syntaxError(_ reason: JSONSyntaxError.Reason, at offset: Int) -> EventFormatError {
        EventFormatError(.malformedJSON(JSONSyntaxError(reason, at: offset)))
    }

    /// `error` with a JSON syntax error's offset moved from the element's bytes to the input's.
    private static func shifted(_ error: EventFormatError, by offset: Int) -> EventFormatError {
        guard case .malformedJSON(var syntax) = error.reason else { return error }
        syntax.offset += offset
        var error = error
        error.reason = .malformedJSON(syntax)
        return error
    }

    private mutating func convertJSONBatch(_ format: JSONEventFormat) throws(ConvertFailure) {
        let input = self.input
        // Until the array opens, an error belongs to the batch, not to its first event.
        guard let open = try skipWhitespace() else {
            throw ConvertFailure("\(Self.syntaxError(.unexpectedEnd(expected: "a JSON array of events"), at: 0))")
        }
        let first = input.bytes[input.index(of: open)]
        guard first == UInt8(ascii: "[") else {
            let found =
                switch first {
                case UInt8(ascii: "{"): "an object"
                case UInt8(ascii: "\""): "a string"
                default: "'\(Character(Unicode.Scalar(first)))'"
                }
            throw ConvertFailure("\(EventFormatError(.notAnEvent("a batch must be a JSON array, found \(found)")))")
        }
        input.start += 1
        guard let next = try skipWhitespace() else {
            throw ConvertFailure(
                "\(Self.syntaxError(.unexpectedEnd(expected: "an event or ']'"), at: input.offset(of: input.start)))")
        }
        if input.bytes[input.index(of: next)] == UInt8(ascii: "]") {
            input.start += 1
            return try expectEnd()
        }
        var index = 0
        while true {
            // `[,`, `[{…},]`: the batch's grammar is broken here, not an element's.
            guard let element = try skipWhitespace() else {
                var error = Self.syntaxError(.unexpectedEnd(expected: "an event"), at: input.offset(of: input.end))
                error.batchIndex = index
                throw failure(error.description)
            }
            let opening = input.bytes[input.index(of: element)]
            if opening == UInt8(ascii: ",") || opening == UInt8(ascii: "]") {
                var error = Self.syntaxError(.unexpectedByte(opening, expected: "an event"), at: element)
                error.batchIndex = index
                throw failure(error.description)
            }
            try convertJSONElement(format, index: index)
            // After the element: `,` and the next, or `]` and the end.
            guard let after = try skipWhitespace() else {
                var error = Self.syntaxError(.unexpectedEnd(expected: "',' or ']'"), at: input.offset(of: input.end))
                error.batchIndex = index + 1
                throw failure(error.description)
            }
            let byte = input.bytes[input.index(of: after)]
            input.start += 1
            index += 1
            if byte == UInt8(ascii: "]") { return try expectEnd() }
            guard byte == UInt8(ascii: ",") else {
                var error = Self.syntaxError(.unexpectedByte(byte, expected: "',' or ']'"), at: after)
                error.batchIndex = index
                throw failure(error.description)
            }
        }
    }

    /// Converts the element at `input.start` and consumes it.
    ///
    /// The element is decoded straight from the bytes read so far: a decoded element is whole.
    /// Only when decoding fails short of the end of the input does the scanner say whether the
    /// element ends within those bytes (the error is the element's) or goes on past them; then
    /// the scanner alone reads on to the element's end, and it is decoded once more. So the
    /// common case reads each byte once, and a huge element costs two decodes, not one per block.
    private mutating func convertJSONElement(_ format: JSONEventFormat, index: Int) throws(ConvertFailure) {
        let input = self.input
        let elementStart = input.offset(of: input.start)
        var decoded = Self.decodeElement(format, input)
        guard case .failure(var error) = decoded else { return try accept(decoded, at: index, skippingTo: nil) }
        var scanner = ConvertJSONElementScanner()
        var scanned = elementStart
        var readSinceDecoding = false
        while true {
            if let delimiter = scanner.scan(input.bytes, from: input.index(of: scanned), to: input.end) {
                // The element ends within what has been read: decode it whole, if it was not.
                if readSinceDecoding { decoded = Self.decodeElement(format, input) }
                return try accept(decoded, at: index, skippingTo: input.offset(of: delimiter))
            }
            scanned = input.offset(of: input.end)
            guard try input.readMore() else { break }
            readSinceDecoding = true
        }
        // The input ends inside the element, or just after it.
        if readSinceDecoding {
            decoded = Self.decodeElement(format, input)
            guard case .failure(let final) = decoded else { return try accept(decoded, at: index, skippingTo: nil) }
            error = final
        }
        // Nothing follows to go on with, so even --skip-invalid stops here.
        error.batchIndex = index
        throw failure(error.description)
    }

    /// Decodes the element at `input.start`; a syntax error's offset is the input's.
    private static func decodeElement(
        _ format: JSONEventFormat, _ input: ConvertInput
    ) -> Result<(event: CloudEvent, end: Int), EventFormatError> {
        do throws(EventFormatError) {
            return .success(try format.decodeElement(input.bytes, from: input.start))
        } catch {
            return .failure(shifted(error, by: input.offset(of: 0)))
        }
    }

    /// Converts a decoded element and consumes it; a bad one fails the run, or is skipped
    /// up to its delimiter (at stream offset `delimiter`).
    private mutating func accept(
        _ decoded: Result<(event: CloudEvent, end: Int), EventFormatError>, at index: Int, skippingTo delimiter: Int?
    ) throws(ConvertFailure) {
        switch decoded {
        case .success(let (event, end)):
            input.start = end
            try convert(at: .batch(index)) { () throws(EventFormatError) in event }
        case .failure(let error):
            try convert(at: .batch(index)) { () throws(EventFormatError) in throw error }
            // Skipped (convert did not throw): go on at the delimiter.
            if let delimiter { input.start = input.index(of: delimiter) }
        }
    }

    /// Only whitespace may follow the batch.
    private func expectEnd() throws(ConvertFailure) {
        if let offset = try skipWhitespace() {
            throw failure("\(Self.syntaxError(.trailingCharacters, at: offset))")
        }
    }

    private mutating func convertLines(_ format: JSONEventFormat) throws(ConvertFailure) {
        var number = 0
        var searched = input.start
        while true {
            let base = input.bytes.baseAddress
            if let base, searched < input.end, let found = memchr(base + searched, 0x0A, input.end - searched) {
                let newline = base.distance(to: UnsafeRawPointer(found))
                number += 1
                try convertLine(format, number: number, from: input.start, to: newline)
                input.start = newline + 1
                searched = input.start
                continue
            }
            let searchedOffset = input.offset(of: input.end)
            if try input.readMore() {
                searched = input.index(of: searchedOffset)
                continue
            }
            // The last line need not end with a newline.
            if input.start < input.end {
                number += 1
                try convertLine(format, number: number, from: input.start, to: input.end)
                input.start = input.end
            }
            return
        }
    }

    /// Converts the line `input.bytes[start..<end]` (without its newline) unless it is blank.
    private mutating func convertLine(_ format: JSONEventFormat, number: Int, from start: Int, to lineEnd: Int)
        throws(ConvertFailure)
    {
        var end = lineEnd
        if end > start && input.bytes[end - 1] == 0x0D { end -= 1 }
        if Self.skippingWhitespace(input.bytes, from: start, to: end) == end { return }
        let input = self.input
        try convert(at: .line(number)) { () throws(EventFormatError) in
            try Self.decode(format, input, from: start, to: end)
        }
    }

    private mutating func convertProtobufBatch(_ format: any EventFormat) throws(ConvertFailure) {
        let input = self.input
        var index = 0
        while true {
            guard try available(1) else { return }
            let fieldOffset = input.offset(of: input.start)
            let key = try varint(index: index, what: "a field key")
            let field = key >> 3
            let wireType = key & 7
            if field == 0 { throw malformedProtobuf("field number 0", at: fieldOffset, index: index) }
            switch wireType {
            case 0:
                _ = try varint(index: index, what: "a varint field")
            case 1, 5:
                let size = wireType == 1 ? 8 : 4
                guard try available(size) else {
                    throw malformedProtobuf("the input ends inside field \(field)", at: fieldOffset, index: index)
                }
                input.start += size
            case 2:
                let length = try varint(index: index, what: "the length of field \(field)")
                guard length <= UInt64(Int32.max), try available(Int(length)) else {
                    throw malformedProtobuf("the input ends inside field \(field)", at: fieldOffset, index: index)
                }
                let start = input.start
                let end = start + Int(length)
                if field == 1 {
                    try convert(at: .batch(index)) { () throws(EventFormatError) in
                        try Self.decode(format, input, from: start, to: end)
                    }
                    index += 1
                }
                input.start = end
            default:
                throw malformedProtobuf("wire type \(wireType) in field \(field)", at: fieldOffset, index: index)
            }
        }
    }

    /// Reads until `count` bytes are unconsumed; `false` if the input ends first.
    private func available(_ count: Int) throws(ConvertFailure) -> Bool {
        while input.end - input.start < count {
            guard try input.readMore() else { return false }
        }
        return true
    }

    /// Reads a Protobuf varint.
    private func varint(index: Int, what: String) throws(ConvertFailure) -> UInt64 {
        let offset = input.offset(of: input.start)
        _ = try available(10)
        var value: UInt64 = 0
        var shift: UInt64 = 0
        var position = input.start
        while position < input.end && shift < 64 {
            let byte = input.bytes[position]
            value |= UInt64(byte & 0x7F) << shift
            position += 1
            if byte < 0x80 {
                input.start = position
                return value
            }
            shift += 7
        }
        throw malformedProtobuf("\(what) is cut short or too long", at: offset, index: index)
    }

    private func malformedProtobuf(_ problem: String, at offset: Int, index: Int) -> ConvertFailure {
        failure(
            "\(EventFormatError(.malformed("not a well-formed Protobuf CloudEventBatch at byte \(offset): \(problem)"), batchIndex: index))"
        )
    }
}

/// Where an element came from, for messages.
enum ConvertLabel {
    case batch(Int)
    case line(Int)

    /// `error`'s one line, naming the element.
    func message(for error: EventFormatError) -> String {
        var error = error
        switch self {
        case .batch(let index):
            error.batchIndex = index
            return error.description
        case .line(let number):
            error.batchIndex = nil
            return "line \(number): \(error)"
        }
    }
}
