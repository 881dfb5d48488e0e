/// The result of a conformance run: one cell per binding × content mode × format, each
/// counting the events that came back equivalent, with the failures and the places where
/// the comparison relied on a lossy rule.
public struct ConformanceMatrix: Sendable, Hashable, Codable {
    /// The format columns, in order (`json`, `protobuf`).
    public var formats: [String]
    /// The cells, in the order they ran.
    public var cells: [ConformanceCell]
    /// One sentence per group of rows not run, and why.
    public var notRun: [String]
    /// The run's wall-clock time in seconds.
    public var seconds: Double

    /// A matrix of `cells`.
    ///
    /// - Parameters:
    ///   - formats: the format columns.
    ///   - cells: the cells.
    ///   - notRun: the rows left out, and why.
    ///   - seconds: how long the run took.
    public init(formats: [String], cells: [ConformanceCell], notRun: [String] = [], seconds: Double = 0) {
        self.formats = formats
        self.cells = cells
        self.notRun = notRun
        self.seconds = seconds
    }

    /// Whether every cell is full (and there is at least one).
    public var isFull: Bool { !cells.isEmpty && cells.allSatisfy(\.isFull) }

    /// Every failure of every cell.
    public var failures: [ConformanceFailure] { cells.flatMap(\.failures) }
}

/// One binding × content mode × format: how many events round-tripped.
public struct ConformanceCell: Sendable, Hashable, Codable {
    /// The target's name (`HTTP`, `MQTT 5`), or `formats` for the cross-format row.
    public var binding: String
    /// The row's mode: `binary`, `structured`, `batch`, or the cross-format path.
    public var mode: String
    /// The format column; `nil` in binary mode, which carries no event format.
    public var format: String?
    /// Events that came back equivalent.
    public var passed: Int
    /// Events sent.
    public var total: Int
    /// What went wrong, per event.
    public var failures: [ConformanceFailure]
    /// Where the comparison relied on a rule the spec allows for a lossy binding or format.
    public var notes: [ConformanceNote]

    /// A cell with its counts, failures and notes.
    ///
    /// - Parameters:
    ///   - binding: the target's name.
    ///   - mode: the content mode (or cross-format path).
    ///   - format: the format; `nil` in binary mode.
    ///   - passed: events that came back equivalent.
    ///   - total: events sent.
    ///   - failures: what went wrong.
    ///   - notes: the lossy rules relied on.
    public init(
        binding: String, mode: String, format: String?, passed: Int, total: Int, failures: [ConformanceFailure] = [],
        notes: [ConformanceNote] = []
    ) {
        self.binding = binding
        self.mode = mode
        self.format = format
        self.passed = passed
        self.total = total
        self.failures = failures
        self.notes = notes
    }

    /// Whether the cell is full: at least one event, all of them equivalent.
    public var isFull: Bool { total > 0 && passed == total && failures.isEmpty }

    /// `passed/total`.
    public var score: String { "\(passed)/\(total)" }
}

/// One event that did not come back equivalent in one cell.
public struct ConformanceFailure: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The corpus case's name.
    public var event: String
    /// The target's name.
    public var binding: String
    /// The content mode (or cross-format path).
    public var mode: String
    /// The format; `nil` in binary mode.
    public var format: String?
    /// What differed, or what failed (a send error, a timeout, a decoding error).
    public var difference: String

    /// A failure of `event` in a cell.
    ///
    /// - Parameters:
    ///   - event: the case's name.
    ///   - binding: the target's name.
    ///   - mode: the content mode.
    ///   - format: the format, `nil` in binary mode.
    ///   - difference: what differed or failed.
    public init(event: String, binding: String, mode: String, format: String?, difference: String) {
        self.event = event
        self.binding = binding
        self.mode = mode
        self.format = format
        self.difference = difference
    }

    /// `binding mode format: 'event': difference` (no format in binary mode).
    public var description: String {
        "\(binding) \(mode)\(format.map { " \($0)" } ?? ""): '\(event)': \(difference)"
    }
}

/// A lossy rule one cell relied on, and for which events.
public struct ConformanceNote: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The rule, as a sentence (`timestamps compared by instant: the UTC offset is not carried`).
    public var note: String
    /// The corpus cases that needed it.
    public var events: [String]

    /// A note that `events` relied on `note`.
    ///
    /// - Parameters:
    ///   - note: the rule, as a sentence.
    ///   - events: the cases that needed it.
    public init(note: String, events: [String]) {
        self.note = note
        self.events = events
    }

    /// `note (n events: a, b, …)`.
    public var description: String {
        let shown = events.prefix(4).map { "'\($0)'" }.joined(separator: ", ")
        return "\(note) (\(events.count) event\(events.count == 1 ? "" : "s"): \(shown)\(events.count > 4 ? ", …" : ""))"
    }
}
