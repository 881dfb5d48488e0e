extension Timestamp {
    /// Parses RFC 3339 `date-time` text.
    ///
    /// Accepts any number of fraction digits (nanoseconds are kept; more digits are kept in
    /// the text), `Z` or `±hh:mm` (required), `-00:00`, lowercase `t` and `z`, and the leap
    /// second `:60`. Rejects a missing offset, single-digit fields, a space instead of `T`
    /// and impossible dates such as February 30.
    ///
    /// - Throws: ``TimestampError`` saying where the text breaks the grammar.
    public init(rfc3339 text: String) throws(TimestampError) {
        if let parsed = UTF8Access.with(text, { Timestamp(commonForm: UnsafeRawBufferPointer($0)) }) {
            self = parsed
            return
        }
        let result = UTF8Access.with(text) { utf8 in
            Result { () throws(TimestampError) -> Timestamp in
                try Timestamp(rfc3339: UnsafeRawBufferPointer(utf8), text: nil)
            }
        }
        self = try result.get()
    }

    /// Parses the UTF-8 bytes of an RFC 3339 timestamp. `text`, when given, is the same
    /// text as a String, used when it has to be kept verbatim.
    init(rfc3339 bytes: UnsafeRawBufferPointer, text: String?) throws(TimestampError) {
        if let parsed = Timestamp(commonForm: bytes) {
            self = parsed
            return
        }
        try self.init(parsingRFC3339: bytes, text: text)
    }

    /// The general parser: any RFC 3339 text, and the error for text that is not.
    init(parsingRFC3339 bytes: UnsafeRawBufferPointer, text: String?) throws(TimestampError) {
        var reader = TimestampReader(bytes: bytes)
        let year = try reader.number(digits: 4, field: "year")
        try reader.expect(UInt8(ascii: "-"), "'-' after the year")
        let month = try reader.number(digits: 2, field: "month")
        try reader.expect(UInt8(ascii: "-"), "'-' after the month")
        let day = try reader.number(digits: 2, field: "day")
        var keepVerbatim = false
        switch try reader.next("'T' between date and time") {
        case UInt8(ascii: "T"): break
        case UInt8(ascii: "t"): keepVerbatim = true
        default: throw .unexpectedCharacter(position: reader.index - 1, expected: "'T' between date and time")
        }
        let hour = try reader.number(digits: 2, field: "hour")
        try reader.expect(UInt8(ascii: ":"), "':' after the hour")
        let minute = try reader.number(digits: 2, field: "minute")
        try reader.expect(UInt8(ascii: ":"), "':' after the minute")
        let second = try reader.number(digits: 2, field: "second")

        var nanosecond = 0
        var fractionDigits = 0
        if reader.peek() == UInt8(ascii: ".") {
            reader.index += 1
            while let byte = reader.peek(), byte >= 0x30 && byte <= 0x39 {
                if fractionDigits < 9 { nanosecond = nanosecond * 10 + Int(byte - 0x30) }
                fractionDigits += 1
                reader.index += 1
            }
            guard fractionDigits > 0 else {
                throw .unexpectedCharacter(position: reader.index, expected: "a digit after '.'")
            }
            for _ in min(fractionDigits, 9)..<9 { nanosecond *= 10 }
            if fractionDigits > 9 { keepVerbatim = true }
        }

        var offset = 0
        var unknownOffset = false
        var zulu = false
        switch try reader.next("UTC offset ('Z' or ±hh:mm)") {
        case UInt8(ascii: "Z"): zulu = true
        case UInt8(ascii: "z"):
            zulu = true
            keepVerbatim = true
        case let sign where sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-"):
            let hours = try reader.number(digits: 2, field: "offset hour")
            try reader.expect(UInt8(ascii: ":"), "':' in the UTC offset")
            let minutes = try reader.number(digits: 2, field: "offset minute")
            guard hours <= 23 else { throw .fieldOutOfRange("offset hour") }
            guard minutes <= 59 else { throw .fieldOutOfRange("offset minute") }
            offset = (hours * 60 + minutes) * (sign == UInt8(ascii: "-") ? -1 : 1)
            unknownOffset = sign == UInt8(ascii: "-") && offset == 0
        default:
            throw .unexpectedCharacter(position: reader.index - 1, expected: "UTC offset ('Z' or ±hh:mm)")
        }
        guard reader.index == bytes.count else { throw .trailingCharacters(position: reader.index) }
        try Self.checkRanges(year: year, month: month, day: day, hour: hour, minute: minute, second: second)

        self.init(
            uncheckedYear: year, month: month, day: day, hour: hour, minute: minute, second: second,
            nanosecond: nanosecond, fractionDigits: min(fractionDigits, 9), utcOffsetMinutes: offset,
            isOffsetUnknown: unknownOffset, usesZulu: zulu,
            verbatim: keepVerbatim ? (text ?? String(decoding: bytes, as: UTF8.self)) : nil)
    }
}

extension Timestamp {
    /// The form encoders write, `YYYY-MM-DDTHH:MM:SS[.F]Z` (uppercase `T` and `Z`, one to
    /// nine fraction digits), parsed at fixed positions; `nil` for any other text, and for
    /// text in this form that is not a valid time, which the general parser then reads
    /// (and refuses with its precise error). The same value as the general parser's.
    ///
    /// Every binary-mode HTTP decode parses `ce-time` (issue #4); the general parser, with
    /// its cursor and its errors at each step, took about 90 ns for such text.
    @inline(__always)
    init?(commonForm bytes: UnsafeRawBufferPointer) {
        let count = bytes.count
        // 20 bytes: no fraction; 22...30: a `.` and one to nine digits.
        guard count == 20 || (count >= 22 && count <= 30) else { return nil }
        var invalid = false
        @inline(__always)
        func twoDigits(_ index: Int) -> Int {
            let high = bytes[index] &- 0x30
            let low = bytes[index &+ 1] &- 0x30
            if high > 9 || low > 9 { invalid = true }
            return Int(high) &* 10 &+ Int(low)
        }
        let year = twoDigits(0) &* 100 &+ twoDigits(2)
        let month = twoDigits(5)
        let day = twoDigits(8)
        let hour = twoDigits(11)
        let minute = twoDigits(14)
        let second = twoDigits(17)
        guard !invalid, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"), bytes[count &- 1] == UInt8(ascii: "Z"),
            month >= 1, month <= 12, day >= 1, day <= CivilCalendar.daysInMonth(year: year, month: month),
            hour <= 23, minute <= 59, second <= 60
        else { return nil }
        var nanosecond = 0
        var fractionDigits = 0
        if count > 20 {
            guard bytes[19] == UInt8(ascii: ".") else { return nil }
            var index = 20
            while index < count &- 1 {
                let digit = bytes[index] &- 0x30
                guard digit <= 9 else { return nil }
                nanosecond = nanosecond &* 10 &+ Int(digit)
                index &+= 1
            }
            fractionDigits = count &- 21
            for _ in fractionDigits..<9 { nanosecond &*= 10 }
        }
        self.init(
            uncheckedYear: year, month: month, day: day, hour: hour, minute: minute, second: second,
            nanosecond: nanosecond, fractionDigits: fractionDigits, utcOffsetMinutes: 0, isOffsetUnknown: false,
            usesZulu: true, verbatim: nil)
    }
}

/// A cursor over the bytes of a timestamp.
private struct TimestampReader {
    let bytes: UnsafeRawBufferPointer
    var index = 0

    init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    @inline(__always)
    func peek() -> UInt8? {
        index < bytes.count ? bytes[index] : nil
    }

    @inline(__always)
    mutating func next(_ expected: StaticString) throws(TimestampError) -> UInt8 {
        guard index < bytes.count else { throw .truncated(expected: "\(expected)") }
        defer { index += 1 }
        return bytes[index]
    }

    @inline(__always)
    mutating func expect(_ byte: UInt8, _ expected: StaticString) throws(TimestampError) {
        guard try next(expected) == byte else { throw .unexpectedCharacter(position: index - 1, expected: "\(expected)") }
    }

    /// Exactly `digits` decimal digits. (Messages are built only when they are thrown.)
    @inline(__always)
    mutating func number(digits: Int, field: StaticString) throws(TimestampError) -> Int {
        guard index &+ digits <= bytes.count else { throw .truncated(expected: "\(digits)-digit \(field)") }
        var value = 0
        for offset in 0..<digits {
            let digit = bytes[index &+ offset] &- 0x30
            guard digit < 10 else {
                throw .unexpectedCharacter(position: index &+ offset, expected: "\(digits)-digit \(field)")
            }
            value = value &* 10 &+ Int(digit)
        }
        index &+= digits
        return value
    }
}
