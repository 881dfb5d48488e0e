/// The extension attributes of an event, in the order they were set or read.
///
/// Extensions are usually few, so they are kept in an array: iteration order is stable
/// (encoders write extensions in this order), and equality ignores order. Lookups are linear
/// while there are few; from ``indexingThreshold`` on, a name → position index keeps them
/// constant-time, so that an event with tens of thousands of extensions (a hostile message)
/// costs its decoder linear time, not quadratic.
public struct ExtensionAttributes: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    /// One extension: its name and its typed value.
    public typealias Element = (name: String, value: AttributeValue)

    private var entries: [Element]
    /// The position of each name's first entry; kept only from `indexingThreshold` entries on.
    private var positions: [String: Int]?

    /// Entries from which lookups go through `positions` rather than a scan.
    static let indexingThreshold = 32

    /// No extensions.
    public init() {
        entries = []
        positions = nil
    }

    /// The extensions in literal order; a repeated name keeps its first position and last value.
    public init(dictionaryLiteral elements: (String, AttributeValue)...) {
        entries = []
        for (name, value) in elements { self[name] = value }
    }

    /// The value of the extension `name`; setting `nil` removes it.
    public subscript(name: String) -> AttributeValue? {
        get {
            guard let index = position(of: name) else { return nil }
            return entries[index].value
        }
        set {
            if let index = position(of: name) {
                if let newValue {
                    entries[index].value = newValue
                } else {
                    entries.remove(at: index)
                    rebuildPositions()
                }
            } else if let newValue {
                appendUnchecked(name, newValue)
            }
        }
    }

    /// The position of the first entry named `name`.
    private func position(of name: String) -> Int? {
        if let positions { return positions[name] }
        return entries.firstIndex { $0.name == name }
    }

    /// Builds the index once there are enough entries for it, or drops it below that.
    private mutating func rebuildPositions() {
        guard entries.count >= Self.indexingThreshold else {
            positions = nil
            return
        }
        var index: [String: Int] = [:]
        index.reserveCapacity(entries.count)
        for (position, entry) in entries.enumerated() where index[entry.name] == nil { index[entry.name] = position }
        positions = index
    }

    /// How many extensions are set.
    public var count: Int { entries.count }
    /// Whether no extension is set.
    public var isEmpty: Bool { entries.isEmpty }
    /// The extensions' names, in order.
    public var names: [String] { entries.map(\.name) }

    /// Iterates the extensions in the order they were set or read.
    public func makeIterator() -> IndexingIterator<[Element]> {
        entries.makeIterator()
    }

    /// Appends without looking for an existing entry: for decoders that have already
    /// rejected duplicates.
    package mutating func appendUnchecked(_ name: String, _ value: AttributeValue) {
        entries.append((name, value))
        if positions != nil {
            if positions?[name] == nil { positions?[name] = entries.count - 1 }
        } else if entries.count == Self.indexingThreshold {
            rebuildPositions()
        }
    }

    package mutating func reserveCapacity(_ capacity: Int) {
        entries.reserveCapacity(capacity)
    }

    /// The same names with the same values, in any order (the index is not compared: it
    /// follows from the entries).
    public static func == (lhs: ExtensionAttributes, rhs: ExtensionAttributes) -> Bool {
        guard lhs.entries.count == rhs.entries.count else { return false }
        return lhs.entries.allSatisfy { rhs[$0.name] == $0.value }
    }

    /// Hashes the entries independently of their order, to match ``==``.
    public func hash(into hasher: inout Hasher) {
        // Order-independent: combine per-entry hashes commutatively.
        var combined = 0
        for entry in entries {
            var entryHasher = Hasher()
            entryHasher.combine(entry.name)
            entryHasher.combine(entry.value)
            combined ^= entryHasher.finalize()
        }
        hasher.combine(entries.count)
        hasher.combine(combined)
    }
}

extension ExtensionAttributes: CustomReflectable {
    /// The entries only, as before the index existed: the index is a cache, and would fill a
    /// log line with every name twice.
    public var customMirror: Mirror {
        Mirror(self, children: ["entries": entries])
    }
}
