import Foundation
import NormBenchEngine
import NormBenchWorkloads

/// The convergence control: a workload's cells against the same cells trained longer.
extension WorkloadPage {
    /// The same (method, batch) trained longer, in `longer` (a workload named
    /// `<name>-long` or `<name>-<k>x`): the change of each headline metric (top-1
    /// error; mAP@0.5 and mAP@0.5:0.95 for detection, a table each) with its Welch interval.
    func convergenceSection(longer: [ResultRecord], workload: String) -> String {
        let metrics = hasTop1 ? [Self.top1] : DetectionTask.metrics
        let other = WorkloadGrid(workload: workload, records: longer)
        func epochs(_ rs: [ResultRecord]) -> String {
            Set(rs.compactMap { $0.training?.epochs }).sorted().map { Format.fixed($0, 1) }.joined(separator: ", ")
        }
        var tables: [String] = [], gapTables: [String] = []
        var usedBootstrap = false
        for metric in metrics {
            let value: (ResultRecord) -> Double? = { $0.accuracy?[metric] }
            // A cell of one seed shows its bootstrap over evaluation clips when the record has one (detection).
            func cell(_ m: MeanInterval, _ rs: [ResultRecord]) -> String {
                guard m.count == 1, let r = rs.first(where: { value($0) != nil }), let text = Self.bootstrapCell(m, r, metric) else { return StudyFormat.cell(m) }
                usedBootstrap = true
                return text
            }
            let title = "\(metric.title) (%)"
            var table = MarkdownTable(header: ["method", "batch", "epochs", title, "epochs (longer)", "\(title) (longer)", "change, points [95 % CI]",
                                               "change paired by seed"], textColumns: 1)
            for m in grid.methods where other.methods.contains(m) {
                for b in grid.batches {
                    let here = grid.records(m, batch: b).filter { $0.status == .completed }
                    let there = other.records(m, batch: b).filter { $0.status == .completed }
                    let a = here.compactMap(value), c = there.compactMap(value)
                    guard let ia = MeanInterval(a), let ic = MeanInterval(c), let d = Difference.welch(c, a) else { continue }
                    let paired = Self.pairedBySeed(there, minus: here, value)
                    table.rows.append([grid.label(m), String(b), epochs(here), cell(ia, here), epochs(there), cell(ic, there), StudyFormat.difference(d), paired])
                }
            }
            if !table.rows.isEmpty { tables.append(table.render()) }
            if let gaps = gapChanges(other, value, metric.title) { gapTables.append(gaps) }
        }
        guard !tables.isEmpty else { return "" }
        var md = "## Convergence control: the same cells trained longer ([\(workload)](\(workload).md))\n\n"
        md += tables.joined(separator: "\n")
        md += "\nChange = longer minus this workload's \(metrics.map(\.title).joined(separator: " or ")) (\(metrics[0].higherIsBetter ? "positive" : "negative"): longer training helped), Welch 95 % interval over all seeds of each; "
        md += "paired: the same seed's change (same initial weights and data order), mean and t interval over the seeds both have. "
        md += "An interval excluding zero means the cells here had not converged; a method whose gap to another shrinks with training "
        md += "was limited by the training length, not by its batch."
        if usedBootstrap { md += " " + Self.bootstrapCellNote }
        md += "\n\n"
        if !gapTables.isEmpty {
            md += "How the differences change with training length:\n\n" + gapTables.joined(separator: "\n")
            md += "\nGap = GN minus the other method at each length (positive: GN \(metrics[0].higherIsBetter ? "scores higher" : "has the higher error")), "
            md += "Welch 95 % interval over seeds; change = the longer workload's gap "
            md += "minus this one's (a difference-in-differences: standard error over the four cells, Welch–Satterthwaite degrees of freedom); "
            md += "paired: the same per seed, mean and t interval over the seeds all four cells have. A change whose interval excludes zero "
            md += "means the comparison here was still moving with training length.\n\n"
        }
        return md
    }

    /// GN against each other method that both workloads ran (fine-tuned or
    /// trained from scratch alike, never mixed): the gap at each length and
    /// how it changed. Nil when there is no such pair.
    private func gapChanges(_ other: WorkloadGrid, _ value: (ResultRecord) -> Double?, _ title: String) -> String? {
        let common = grid.methods.filter { other.methods.contains($0) }
        var table = MarkdownTable(header: ["difference", "batch", "\(title) gap", "gap (longer)", "change of the gap [95 % CI]", "change paired by seed"], textColumns: 1)
        let values = Self.inSeedOrder
        for gn in common where gn.norm == "gn" {
            for m in common where m.norm != "gn" && m.scratch == gn.scratch {
                for b in grid.batches {
                    func seeds(_ g: WorkloadGrid, _ k: MethodKey) -> [Int: Double] { Self.bySeed(g.records(k, batch: b), value) }
                    let (gs, ms, gl, ml) = (seeds(grid, gn), seeds(grid, m), seeds(other, gn), seeds(other, m))
                    guard let short = Difference.welch(values(gs), values(ms)), let long = Difference.welch(values(gl), values(ml)) else { continue }
                    let paired = Self.pairedDifferences(Self.pairedDifferences(gl, minus: ml), minus: Self.pairedDifferences(gs, minus: ms))
                    table.rows.append(["\(grid.label(gn)) − \(grid.label(m))", String(b), StudyFormat.difference(short), StudyFormat.difference(long),
                                       StudyFormat.difference(long.minus(short)), Self.pairedText(paired)])
                }
            }
        }
        return table.rows.isEmpty ? nil : table.render()
    }
}
