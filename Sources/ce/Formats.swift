import ArgumentParser
import CloudEvents
import CloudEventsProtobuf

/// A `--format`, `--from` or `--to` value: the name of a format in ``Formats/registry``.
struct FormatName: ExpressibleByArgument, Hashable {
    /// The format's name, lowercased.
    let name: String

    init?(argument: String) {
        guard let format = Formats.registry.format(named: argument) else { return nil }
        name = format.name
    }

    static var allValueStrings: [String] { Formats.registry.formats.map(\.name) }

    /// The format named.
    var format: any EventFormat {
        // init?(argument:) took the name from the registry.
        Formats.registry.format(named: name) ?? JSONEventFormat()
    }
}

enum Formats {
    /// Every format this build of `ce` can read and write.
    static let registry = EventFormatRegistry.standardWithProtobuf
}

/// `--mode` values.
enum ModeName: String, ExpressibleByArgument, CaseIterable {
    case binary
    case structured
    case batch

    var mode: ContentMode { ContentMode(rawValue: rawValue)! }
}

extension Console {
    /// Prints `event` as one line of JSON format (JSON data minified).
    static func event(_ event: CloudEvent) throws {
        var event = event
        if case .json(let json) = event.data { event.data = .json(json.minified()) }
        write(try JSONEventFormat().encode(event) + [0x0A])
    }
}
