import ArgumentParser
import CloudEvents
import CloudEventsProtobuf

/// The formats `ce` knows, by name.
enum FormatName: String, ExpressibleByArgument, CaseIterable {
    case json
    case protobuf

    var format: any EventFormat {
        get throws {
            guard let format = Formats.registry.format(named: rawValue) else {
                throw Console.fail("the \(rawValue) format is not available in this build", ExitStatus.invalidInput)
            }
            return format
        }
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
