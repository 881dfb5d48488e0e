/// An RFC 3339 `date-time` that keeps what `Date` loses: nanoseconds, the UTC offset as
/// written (including `-00:00`, "offset unknown"), and the exact text it was parsed from.
///
/// ```swift
/// let time = try Timestamp(rfc3339: "2018-04-05T17:31:00.123456789+02:00")
/// time.description           // "2018-04-05T17:31:00.123456789+02:00", unchanged
/// time.secondsSinceEpoch     // 1522942260
/// time.utcOffsetMinutes      // 120
/// ```
///
/// Equality (`==`) compares the written form: the same instant with another offset is a
/// different value. Use ``isSameInstant(as:)`` (or `<`) to compare instants.
public struct Timestamp: Sendable, Hashable, CustomStringConvertible {
    /// The year as written, 0...9999.
    public let year: Int
    /// 1...12.
    public let month: Int
    /// 1...31, within the month's length.
    public let day: Int
    /// 0...23, in the written offset.
    public let hour: Int
    /// 0...59.
    public let minute: Int
    /// 0...60: RFC 3339 allows the leap second `:60`.
    public let second: Int
    /// 0...999,999,999: the fraction of the second.
    public let nanosecond: Int
    /// Minutes east of UTC, -1439...1439.
    public let utcOffsetMinutes: Int
    /// `-00:00`: the time is in UTC but the local offset is unknown (RFC 3339 §4.3).
    public let isOffsetUnknown: Bool
    /// How many fraction digits to write back (0 = none).
    let fractionDigits: Int
    /// `Z` rather than `+00:00`.
    let usesZulu: Bool
    /// The original text, kept only when the fields cannot reproduce it (lowercase `t`/`z`,
    /// more than nine fraction digits).
    let verbatim: String?

    /// Creates a timestamp from its fields. The fraction is written with as few digits as
    /// keep every non-zero nanosecond digit; UTC is written as `Z`.
    public init(
        year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0,
        nanosecond: Int = 0, utcOffsetMinutes: Int = 0
    ) throws(TimestampError) {
        try Self.checkRanges(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        guard (0..<1_000_000_000).contains(nanosecond) else { throw .fieldOutOfRange("nanosecond") }
        guard abs(utcOffsetMinutes) < 24 * 60 else { throw .fieldOutOfRange("offset") }
        self.init(
            uncheckedYear: year, month: month, day: day, hour: hour, minute: minute, second: second,
            nanosecond: nanosecond, fractionDigits: Self.minimalFractionDigits(nanosecond),
            utcOffsetMinutes: utcOffsetMinutes, isOffsetUnknown: false, usesZulu: utcOffsetMinutes == 0,
            verbatim: nil)
    }

    /// Creates the timestamp of an instant, written at the given offset from UTC.
    public init(secondsSinceEpoch: Int64, nanosecond: Int = 0, utcOffsetMinutes: Int = 0) throws(TimestampError) {
        guard (0..<1_000_000_000).contains(nanosecond) else { throw .fieldOutOfRange("nanosecond") }
        guard abs(utcOffsetMinutes) < 24 * 60 else { throw .fieldOutOfRange("offset") }
        let local = secondsSinceEpoch + Int64(utcOffsetMinutes) * 60
        let days = local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
        let secondOfDay = Int(local - days * 86_400)
        let (year, month, day) = CivilCalendar.date(fromDaysSinceEpoch: days)
        guard (1...9999).contains(year) else { throw .fieldOutOfRange("year") }
        self.init(
            uncheckedYear: year, month: month, day: day, hour: secondOfDay / 3600,
            minute: secondOfDay % 3600 / 60, second: secondOfDay % 60, nanosecond: nanosecond,
            fractionDigits: Self.minimalFractionDigits(nanosecond), utcOffsetMinutes: utcOffsetMinutes,
            isOffsetUnknown: false, usesZulu: utcOffsetMinutes == 0, verbatim: nil)
    }

    init(
        uncheckedYear year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, nanosecond: Int,
        fractionDigits: Int, utcOffsetMinutes: Int, isOffsetUnknown: Bool, usesZulu: Bool, verbatim: String?
    ) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
        self.nanosecond = nanosecond
        self.fractionDigits = fractionDigits
        self.utcOffsetMinutes = utcOffsetMinutes
        self.isOffsetUnknown = isOffsetUnknown
        self.usesZulu = usesZulu
        self.verbatim = verbatim
    }

    /// Seconds since 1970-01-01T00:00:00Z of this instant (a leap second counts as the
    /// first second of the next minute).
    public var secondsSinceEpoch: Int64 {
        let days = CivilCalendar.daysSinceEpoch(year: year, month: month, day: day)
        return days * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(utcOffsetMinutes * 60)
    }

    /// Whether both denote the same instant, whatever offsets they are written with.
    public func isSameInstant(as other: Timestamp) -> Bool {
        secondsSinceEpoch == other.secondsSinceEpoch && nanosecond == other.nanosecond
    }

    /// The same instant written in UTC with `Z`, as typed formats (Protobuf) carry it.
    public var inUTC: Timestamp {
        // The instant is in range: converting it cannot fail.
        (try? Timestamp(secondsSinceEpoch: secondsSinceEpoch, nanosecond: nanosecond)) ?? self
    }

    /// The RFC 3339 text: exactly the text this value was parsed from, if it was parsed.
    public var description: String {
        if let verbatim { return verbatim }
        // Written straight into the String's storage: one allocation, not an array and a copy.
        return String(unsafeUninitializedCapacity: maximumRFC3339Size) { buffer in
            var writer = UnsafeByteWriter(buffer.baseAddress!)
            writeRFC3339(to: &writer)
            return writer.pointer - buffer.baseAddress!
        }
    }

    /// An upper bound of the RFC 3339 text's length.
    var maximumRFC3339Size: Int { verbatim?.utf8.count ?? 35 }

    /// Writes the RFC 3339 text (the JSON encoder's fast path: no division loops).
    func writeRFC3339(to writer: inout UnsafeByteWriter) {
        if let verbatim {
            var text = verbatim
            text.withUTF8 { writer.write($0) }
            return
        }
        writer.writeTwoDigits(year / 100)
        writer.writeTwoDigits(year % 100)
        writer.write(UInt8(ascii: "-"))
        writer.writeTwoDigits(month)
        writer.write(UInt8(ascii: "-"))
        writer.writeTwoDigits(day)
        writer.write(UInt8(ascii: "T"))
        writer.writeTwoDigits(hour)
        writer.write(UInt8(ascii: ":"))
        writer.writeTwoDigits(minute)
        writer.write(UInt8(ascii: ":"))
        writer.writeTwoDigits(second)
        if fractionDigits > 0 {
            writer.write(UInt8(ascii: "."))
            var divisor = 100_000_000
            for _ in 0..<fractionDigits {
                writer.write(UInt8(truncatingIfNeeded: 0x30 + nanosecond / divisor % 10))
                divisor /= 10
            }
        }
        if isOffsetUnknown {
            writer.write("-00:00")
        } else if usesZulu && utcOffsetMinutes == 0 {
            writer.write(UInt8(ascii: "Z"))
        } else {
            writer.write(utcOffsetMinutes < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            writer.writeTwoDigits(abs(utcOffsetMinutes) / 60)
            writer.write(UInt8(ascii: ":"))
            writer.writeTwoDigits(abs(utcOffsetMinutes) % 60)
        }
    }

    static func minimalFractionDigits(_ nanosecond: Int) -> Int {
        guard nanosecond != 0 else { return 0 }
        var digits = 9
        var value = nanosecond
        while value % 10 == 0 {
            value /= 10
            digits -= 1
        }
        return digits
    }

    static func checkRanges(
        year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int
    ) throws(TimestampError) {
        guard (0...9999).contains(year) else { throw .fieldOutOfRange("year") }
        guard (1...12).contains(month) else { throw .fieldOutOfRange("month") }
        guard day >= 1 && day <= CivilCalendar.daysInMonth(year: year, month: month) else {
            throw .fieldOutOfRange("day")
        }
        guard (0...23).contains(hour) else { throw .fieldOutOfRange("hour") }
        guard (0...59).contains(minute) else { throw .fieldOutOfRange("minute") }
        guard (0...60).contains(second) else { throw .fieldOutOfRange("second") }
    }
}

extension Timestamp: Comparable {
    /// Orders by instant.
    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        let (left, right) = (lhs.secondsSinceEpoch, rhs.secondsSinceEpoch)
        return left != right ? left < right : lhs.nanosecond < rhs.nanosecond
    }
}

/// Why a text is not an RFC 3339 `date-time`.
public enum TimestampError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The text ends before the named part.
    case truncated(expected: String)
    /// A character other than the one the grammar needs at that position (0-based).
    case unexpectedCharacter(position: Int, expected: String)
    /// A field outside its range (`month`, `day` for that month, `hour`, ...).
    case fieldOutOfRange(String)
    /// Characters after the offset.
    case trailingCharacters(position: Int)

    /// What went wrong, as the end of a sentence, e.g. `month out of range`.
    public var description: String {
        switch self {
        case .truncated(let expected): "ends before the \(expected)"
        case .unexpectedCharacter(let position, let expected): "expected \(expected) at position \(position)"
        case .fieldOutOfRange(let field): "\(field) out of range"
        case .trailingCharacters(let position): "unexpected characters from position \(position)"
        }
    }
}

/// Proleptic Gregorian calendar arithmetic (Howard Hinnant's days-from-civil algorithms).
package enum CivilCalendar {
    package static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let m = Int64(month)
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    package static func date(fromDaysSinceEpoch days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }

    package static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}
