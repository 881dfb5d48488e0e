import Foundation

/// A fresh directory under the system's temporary directory, for one test's buffers and
/// logs; removed after `body`, on every path, unless `CE_BRIDGE_TESTS_KEEP=1` (then its path
/// is printed, to read the bridges' logs).
func withTemporaryDirectory<Result>(_ name: String, _ body: (String) async throws -> Result) async throws -> Result {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("ce-bridge-\(Broker.uniqueID(name))").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer {
        if ProcessInfo.processInfo.environment["CE_BRIDGE_TESTS_KEEP"] == "1" {
            print("[\(name)] kept \(path)")
        } else {
            try? FileManager.default.removeItem(atPath: path)
        }
    }
    return try await body(path)
}
