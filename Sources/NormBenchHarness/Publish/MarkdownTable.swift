import Foundation

/// A GitHub-flavoured Markdown table: a header, right-aligned numeric columns.
struct MarkdownTable {
    var header: [String]
    var rows: [[String]] = []
    /// The first `textColumns` columns are left-aligned text, the rest right-aligned numbers.
    var textColumns = 1

    func render() -> String {
        var lines = ["| " + header.joined(separator: " | ") + " |"]
        lines.append("|" + header.indices.map { $0 < textColumns ? "---" : "---:" }.joined(separator: "|") + "|")
        for row in rows { lines.append("| " + row.joined(separator: " | ") + " |") }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Number formatting for tables and charts: fixed decimals, POSIX format (no
/// locale), so the same numbers always give the same bytes.
enum Format {
    static func fixed(_ value: Double, _ decimals: Int) -> String {
        String(format: "%.\(decimals)f", value)
    }

    /// "24.1 ± 0.3" (percent of a fraction), or "24.1" for one seed.
    static func percent(_ s: SeedStatistics, decimals: Int = 1) -> String {
        s.count > 1 ? "\(fixed(s.mean * 100, decimals)) ± \(fixed(s.std * 100, decimals))" : fixed(s.mean * 100, decimals)
    }

    /// Shortest form: 12, 9.75.
    static func number(_ value: Double) -> String { String(format: "%g", value) }

    static func mib(_ bytes: Int) -> String { fixed(Double(bytes) / 1_048_576, 1) }

    /// Escapes `|` so a free-text value cannot break a Markdown table.
    static func cell(_ text: String) -> String { text.replacingOccurrences(of: "|", with: "\\|") }
}

/// Where a table's numbers came from: machine, threads, versions, data, commit.
enum Provenance {
    /// One line naming every distinct value among the records (sorted), e.g.
    /// "Machine: AMD EPYC (2 logical CPUs), threads 2; normbench 0.1, Swift 6.3, ...".
    static func line(_ records: [ResultRecord]) -> String {
        func distinct(_ f: (ResultRecord) -> String) -> String {
            let values = Set(records.map(f)).sorted()
            return values.isEmpty ? "?" : values.joined(separator: ", ")
        }
        let machine = distinct { "\($0.environment.cpuModel) (\($0.environment.logicalCPUs) logical CPUs)" }
        let threads = distinct { String($0.cell.threads) }
        let versions = "normbench \(distinct { $0.environment.normbenchVersion }), Swift \(distinct { $0.environment.swiftVersion }), "
            + "FFmpeg \(distinct { $0.environment.ffmpegVersion }), oneDNN \(distinct { $0.environment.oneDNNVersion })"
        let data = distinct { "\($0.data.description) (\($0.data.trainClips) train / \($0.data.evalClips) eval clips, digest \($0.data.digest))" }
        let commit = distinct { $0.environment.gitCommit }
        let dates = Set(records.map { String($0.environment.date.prefix(10)) }).sorted()
        let when = dates.isEmpty ? "?" : (dates.count == 1 ? dates[0] : "\(dates.first!)…\(dates.last!)")
        return Format.cell("_Machine: \(machine); threads: \(threads); \(versions); data: \(data); commit \(commit); run \(when)._")
    }
}
