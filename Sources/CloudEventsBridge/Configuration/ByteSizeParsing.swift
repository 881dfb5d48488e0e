/// Byte counts as the configuration file and `ce bridge` write them: `256MiB`, `64KiB`,
/// `1GiB`, or plain bytes (`1048576`).
package enum ByteSizeParsing {
    /// What a size looks like, for error messages.
    package static let expected = "a size such as 256MiB (whole bytes, or a whole number of KiB, MiB, GiB or TiB)"

    private static let units: [(name: String, shift: Int)] = [("KiB", 10), ("MiB", 20), ("GiB", 30), ("TiB", 40), ("B", 0)]

    /// The bytes `text` writes, or `nil` when it is not a size (a decimal unit such as `MB`,
    /// a fraction, a sign, spaces, more than `Int` holds).
    ///
    /// - Parameter text: such as `256MiB` or `4096`.
    package static func bytes(_ text: String) -> Int? {
        let digits = text.prefix(while: { $0.isASCII && $0.isWholeNumber })
        guard !digits.isEmpty, let number = Int(digits) else { return nil }
        let suffix = text.dropFirst(digits.count)
        if suffix.isEmpty { return number }
        guard let unit = units.first(where: { $0.name == suffix }) else { return nil }
        let (product, overflow) = number.multipliedReportingOverflow(by: 1 << unit.shift)
        return overflow ? nil : product
    }

    /// `bytes` for a person: `256 MiB`, `1.5 GiB`, `100 bytes`.
    ///
    /// - Parameter bytes: a count, not negative.
    package static func text(_ bytes: Int) -> String {
        for unit in units.filter({ $0.shift > 0 }).reversed() where bytes >= 1 << unit.shift {
            let value = Double(bytes) / Double(1 << unit.shift)
            let shown = value == value.rounded() ? "\(Int(value))" : "\((value * 10).rounded() / 10)"
            return "\(shown) \(unit.name)"
        }
        return "\(bytes) bytes"
    }
}
