import CloudEvents

/// Durations as the configuration file and `ce bridge` write them: `250ms`, `10s`, `5m`,
/// `1h`, decimals (`1.5s`) and sums (`1m30s`).
package enum DurationParsing {
    /// What a duration looks like, for error messages.
    package static let expected = "a duration such as 250ms, 10s, 5m or 1h"

    /// Attoseconds per unit, longest unit name first so that `ms` is not read as `m`.
    private static let units: [(name: String, attoseconds: Int128)] = [
        ("ms", 1_000_000_000_000_000),
        ("s", 1_000_000_000_000_000_000),
        ("m", 60_000_000_000_000_000_000),
        ("h", 3_600_000_000_000_000_000_000)
    ]

    /// The duration `text` writes, or `nil` when it is not one (no unit, an unknown unit, a
    /// sign, spaces). Exact: `0.1s` is 100 ms, not a binary fraction of it.
    ///
    /// - Parameter text: such as `200ms` or `1m30s`.
    package static func duration(_ text: String) -> Duration? {
        var rest = Substring(text)
        var total: Int128 = 0
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let whole = rest.prefix(while: \.isASCIIDigit)
            rest = rest.dropFirst(whole.count)
            var fraction = Substring("")
            if rest.first == "." {
                fraction = rest.dropFirst().prefix(while: \.isASCIIDigit)
                rest = rest.dropFirst(1 + fraction.count)
                guard !fraction.isEmpty else { return nil }
            }
            // Twelve digits of hours is 30 million years: more is a typo, and Int128 holds it.
            guard !whole.isEmpty || !fraction.isEmpty, whole.count <= 12, fraction.count <= 18 else { return nil }
            guard let unit = units.first(where: { rest.hasPrefix($0.name) }) else { return nil }
            rest = rest.dropFirst(unit.name.count)
            var part = Int128(Int(whole) ?? 0) * unit.attoseconds
            if let digits = Int64(fraction) {
                var scale: Int128 = 1
                for _ in 0..<fraction.count { scale *= 10 }
                part += Int128(digits) * unit.attoseconds / scale
            }
            total += part
        }
        return Duration(totalAttoseconds: total)
    }

    /// `duration` for a person: `200 ms`, `10 s`, `1.5 s`, `5 min`, `90 s`, `2 h`.
    ///
    /// - Parameter duration: a duration, not negative.
    package static func text(_ duration: Duration) -> String {
        let milliseconds = duration.milliseconds
        if milliseconds < 1000 { return "\(milliseconds) ms" }
        if milliseconds % 3_600_000 == 0 { return "\(milliseconds / 3_600_000) h" }
        if milliseconds % 60_000 == 0 && milliseconds >= 120_000 { return "\(milliseconds / 60_000) min" }
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000) s" }
        return "\(Double(milliseconds) / 1000) s"
    }
}

extension Character {
    /// `0`…`9` only (`isNumber` takes other scripts' digits and fractions too).
    fileprivate var isASCIIDigit: Bool { isASCII && isWholeNumber }
}
