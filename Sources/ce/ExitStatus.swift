import ArgumentParser
import Foundation

/// The exit codes `ce` documents.
enum ExitStatus {
    static let invalidInput = ExitCode(1)
    static let timedOut = ExitCode(2)
    static let transportFailed = ExitCode(3)
}

/// Output helpers: stdout for results, one line on stderr for each problem.
enum Console {
    static func error(_ message: String) {
        let line = message.replacingOccurrences(of: "\n", with: " ")
        FileHandle.standardError.write(Data("ce: \(line)\n".utf8))
    }

    static func write(_ bytes: [UInt8]) {
        FileHandle.standardOutput.write(Data(bytes))
    }

    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    /// Prints `message` on stderr and fails with `status`.
    static func fail(_ message: String, _ status: ExitCode) -> ExitCode {
        error(message)
        return status
    }
}
