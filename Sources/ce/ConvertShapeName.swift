import ArgumentParser
import CloudEvents

/// A `ce convert` `--from` or `--to` value: a format in ``Formats/registry``, or `jsonl`
/// (JSON Lines: one JSON event per line).
struct ConvertShapeName: ExpressibleByArgument {
    /// The name JSON Lines goes by.
    static let lines = "jsonl"

    /// The format's name (lowercased), or `jsonl`.
    let name: String
    /// The format; `nil` for JSON Lines.
    let format: (any EventFormat)?

    init?(argument: String) {
        if argument.lowercased() == Self.lines {
            name = Self.lines
            format = nil
        } else if let format = FormatName(argument: argument) {
            name = format.name
            self.format = format.format
        } else {
            return nil
        }
    }

    static var allValueStrings: [String] { FormatName.allValueStrings + [lines] }

    /// Whether this is JSON Lines.
    var isLines: Bool { format == nil }
}
