/// A query option a binding reads from its endpoints (`qos=`, `version=`, ...), with one line
/// of help, so that tools build their help and validation from the bindings.
public struct EndpointOption: Sendable, Hashable, CustomStringConvertible {
    /// The option's name, lowercased, as written in the query.
    public var name: String
    /// One line saying what the option does and which values it takes.
    public var help: String

    /// Creates an option description.
    ///
    /// - Parameters:
    ///   - name: the option's name, lowercased.
    ///   - help: one line of help.
    public init(_ name: String, help: String) {
        self.name = name.lowercased()
        self.help = help
    }

    /// `name: help`.
    public var description: String { "\(name): \(help)" }

    /// `mode=binary|structured|batch`, which every binding reads.
    public static let mode = EndpointOption("mode", help: "the content mode: binary, structured or batch")
    /// `format=`, which every binding reads: one of the formats in ``BindingOptions/formats``.
    public static let format = EndpointOption("format", help: "the event format for structured and batch mode (json by default)")
}
