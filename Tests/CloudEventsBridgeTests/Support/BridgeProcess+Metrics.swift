import AsyncHTTPClient
import CloudEventsTestSupport
import Foundation
import NIOCore

extension BridgeProcess {
    /// The port of its operations endpoints, from the line `ce bridge --metrics-listen …` logs
    /// (`operations endpoints at http://127.0.0.1:PORT (…)`); `nil` before that line.
    var operationsPort: Int? {
        let marker = "operations endpoints at http://127.0.0.1:"
        guard let range = stderr.range(of: marker) else { return nil }
        return Int(stderr[range.upperBound...].prefix { $0.isNumber })
    }

    /// The sum of every sample of metric `name` (all label sets) on its `/metrics`, `0` when
    /// it has none.
    ///
    /// - Throws: ``SpawnError`` without operations endpoints, or the HTTP client's error.
    func metric(_ name: String) async throws -> Double {
        guard let port = operationsPort else {
            throw SpawnError(message: "no operations endpoints (start ce bridge with --metrics-listen 127.0.0.1:0)")
        }
        let response = try await HTTPClient.shared.execute(
            HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics"), timeout: .seconds(30))
        let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
        return body.split(separator: "\n").reduce(0) { sum, line in
            guard line.hasPrefix(name + "{") || line.hasPrefix(name + " ") else { return sum }
            return sum + (line.split(separator: " ").last.flatMap { Double($0) } ?? 0)
        }
    }
}
