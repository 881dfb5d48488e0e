import Foundation

/// A fresh directory under the system's temporary directory, for one test's buffers and
/// logs; removed after `body`, on every path.
func withTemporaryDirectory<Result>(_ name: String, _ body: (String) async throws -> Result) async throws -> Result {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("ce-bridge-\(Broker.uniqueID(name))").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}
