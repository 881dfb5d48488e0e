/// A bridge configuration that cannot run, with where it is wrong: the file, the line and
/// column, and the field as a path (`routes[1].retry.max_attempts`), so that a person can go
/// straight to it.
///
/// The message never holds a password or a value taken from the environment that could be one:
/// endpoints are printed with their password masked and `${NAME}` references as written.
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The configuration file's path as given, or the empty string for a value that came
    /// from a command-line flag.
    public var file: String
    /// The line the problem is on, from 1; `nil` when the problem is not on one line (a file
    /// that cannot be read, a flag).
    public var line: Int?
    /// The column the problem starts at, from 1 (counted in Unicode scalars); `nil` with no line.
    public var column: Int?
    /// The field as a path from the file's top (`routes[0].buffer.max_bytes`, route indices
    /// from 0), or a flag (`--max-attempts`); empty when the problem is the whole file.
    public var field: String
    /// What is wrong, for a person to read (`expected a whole number ≥ 1, got 'many'`).
    public var message: String

    /// An error at `file:line:column` in `field`.
    ///
    /// - Parameters:
    ///   - file: the file's path, or empty for a flag.
    ///   - line: the line, from 1, if known.
    ///   - column: the column, from 1, if known.
    ///   - field: the field's path, or empty for the whole file.
    ///   - message: what is wrong.
    public init(file: String, line: Int? = nil, column: Int? = nil, field: String, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        self.message = message
    }

    /// `bridge.yaml:14:5: routes[1].retry.max_attempts: expected a whole number ≥ 1, got 'many'`;
    /// the parts that are unknown are left out.
    public var description: String {
        var location = file
        if let line {
            location += ":\(line)"
            if let column { location += ":\(column)" }
        }
        let parts = [location, field, message].filter { !$0.isEmpty }
        return parts.joined(separator: ": ")
    }
}
