import CloudEvents

/// The events the fault tests publish: distinct ids `<prefix>-<index>`, a `subject` that
/// spreads them over a few ordering keys, and a small JSON body.
enum TestEvents {
    /// The source every test event has.
    static let source = "/ce/bridge-tests"
    /// The type every test event has.
    static let type = "com.example.bridge.fault"

    /// Event `index` of a run whose ids start with `prefix`, keyed by `subject` `key-<index % keys>`.
    static func event(_ index: Int, prefix: String, keys: Int = 4) -> CloudEvent {
        var event = CloudEvent(id: id(index, prefix: prefix), source: source, type: type)
        event.subject = "key-\(index % max(1, keys))"
        event.dataContentType = "application/json"
        event.extensions = ["seq": .string("\(index)")]
        event.data = .json(try! RawJSON(validating: #"{"n":\#(index),"pad":"\#(String(repeating: "x", count: 64))"}"#))
        return event
    }

    /// The id of event `index`.
    static func id(_ index: Int, prefix: String) -> String { "\(prefix)-\(index)" }

    /// The ids of events `indices`.
    static func ids(_ indices: Range<Int>, prefix: String) -> Set<String> {
        Set(indices.map { id($0, prefix: prefix) })
    }
}
