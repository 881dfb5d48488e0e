import Foundation

extension ConformanceMatrix {
    /// The column of binary-mode cells, which carry no event format.
    public static let noFormatColumn = "no format"

    /// The rows, in the order their first cell ran: each a binding, a mode, and its cells by
    /// column (``noFormatColumn`` for binary mode, else the format).
    var rows: [(binding: String, mode: String, cells: [String: ConformanceCell])] {
        var rows: [(binding: String, mode: String, cells: [String: ConformanceCell])] = []
        for cell in cells {
            let column = cell.format ?? Self.noFormatColumn
            if let index = rows.firstIndex(where: { $0.binding == cell.binding && $0.mode == cell.mode }) {
                rows[index].cells[column] = cell
            } else {
                rows.append((cell.binding, cell.mode, [column: cell]))
            }
        }
        return rows
    }

    /// The columns: ``noFormatColumn`` when there are binary-mode cells, then the formats.
    var columns: [String] {
        (cells.contains { $0.format == nil } ? [Self.noFormatColumn] : []) + formats
    }

    /// `passed/total`, with `✗` when the cell is not full; `–` where the row has no such cell.
    private static func text(_ cell: ConformanceCell?) -> String {
        guard let cell else { return "–" }
        return cell.isFull ? cell.score : "\(cell.score) ✗"
    }

    /// The summary line: how many cells are full, and the run time.
    public var summary: String {
        let full = cells.filter(\.isFull).count
        let time = String(format: "%.1f s", seconds)
        if isFull { return "all \(cells.count) cells full (\(time))" }
        return "\(cells.count - full) of \(cells.count) cells not full, \(failures.count) failures (\(time))"
    }

    /// The matrix as an aligned text table, then the failures, the lossy rules relied on,
    /// the rows not run, and the summary line.
    public func table() -> String {
        let header = ["binding", "mode"] + columns
        let body = rows.map { row in [row.binding, row.mode] + columns.map { Self.text(row.cells[$0]) } }
        var widths = header.map(\.count)
        for line in body { for (index, field) in line.enumerated() { widths[index] = max(widths[index], field.count) } }
        func format(_ fields: [String]) -> String {
            fields.enumerated().map { index, field in
                field + String(repeating: " ", count: widths[index] - field.count)
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        var lines = [format(header)] + body.map(format)
        lines += detailLines(bullet: "  ")
        lines.append(summary)
        return lines.joined(separator: "\n") + "\n"
    }

    /// The matrix as a Markdown table, then the failures, the lossy rules relied on, the
    /// rows not run, and the summary line.
    public func markdown() -> String {
        var lines = ["# Conformance matrix", ""]
        lines.append("| " + (["binding", "mode"] + columns).joined(separator: " | ") + " |")
        lines.append("|" + String(repeating: "---|", count: columns.count + 2))
        for row in rows {
            let fields = [row.binding, row.mode] + columns.map { Self.text(row.cells[$0]) }
            lines.append("| " + fields.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |")
        }
        lines.append("")
        lines += detailLines(bullet: "- ")
        lines.append("")
        lines.append(summary)
        return lines.joined(separator: "\n") + "\n"
    }

    /// The matrix as JSON (``ConformanceMatrix`` is `Codable`), keys sorted, with `passed`.
    ///
    /// - Throws: what `JSONEncoder` throws (nothing for these values).
    public func json() throws -> [UInt8] {
        struct Document: Encodable {
            let passed: Bool
            let summary: String
            let matrix: ConformanceMatrix
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(Document(passed: isFull, summary: summary, matrix: self))) + [0x0A]
    }

    /// Writes `matrix.md` and `matrix.json` into `directory`, creating it.
    ///
    /// - Parameter directory: where to write (`.build/conformance`).
    /// - Returns: the paths written.
    /// - Throws: the file system's error when the directory or a file cannot be written.
    @discardableResult
    public func write(to directory: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let markdownPath = (directory as NSString).appendingPathComponent("matrix.md")
        let jsonPath = (directory as NSString).appendingPathComponent("matrix.json")
        try Data(markdown().utf8).write(to: URL(fileURLWithPath: markdownPath))
        try Data(try json()).write(to: URL(fileURLWithPath: jsonPath))
        return [markdownPath, jsonPath]
    }

    /// The failures, the lossy rules relied on (per cell), and the rows not run.
    private func detailLines(bullet: String) -> [String] {
        var lines: [String] = []
        if !failures.isEmpty {
            lines.append("Failures:")
            lines += failures.map { bullet + $0.description.replacingOccurrences(of: "\n", with: " ") }
        }
        let noted = cells.filter { !$0.notes.isEmpty }
        if !noted.isEmpty {
            lines.append("Lossy rules relied on (allowed by the spec's equivalence, stated per cell):")
            for cell in noted {
                for note in cell.notes {
                    lines.append(bullet + "\(cell.binding) \(cell.mode)\(cell.format.map { " \($0)" } ?? ""): \(note)")
                }
            }
        }
        lines += notRun.map { "Not run: \($0)" }
        return lines
    }
}
