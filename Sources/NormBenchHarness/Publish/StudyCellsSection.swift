import Foundation
import NormBenchWorkloads

/// A study page's last sections: every cell's headline metric at each
/// evaluation (and the cells still improving), and the failed cells.
extension WorkloadPage {
    // MARK: Every cell

    /// How much better a cell's headline metric (top-1 error, or mAP@0.5) must be at
    /// its last evaluation than two evaluations before for the page to name it as
    /// possibly not converged, in points.
    static let stillImprovingPoints = 2.0

    /// The completed cells' values of `metric` over their evaluations, seed by
    /// seed, and the cells still improving at the end of training; empty when
    /// no record holds more than one evaluation.
    func cellsSection(_ metric: Metric = WorkloadPage.top1) -> String {
        let name = metric.name
        let rows = grid.methods.flatMap { m in grid.batches.flatMap { b in
            grid.records(m, batch: b).filter { $0.status == .completed && ($0.evaluation?.runs.count ?? 0) > 1 }.map { (m, $0) }
        } }
        guard !rows.isEmpty else { return "" }
        let epochs = Set(rows.compactMap { $0.1.evaluation?.runs.map { Format.number($0.epoch) }.joined(separator: ", ") })
        var md = "## Every cell: \(metric.title) (%) at each evaluation\n\n"
        let precise = rows.contains { $0.1.evaluation?.precise?[name] != nil }
        var table = MarkdownTable(header: ["method", "batch", "seed", "\(metric.title) (headline)"] + (precise ? ["with PreciseBN"] : [])
            + ["the evaluations" + (epochs.count == 1 ? " (epochs \(epochs.first!))" : "")])
        var improving: [String] = []
        for (m, r) in rows {
            let runs = r.evaluation?.runs.compactMap { $0.metrics[name] } ?? []
            let headline = r.accuracy?[metric].map { StudyFormat.points($0) } ?? "–"
            let withPrecise = precise ? [r.evaluation?.precise?[name].map { StudyFormat.points($0) } ?? "–"] : []
            table.rows.append([grid.label(m), String(r.cell.batch), String(r.cell.seed), headline] + withPrecise
                + [runs.map { StudyFormat.points($0) }.joined(separator: ", ")])
            let last = runs.suffix(3)
            guard last.count == 3 else { continue }
            let gain = metric.higherIsBetter ? last.last! - last.first! : last.first! - last.last!
            // In points at the page's 0.1 resolution, so that the threshold reads as shown.
            if (gain * 1000).rounded() / 10 > Self.stillImprovingPoints {
                improving.append("\(grid.label(m)) at \(r.cell.batch), seed \(r.cell.seed): " + last.map { StudyFormat.points($0) }.joined(separator: " → "))
            }
        }
        table.textColumns = 1
        md += table.render()
        md += "\nThe headline column is the value the tables above use. " + protocolSentence() + " "
        let threshold = Format.number(Self.stillImprovingPoints)
        // (in a sentence, starting one, moved, at the last evaluation)
        let (noun, subject, moved, direction) = metric.higherIsBetter
            ? (metric.title, metric.title, "rose", "higher") : ("error", "Error", "fell", "lower")
        if improving.isEmpty {
            md += "No cell's \(noun) \(moved) by more than \(threshold) points over its last three evaluations.\n\n"
        } else {
            md += "\(subject) \(direction) at the last evaluation than two evaluations before by more than \(threshold) points in "
            md += "\(improving.count) of \(rows.count) cells: " + improving.joined(separator: "; ") + ". These may not have converged (or their evaluations scatter that much).\n\n"
        }
        return md
    }

    // MARK: Failed cells

    func failedSection() -> String {
        let failed = grid.records.filter { $0.status != .completed }
        guard !failed.isEmpty else { return "" }
        var md = "## Failed, diverged and not-run cells (excluded from means and figures)\n\n"
        var table = MarkdownTable(header: ["method", "batch", "seed", "status", "reason"], textColumns: 1)
        for r in failed.sorted(by: { (MethodKey($0.cell), $0.cell.batch, $0.cell.seed) < (MethodKey($1.cell), $1.cell.batch, $1.cell.seed) }) {
            table.rows.append([grid.label(MethodKey(r.cell)), String(r.cell.batch), String(r.cell.seed), r.status.rawValue, Format.cell(r.note ?? "–")])
        }
        md += table.render() + "\n"
        return md
    }
}
