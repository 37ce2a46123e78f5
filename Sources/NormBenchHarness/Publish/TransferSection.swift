import Foundation
import NormBenchWorkloads

/// The transfer table of a fine-tuning workload (the GN paper's COCO table,
/// GN vs BN* vs SyncBN, and its from-scratch comparison): rows = how the
/// normalization is fine-tuned (BN* frozen, BN re-estimated, SyncBN, GN, ...)
/// and the from-scratch reference rows; columns = batch per worker; each entry
/// the mean ± 95 % CI over seeds; the last column the pretrained checkpoint(s)
/// the row started from. Shown when some record started from a checkpoint
/// (`startedFrom`) or is a from-scratch reference (`CellKey.scratch`).
extension WorkloadPage {
    /// Records of fine-tuning: started from a checkpoint, or from-scratch references beside them.
    var isTransfer: Bool { grid.records.contains { $0.startedFrom != nil || $0.cell.isScratch } }

    /// The paper's row order: BN* first, then BN, SyncBN, GN; the other methods
    /// in the page's order; the from-scratch rows last.
    static let transferOrder = ["frozenbn", "bn", "syncbn", "gn"]

    var transferMethods: [MethodKey] {
        func rank(_ m: MethodKey) -> Int { Self.transferOrder.firstIndex(of: m.norm) ?? Self.transferOrder.count }
        return grid.methods.sorted { a, b in
            (a.scratch ? 1 : 0, rank(a)) != (b.scratch ? 1 : 0, rank(b)) ? (a.scratch ? 1 : 0, rank(a)) < (b.scratch ? 1 : 0, rank(b)) : a < b
        }
    }

    /// The metrics of the table: mAP@0.5 and mAP@0.5:0.95 for detection, top-1 error for classification.
    var transferMetrics: [Metric] {
        grid.records.contains { $0.accuracy?[DetectionTask.metrics[0]] != nil } ? DetectionTask.metrics : [Self.top1]
    }

    /// Where a row's cells started: each distinct checkpoint's pretrained cell,
    /// run and the first 12 hex digits of its SHA-256; "random init" for scratch rows.
    func startedFromCell(_ m: MethodKey) -> String {
        if m.scratch { return "random initialization (seeded)" }
        let refs = grid.batches.flatMap { grid.records(m, batch: $0) }.compactMap(\.startedFrom)
        var seen: [StartedFrom] = []
        for r in refs where !seen.contains(r) { seen.append(r) }
        guard !seen.isEmpty else { return "–" }
        return seen.sorted { ($0.cell ?? $0.path, $0.sha256) < ($1.cell ?? $1.path, $1.sha256) }.map { r in
            let name = r.cell.map { "`\($0)`" } ?? "`\(r.path)`"
            let run = r.run.map { " of `\(($0 as NSString).lastPathComponent)`" } ?? ""
            return "\(name)\(run) (sha256 `\(r.sha256.prefix(12))`)"
        }.joined(separator: "; ")
    }

    /// A pretraining workload as the transfer section names it: a link to its
    /// page when that page is published beside this one, else its name and the
    /// run folders its checkpoints came from (as the records give them).
    func pretrainedWorkload(_ workload: String) -> String {
        if publishedWorkloads.contains(workload) { return "[\(workload)](\(workload).md)" }
        let runs = Set(grid.records.compactMap { r in r.startedFrom?.workload == workload ? r.startedFrom?.run : nil }).sorted()
        guard !runs.isEmpty else { return "`\(workload)`" }
        return "`\(workload)` (run\(runs.count == 1 ? "" : "s") " + runs.map { "`\($0)`" }.joined(separator: ", ") + ", not published here)"
    }

    func transferSection() -> String {
        guard isTransfer else { return "" }
        let methods = transferMethods
        let workers = Set(grid.records.map(\.cell.workers)).sorted()
        let pretrained = Set(grid.records.compactMap { $0.startedFrom?.workload }).sorted()
        var md = "## Transfer: fine-tuned from a pretrained model vs from scratch\n\n"
        md += pretrained.isEmpty ? "" : "Pretrained by " + pretrained.map(pretrainedWorkload).joined(separator: ", ") + ". "
        md += "BN* = BatchNorm frozen at the pretrained statistics and affine; BN = statistics of each worker's batch; "
        md += "SyncBN = statistics over all \(workers.count == 1 ? "W = \(workers[0]) " : "")workers' batches; GN = GroupNorm, pretrained with GN. "
        md += "From-scratch rows train the same model from the seeded random initialization.\n\n"
        var usedBootstrap = false
        for (i, metric) in transferMetrics.enumerated() {
            let value: (ResultRecord) -> Double? = { $0.accuracy?[metric] }
            md += (i == 0 ? "" : "\n") + "\(metric.title) (%), mean ± 95 % CI over seeds:\n\n"
            var table = MarkdownTable(header: ["method", "started from"] + grid.batches.map { "batch \($0)" }, textColumns: 2)
            var best: [Int: Double] = [:]
            for b in grid.batches {
                let means = methods.compactMap { interval($0, batch: b, value)?.mean }
                best[b] = metric.higherIsBetter ? means.max() : means.min()
            }
            for m in methods {
                var row = [grid.label(m), startedFromCell(m)]
                for b in grid.batches {
                    if let s = interval(m, batch: b, value) {
                        // One seed: the bootstrap over evaluation clips, when the record has it (as the detection table).
                        let one = s.count == 1 ? grid.records(m, batch: b).first { $0.status == .completed && value($0) != nil } : nil
                        let bootstrap = one.flatMap { Self.bootstrapCell(s, $0, metric) }
                        if bootstrap != nil { usedBootstrap = true }
                        let text = bootstrap ?? StudyFormat.cell(s)
                        row.append(s.mean == best[b] && methods.count > 1 ? "**\(text)**" : text)
                    } else {
                        row.append(grid.missing(m, batch: b))
                    }
                }
                table.rows.append(row)
            }
            md += table.render()
        }
        md += "\n\(transferMetrics[0].higherIsBetter ? "Higher" : "Lower") is better; **bold** = best mean in its column. "
        md += "± is the half-width of the 95 % confidence interval of the mean over n seeds (Student t); † one seed: no interval. "
        if usedBootstrap { md += Self.bootstrapCellNote + " " }
        md += "Batch = clips per worker\(workers.count == 1 ? "; every step sees W = \(workers[0]) workers × batch clips" : "")"
        md += ". Failed or diverged cells are excluded (listed below). " + Provenance.line(grid.records) + "\n\n"
        md += transferDifferences()
        if transferMetrics == DetectionTask.metrics { md += PaperReference.detectronSentence + "\n\n" }
        let files = Set(grid.records.compactMap(\.startedFrom)).sorted { ($0.path, $0.sha256) < ($1.path, $1.sha256) }
        if !files.isEmpty {
            md += "Pretrained checkpoints (path, SHA-256 of the file when the fine-tuning run started):\n\n"
            md += files.map { "- `\($0.path)`: `\($0.sha256)`" }.joined(separator: "\n") + "\n\n"
        }
        return md
    }

    /// The comparisons at each batch, one table per metric (mAP@0.5 and
    /// mAP@0.5:0.95 for detection), Welch 95 % intervals: GN against each BN
    /// variant, and each method fine-tuned against the same method from scratch.
    private func transferDifferences() -> String {
        let methods = transferMethods
        func row(_ norm: String, scratch: Bool) -> MethodKey? {
            let pool = methods.filter { $0.norm == norm && $0.scratch == scratch }
            return pool.first { $0.groups == "32" } ?? pool.first
        }
        var pairs: [(MethodKey, MethodKey)] = []
        if let gn = row("gn", scratch: false) {
            for bn in ["frozenbn", "syncbn", "bn"] { if let other = row(bn, scratch: false) { pairs.append((gn, other)) } }
        }
        for m in methods where m.scratch {
            if let tuned = methods.first(where: { !$0.scratch && $0.norm == m.norm && $0.groups == m.groups && $0.workers == m.workers }) { pairs.append((tuned, m)) }
        }
        var md = ""
        for metric in transferMetrics {
            let value: (ResultRecord) -> Double? = { $0.accuracy?[metric] }
            var table = MarkdownTable(header: ["difference"] + grid.batches.map { "batch \($0)" })
            for (a, b) in pairs {
                let cells = grid.batches.map { batch -> String in
                    Difference.welch(values(a, batch: batch, value), values(b, batch: batch, value)).map(StudyFormat.difference) ?? "–"
                }
                if cells.contains(where: { $0 != "–" }) { table.rows.append(["\(grid.label(a)) − \(grid.label(b))"] + cells) }
            }
            if !table.rows.isEmpty { md += "Differences of \(metric.title) (points, Welch 95 % CI over seeds):\n\n" + table.render() + "\n" }
        }
        guard !md.isEmpty else { return "" }
        md += "A difference is resolved when its interval excludes zero; "
        md += transferMetrics[0].higherIsBetter ? "positive means the first method scores higher.\n\n" : "positive means the first method has the higher error.\n\n"
        return md
    }
}
