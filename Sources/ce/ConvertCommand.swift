import ArgumentParser
import CloudEvents
import CloudEventsProtobuf

/// `ce convert`: events on stdin, the same events in another format (or shape) on stdout.
///
/// It streams: stdin is read in large blocks, a JSON batch, JSON Lines and a Protobuf batch
/// are decoded element by element and each event is written as soon as it is converted, so
/// memory follows the largest event, not the input.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert an event (or a batch, or JSON Lines) between event formats, stdin to stdout.",
        discussion: """
            jsonl is JSON Lines: one JSON event per line, what `ce listen` prints (blank lines are ignored). \
            --from jsonl reads a sequence of events: write it with --to jsonl, or as one batch with --batch. \
            --to jsonl writes each event of a batch (with --batch) or the one event on a line of its own.

            Invalid input exits with code 1 and one line on stderr naming the attribute or position (the event's \
            index in a batch, the line in JSON Lines) and the rule broken; events converted before a bad one have \
            already been written. With --skip-invalid, each bad event is reported on stderr and skipped, and a count \
            is printed at the end.
            """
    )

    @Option(help: "The format of the input: a format name, or jsonl.")
    var from: ConvertShapeName

    @Option(help: "The format of the output: a format name, or jsonl.")
    var to: ConvertShapeName

    @Flag(help: "Convert a batch instead of a single event.")
    var batch = false

    @Flag(help: "Report each invalid event of a batch or of JSON Lines on stderr and skip it, instead of failing.")
    var skipInvalid = false

    /// Whether the input is a sequence of events (a batch or JSON Lines).
    private var readsSequence: Bool { batch || from.isLines }

    func validate() throws {
        if from.isLines && !to.isLines && !batch {
            throw ValidationError(
                "--from jsonl reads a sequence of events: add --batch to write them as one \(to.name) batch, or use --to jsonl")
        }
        if skipInvalid && !readsSequence {
            throw ValidationError("--skip-invalid needs a sequence of events: --batch or --from jsonl")
        }
    }

    func run() throws {
        var stream = ConvertStream(
            from: inputShape, to: ConvertSink(outputShape), input: ConvertInput(),
            // A batch on either side must share one specversion; JSON Lines to JSON Lines need not.
            sameSpecVersion: batch && !(from.isLines && to.isLines), skipInvalid: skipInvalid)
        do {
            try stream.run()
        } catch {
            throw Console.fail(error.description, ExitStatus.invalidInput)
        }
        if skipInvalid {
            let skipped = stream.skipped
            let converted = stream.sink.count
            Console.error(
                "converted \(converted) event\(converted == 1 ? "" : "s"), skipped \(skipped) invalid event\(skipped == 1 ? "" : "s")"
            )
        }
    }

    private var inputShape: ConvertStream.InputShape {
        guard let format = from.format else { return .lines(JSONEventFormat()) }
        guard batch else { return .single(format) }
        if let json = format as? JSONEventFormat { return .jsonBatch(json) }
        if format is ProtobufEventFormat { return .protobufBatch(format) }
        return .wholeBatch(format)
    }

    private var outputShape: ConvertSink.Shape {
        guard let format = to.format else { return .lines }
        guard readsSequence else { return .single(format) }
        if let json = format as? JSONEventFormat { return .jsonBatch(json) }
        if let protobuf = format as? ProtobufEventFormat { return .protobufBatch(protobuf) }
        return .collectedBatch(format)
    }
}
