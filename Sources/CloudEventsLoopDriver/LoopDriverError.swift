/// Why a ``LoopDriver`` could not run a command or complete a continuation.
package struct LoopDriverError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    package enum Code: Sendable, Hashable {
        /// The loop has ended (or is ending): the command was not run, or the continuation
        /// was still waiting when the loop ended.
        case shutDown
        /// The loop thread could not be created.
        case threadCreationFailed
        /// A continuation was resumed with a value of another type than it waits for.
        case resultTypeMismatch
        /// ``LoopDriver/start(_:)`` was called twice.
        case alreadyStarted
    }

    /// What went wrong.
    package var code: Code
    /// The driver's name (which library's loop).
    package var loop: String
    /// Details, such as the system error.
    package var detail: String

    package init(_ code: Code, loop: String, detail: String = "") {
        self.code = code
        self.loop = loop
        self.detail = detail
    }

    package var description: String {
        let what =
            switch code {
            case .shutDown: "the network loop has shut down"
            case .threadCreationFailed: "cannot create the network loop thread"
            case .resultTypeMismatch: "a continuation was resumed with a value of the wrong type"
            case .alreadyStarted: "the network loop was already started"
            }
        return "\(loop): \(what)\(detail.isEmpty ? "" : ": \(detail)")"
    }
}
