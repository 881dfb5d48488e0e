public import CloudEvents

/// The events every format and binding must carry without loss, read from the data files
/// under `Conformance/Cases/valid/` (one JSON-format event per file, listed with a
/// description and the extension types to decode it with by `valid/manifest.json`): every
/// attribute type in core and extension positions, both spec versions, `time` at every
/// precision and with offsets, every data shape (none, empty, JSON object, array, number,
/// string, `null`, text, binary, 256 KiB), header-hostile values and edge-case names.
///
/// The files load once, on first use; a missing or malformed file stops the program with a
/// ``CorpusFileError`` naming the file (call ``CorpusFiles/validCases()`` to get the error
/// instead).
public enum Corpus {
    /// One named event.
    public struct Case: Sendable, CustomStringConvertible {
        /// The case's description (from the manifest).
        public let name: String
        /// The event.
        public let event: CloudEvent
        /// The types of the event's extensions that JSON and the header bindings carry as
        /// Strings (Binary, URI, URI-reference, Timestamp): what to decode it with.
        public let extensionTypes: ExtensionTypes
        /// The file the event was read from (in `valid/`), or `nil` for a case built in code.
        public let file: String?

        /// A case.
        ///
        /// - Parameters:
        ///   - name: a one-line description.
        ///   - event: the event.
        ///   - extensionTypes: the types of its extensions that formats without types carry as Strings.
        ///   - file: the file it was read from, if any.
        public init(name: String, event: CloudEvent, extensionTypes: ExtensionTypes = .none, file: String? = nil) {
            self.name = name
            self.event = event
            self.extensionTypes = extensionTypes
            self.file = file
        }

        /// The case's name.
        public var description: String { name }
    }

    /// Every valid event of the corpus, in the manifest's order.
    public static let events: [Case] = loadOrStop { () throws(CorpusFileError) in
        try CorpusFiles.bundled().validCases()
    }

    /// The types of every case's extensions that formats without types carry as Strings:
    /// the union of ``Case/extensionTypes`` (the loader refuses a name declared with two types).
    public static let extensionTypes: ExtensionTypes = events.reduce(ExtensionTypes.none) {
        $0.merging($1.extensionTypes)
    }

    /// The loaded files, or a stop naming the file: the corpus is part of the program, and a
    /// test run against an empty or partial corpus would pass without testing anything.
    static func loadOrStop<T>(_ load: () throws(CorpusFileError) -> T) -> T {
        do { return try load() } catch { fatalError("\(error)") }
    }
}
