import ArgumentParser
import CloudEvents
import Foundation

/// `ce convert`: one event (or a batch) on stdin, the same in another format on stdout.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert an event (or a batch) between event formats, stdin to stdout.",
        discussion: "Invalid input exits with code 1 and one line on stderr naming the attribute or position and the rule broken."
    )

    @Option(help: "The format of the input.")
    var from: FormatName

    @Option(help: "The format of the output.")
    var to: FormatName

    @Flag(help: "Convert a batch instead of a single event.")
    var batch = false

    func run() throws {
        let input = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
        let source = from.format
        let target = to.format
        let output: [UInt8]
        do {
            if batch {
                output = try target.encodeBatch(try source.decodeBatch(input))
            } else {
                output = try target.encode(try source.decode(input))
            }
        } catch {
            throw Console.fail("\(error)", ExitStatus.invalidInput)
        }
        // JSON is text: end it with a newline, as text tools expect.
        Console.write(MediaType.isJSON(target.mediaType) ? output + [0x0A] : output)
    }
}
