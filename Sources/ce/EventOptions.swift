import ArgumentParser
import CloudEvents
import Foundation

/// The options that describe the event `ce send` sends.
///
/// How the options combine is checked while parsing (a usage error, exit 64); whether the
/// values make a valid event is checked by ``event()`` (invalid input, exit 1).
struct EventOptions: ParsableArguments {
    @Option(name: .customLong("event-file"), help: "A JSON-format event to send ('-' for stdin).")
    var eventFile: String?

    @Option(help: "id (required without --event-file).")
    var id: String?

    @Option(help: "source, a URI-reference (required without --event-file).")
    var source: String?

    @Option(help: "type (required without --event-file).")
    var type: String?

    @Option(help: "specversion: 1.0 or 0.3 (without --event-file).")
    var specversion: String = "1.0"

    @Option(help: "subject.")
    var subject: String?

    @Option(help: "time, RFC 3339, or 'now'.")
    var time: String?

    @Option(help: "datacontenttype, the media type of the data.")
    var datacontenttype: String?

    @Option(help: "dataschema, an absolute URI.")
    var dataschema: String?

    @Option(
        name: .customLong("ext"),
        help: ArgumentHelp(
            "An extension attribute: name=value (a String), or name:type=value with type boolean, integer, string, binary, uri, urireference or timestamp.",
            valueName: "name[:type]=value"))
    var extensions: [ExtensionArgument] = []

    @Option(help: "The data, as text. Without --datacontenttype it must be JSON (application/json is implied).")
    var data: String?

    @Option(name: .customLong("data-file"), help: "The data, as the bytes of a file.")
    var dataFile: String?

    func validate() throws {
        if eventFile != nil {
            guard id == nil, source == nil, type == nil else {
                throw ValidationError("--event-file cannot be combined with --id, --source or --type")
            }
        } else if id == nil || source == nil || type == nil {
            throw ValidationError("give --event-file, or --id, --source and --type")
        }
        if data != nil && dataFile != nil { throw ValidationError("give --data or --data-file, not both") }
    }

    /// The event these options describe, validated.
    func event() throws -> CloudEvent {
        var event: CloudEvent
        if let eventFile {
            let bytes = try readBytes(eventFile)
            do { event = try JSONEventFormat().decode(bytes) } catch {
                throw Console.fail("\(eventFile): \(error)", ExitStatus.invalidInput)
            }
        } else {
            guard let version = SpecVersion(rawValue: specversion) else {
                throw Console.fail(
                    "attribute 'specversion' has unsupported value '\(specversion)' (supported: 1.0, 0.3)",
                    ExitStatus.invalidInput)
            }
            // validate() made sure all three are there.
            event = CloudEvent(id: id ?? "", source: source ?? "", type: type ?? "", specVersion: version)
        }
        try apply(to: &event)
        do { try event.validate() } catch { throw Console.fail("\(error)", ExitStatus.invalidInput) }
        return event
    }

    private func apply(to event: inout CloudEvent) throws {
        if let subject { event.subject = subject }
        if let datacontenttype { event.dataContentType = datacontenttype }
        if let dataschema { event.dataSchema = dataschema }
        if let time {
            do {
                event.time = time == "now" ? .now() : try Timestamp(rfc3339: time)
            } catch {
                throw Console.fail(
                    "attribute 'time' must be an RFC 3339 timestamp, got '\(time)': \(error)", ExitStatus.invalidInput)
            }
        }
        for argument in extensions {
            do { event.extensions[argument.name] = try AttributeValue(canonicalString: argument.value, as: argument.type) } catch
            {
                throw Console.fail("\(Violation(attribute: argument.name, rule: error))", ExitStatus.invalidInput)
            }
        }
        if let data {
            event.data = try eventData(Array(data.utf8), contentType: event.dataContentType, fromText: true)
        } else if let dataFile {
            event.data = try eventData(try readBytes(dataFile), contentType: event.dataContentType, fromText: false)
        }
    }

    /// JSON data (a JSON content type, or none with `--data`) must parse; other content types
    /// are classified like a binary-mode body.
    private func eventData(_ bytes: [UInt8], contentType: String?, fromText: Bool) throws -> EventData {
        let isJSON = contentType.map(MediaType.isJSON) ?? fromText
        guard isJSON else { return EventData(bytes: bytes, contentType: contentType) }
        do {
            return .json(try RawJSON(validating: bytes))
        } catch {
            let implied = contentType == nil ? " (no --datacontenttype, so application/json is implied)" : ""
            throw Console.fail("data is not valid JSON\(implied): \(error)", ExitStatus.invalidInput)
        }
    }

    private func readBytes(_ path: String) throws -> [UInt8] {
        if path == "-" { return [UInt8](FileHandle.standardInput.readDataToEndOfFile()) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Console.fail("cannot read file '\(path)'", ExitStatus.invalidInput)
        }
        return [UInt8](data)
    }
}

/// One `--ext name[:type]=value`. Its shape is checked while parsing; its value when the
/// event is built, so that a bad value is invalid input that names the attribute.
struct ExtensionArgument: ExpressibleByArgument {
    var name: String
    var type: AttributeType
    var value: String

    init?(argument: String) {
        guard let equals = argument.firstIndex(of: "=") else { return nil }
        let key = argument[..<equals]
        value = String(argument[argument.index(after: equals)...])
        guard let colon = key.firstIndex(of: ":") else {
            (name, type) = (String(key), .string)
            return
        }
        guard let type = AttributeType(name: String(key[key.index(after: colon)...])) else { return nil }
        (name, self.type) = (String(key[..<colon]), type)
    }
}
