import Foundation
import Testing

/// `ce conformance`: the matrix on stdout, the files it writes, and its exit codes.
@Suite("ce conformance")
struct ConformanceCommandTests {
    static func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("ce-conformance-\(UUID().uuidString)").path
    }

    @Test func theInProcessRowsAreFullAndTheMatrixIsWritten() async throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let run = try await CE.run(["conformance", "--binding", "memory", "--output", directory], timeLimit: 120)
        #expect(run.status == 0, "\(run)\n\(run.output)")
        let lines = run.outputLines
        #expect(
            lines.first?.split(separator: " ", omittingEmptySubsequences: true) == [
                "binding", "mode", "no", "format", "json", "protobuf"
            ])
        let rows = lines.filter { $0.hasPrefix("in-process ") }
        #expect(rows.count == 3, "\(run.output)")
        #expect(rows.allSatisfy { !$0.contains("✗") && $0.contains("/") }, "\(run.output)")
        #expect(lines.contains { $0.hasPrefix("all 5 cells full (") && $0.hasSuffix(" s)") }, "\(run.output)")
        let markdown = "\(directory)/matrix.md"
        let json = "\(directory)/matrix.json"
        #expect(lines.last == "wrote \(markdown) and \(json)")
        #expect(FileManager.default.fileExists(atPath: markdown) && FileManager.default.fileExists(atPath: json))
        #expect(run.stderr.isEmpty, "\(run.stderr)")
    }

    @Test func jsonPrintsTheMatrixAsJSON() async throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let run = try await CE.run(
            ["conformance", "--binding", "in-process", "--format", "json", "--json", "--output", directory],
            timeLimit: 120)
        #expect(run.status == 0, "\(run)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout)) as? [String: Any])
        #expect(document["passed"] as? Bool == true)
        let matrix = try #require(document["matrix"] as? [String: Any])
        #expect(matrix["formats"] as? [String] == ["json"])
        let cells = try #require(matrix["cells"] as? [[String: Any]])
        #expect(cells.map { "\($0["mode"] ?? "") \($0["format"] ?? "-")" } == ["binary -", "structured json", "batch json"])
    }

    /// Cells sharing one in-process channel (no `{cell}` in the URL) cannot change its mode:
    /// the later cells fail, the run exits 1 and the failures name the reason.
    @Test func aCellThatIsNotFullExitsOne() async throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let channel = "memory://shared-\(UUID().uuidString.prefix(8).lowercased())"
        let run = try await CE.run(
            ["conformance", "--endpoint", channel, "--format", "json", "--output", directory], timeLimit: 120)
        #expect(run.status == 1, "\(run)")
        #expect(run.output.contains("✗"), "\(run.output)")
        #expect(run.output.contains("contradicts the existing in-process channel"), "\(run.output)")
        #expect(run.outputLines.contains { $0.hasPrefix("2 of 3 cells not full") }, "\(run.output)")
    }

    @Test func anUnknownBindingExitsOne() async throws {
        let run = try await CE.run("conformance", "--binding", "carrier-pigeon", "--output", Self.temporaryDirectory())
        #expect(run.status == 1, "\(run)")
        #expect(run.errorLines.count == 1, "\(run.stderr)")
        #expect(run.errorLines.first?.hasPrefix("ce: no row matches --binding 'carrier-pigeon'") == true, "\(run.stderr)")
    }
}
