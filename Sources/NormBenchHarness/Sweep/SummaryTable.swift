import NormBenchWorkloads
import Foundation

/// The end-of-run table: rows = norm (and groups), columns = batch per worker,
/// cells = accuracy mean ± std over seeds, clips/s, peak MiB.
public enum SummaryTable {
    /// A row: the norm, its groups, and "scratch" for from-scratch reference cells.
    static func rowName(_ c: CellKey) -> String {
        (c.groups == "-" ? c.norm : "\(c.norm) G=\(c.groups)") + (c.isScratch ? " scratch" : "")
    }

    public static func render(_ records: [ResultRecord]) -> String {
        let batches = Array(Set(records.map(\.cell.batch))).sorted()
        var rows: [(String, [String])] = []
        var seen: [String] = []
        for r in records {
            let name = rowName(r.cell)
            if !seen.contains(name) { seen.append(name) }
        }
        for name in seen {
            let cells = batches.map { b -> String in
                let group = records.filter { rowName($0.cell) == name && $0.cell.batch == b }
                if group.isEmpty { return "" }
                if group.allSatisfy({ $0.status == .overBudget }) { return "over budget" }
                if group.allSatisfy({ $0.status == .diverged }) { return "diverged" }
                if group.allSatisfy({ $0.status == .failed }) { return "FAILED (did not learn)" }
                let ok = group.filter { $0.status == .completed }
                let failed = group.filter { $0.status == .failed }.count
                let mark = failed > 0 ? " · \(failed) FAILED" : ""
                let errors = ok.compactMap { r in Metric.headlines.lazy.compactMap { m in r.accuracy?[m].map(m.asError) }.first }
                let metric = errors.isEmpty ? "-" : meanStd(errors.map { $0 * 100 })
                let speed = ok.compactMap { $0.throughput?.trainClipsPerSecond }
                let peak = ok.map(\.memory.ledgerPeakBytes).max() ?? 0
                return "\(metric) · \(String(format: "%.1f", speed.reduce(0, +) / Double(max(speed.count, 1)))) clips/s · \(mib(peak)) MiB\(mark)"
            }
            rows.append((name, cells))
        }
        // From every record, failed ones too: a run whose every cell failed still names its task's metric.
        let metricName = (Metric.headlines.last { m in records.contains { $0.accuracy?[m] != nil } } ?? Metric.headlines[0]).asErrorTitle
        // Workers that differ by batch (`sweep.stepClips`) are shown with the batch.
        let varied = Set(records.map(\.cell.workers)).count > 1
        let header = ["norm"] + batches.map { b in
            varied ? "batch \(b) (W=\(Set(records.filter { $0.cell.batch == b }.map(\.cell.workers)).sorted().map(String.init).joined(separator: "/")))" : "batch \(b)"
        }
        var table = [header] + rows.map { [$0.0] + $0.1 }
        let widths = (0..<header.count).map { c in table.map { $0[c].count }.max() ?? 0 }
        table.insert(widths.map { String(repeating: "-", count: $0) }, at: 1)
        let lines = table.map { row in
            row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: " | ")
        }
        var text = "\(metricName), mean ± std over seeds · train clips/s · peak memory (ledger)\n" + lines.joined(separator: "\n") + "\n"
        let failed = records.filter { $0.status == .failed }
        if !failed.isEmpty {
            text += "FAILED (did not learn; excluded from the means above and from pages):\n"
            text += failed.map { "  \($0.cell.id): \($0.note ?? "")\n" }.joined()
        }
        return text
    }

    static func meanStd(_ v: [Double]) -> String {
        let mean = v.reduce(0, +) / Double(v.count)
        guard v.count > 1 else { return String(format: "%.1f", mean) }
        let std = (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count - 1)).squareRoot()
        return String(format: "%.1f ± %.1f", mean, std)
    }
}
