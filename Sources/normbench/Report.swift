import Foundation

/// A benchmark's report: printed line by line as it is measured, or, with
/// `--json`, collected and printed at the end as one JSON object:
/// `{"command", "lines": [text lines], "tables": [{"title", "columns", "rows"}]}`,
/// where every Markdown table of the text report becomes a table (a cell that
/// is a plain number becomes a JSON number) and every other line stays a line.
final class Report: @unchecked Sendable {
    nonisolated(unsafe) static var shared = Report()

    private(set) var json = false
    private var command = ""
    private var collected: [String] = []

    /// Starts collecting for `command` when `json` is set.
    static func begin(_ command: String, json: Bool) {
        shared = Report()
        shared.json = json
        shared.command = command
    }

    /// One line of the report: printed unbuffered (the tables appear as they are
    /// measured, also when piped), or collected.
    func line(_ text: String) {
        if json { collected.append(contentsOf: text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)) }
        else { FileHandle.standardOutput.write(Data((text + "\n").utf8)) }
    }

    /// Prints the collected report as one JSON object (nothing in text mode).
    func finish() throws {
        guard json else { return }
        try printJSON(Self.parse(command: command, collected))
    }

    struct Document: Encodable {
        var command: String
        var lines: [String]
        var tables: [Table]
    }

    struct Table: Encodable {
        var title: String?
        var columns: [String]
        var rows: [[Cell]]
    }

    enum Cell: Encodable {
        case number(Double), text(String)
        init(_ s: String) {
            if let v = Double(s), v.isFinite, s.first.map({ $0.isNumber || $0 == "-" }) == true { self = .number(v) } else { self = .text(s) }
        }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .number(let v): try c.encode(v)
            case .text(let s): try c.encode(s)
            }
        }
    }

    /// Markdown tables (`| a | b |` then `|---|`) become tables titled by the
    /// `## ` heading above them; other non-empty lines stay lines.
    static func parse(command: String, _ lines: [String]) -> Document {
        var doc = Document(command: command, lines: [], tables: [])
        var title: String?
        var i = 0
        func cells(_ l: String) -> [String] {
            l.trimmingCharacters(in: .whitespaces).dropFirst().dropLast().split(separator: "|", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
        }
        while i < lines.count {
            let l = lines[i]
            if l.hasPrefix("|"), i + 1 < lines.count, lines[i + 1].hasPrefix("|--") {
                var table = Table(title: title, columns: cells(l), rows: [])
                i += 2
                while i < lines.count, lines[i].hasPrefix("|") { table.rows.append(cells(lines[i]).map(Cell.init)); i += 1 }
                doc.tables.append(table)
                continue
            }
            if l.hasPrefix("## ") { title = String(l.dropFirst(3)) }
            if !l.trimmingCharacters(in: .whitespaces).isEmpty { doc.lines.append(l) }
            i += 1
        }
        return doc
    }
}

/// A line of a benchmark's report (`Report.shared`).
func emit(_ line: String) {
    Report.shared.line(line)
}
