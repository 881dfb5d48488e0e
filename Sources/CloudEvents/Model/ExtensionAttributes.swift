/// The extension attributes of an event, in the order they were set or read.
///
/// Extensions are few, so they are kept in a small array: lookups are linear, iteration
/// order is stable (encoders write extensions in this order), and equality ignores order.
public struct ExtensionAttributes: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    /// One extension: its name and its typed value.
    public typealias Element = (name: String, value: AttributeValue)

    private var entries: [Element]

    /// No extensions.
    public init() {
        entries = []
    }

    /// The extensions in literal order; a repeated name keeps its first position and last value.
    public init(dictionaryLiteral elements: (String, AttributeValue)...) {
        entries = []
        for (name, value) in elements { self[name] = value }
    }

    /// The value of the extension `name`; setting `nil` removes it.
    public subscript(name: String) -> AttributeValue? {
        get {
            for entry in entries where entry.name == name { return entry.value }
            return nil
        }
        set {
            if let index = entries.firstIndex(where: { $0.name == name }) {
                if let newValue { entries[index].value = newValue } else { entries.remove(at: index) }
            } else if let newValue {
                entries.append((name, newValue))
            }
        }
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
    }

    package mutating func reserveCapacity(_ capacity: Int) {
        entries.reserveCapacity(capacity)
    }

    /// The same names with the same values, in any order.
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
