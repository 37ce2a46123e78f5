import NormBenchEngine
import NormBenchWorkloads
import Foundation

/// One workload's page: Markdown tables (accuracy like the GN paper's Table 2,
/// detection mAP, throughput, peak memory, normalization time share, the group
/// ablation like Table 3) and the SVG charts they link to.
struct WorkloadPage {
    let grid: WorkloadGrid
    /// The repository's docs folder as seen from the published page.
    let docs: String

    /// The same workload trained longer (`<name>-<k>x`), for the convergence control.
    let longer: (workload: String, records: [ResultRecord])?
    /// A dedicated benchmark run of the workload (`normbench bench train`): the throughput table comes from it.
    var benchmark: TrainBenchmark?
    /// The top-1 error no model can beat on the workload's data (`Publisher.errorFloors`).
    var errorFloor: Publisher.ErrorFloor?
    /// The workloads whose pages are published beside this one (links go only to those).
    var publishedWorkloads: Set<String> = []

    init(workload: String, records: [ResultRecord], docs: String = "../docs", longer: (workload: String, records: [ResultRecord])? = nil) {
        grid = WorkloadGrid(workload: workload, records: records)
        self.docs = docs
        self.longer = longer
    }

    var name: String { grid.workload }
    private func has(_ metrics: [Metric]) -> Bool { grid.records.contains { r in metrics.contains { r.accuracy?[$0] != nil } } }
    var hasTop1: Bool { has([Self.top1]) }
    private var hasMAP: Bool { has(DetectionTask.metrics) }
    /// The metric of the accuracy tables, charts and group ablation (the GN paper's).
    static let top1 = ClassificationTask.metrics[0]
    private var completedRecords: [ResultRecord] { grid.records.filter { $0.status == .completed } }
    private var hasThroughput: Bool { grid.records.contains { $0.throughput != nil } }
    private var hasTimeShare: Bool { grid.records.contains { $0.timeShare != nil } }
    /// GN rows with more than one group count: the page shows the group ablation.
    private var groupMethods: [MethodKey] { grid.methods.filter { $0.norm == "gn" && $0.groups != "-" } }
    private var isGroupAblation: Bool { Set(groupMethods.map(\.groups)).count > 1 }
    private var batchHeader: [String] { grid.batches.map { "batch \($0)" } }

    // MARK: Markdown

    func markdown() -> String {
        let tasks = Set(grid.records.map(\.task)).sorted().joined(separator: ", ")
        let seeds = Set(grid.records.map(\.cell.seed)).sorted().map(String.init).joined(separator: ", ")
        var md = "# \(name) (\(tasks))\n\n"
        md += "Rendered by `normbench publish` from \(grid.records.count) result records (JSON, the source of truth; "
        md += "every cell is also in [cells.csv](cells.csv)). Batch = clips per worker, as in the GN paper; "
        md += "seeds \(seeds); accuracy as mean ± 95 % confidence interval over seeds (Student t), where there is more than one seed.\n\n"
        md += Self.commitWarning(grid.records) + Self.commitLine(grid.records)
        md += Provenance.line(grid.records) + "\n\n"
        md += transferSection()
        if hasTop1 { md += studySection() }
        if let longer { md += convergenceSection(longer: longer.records, workload: longer.workload) }
        md += failedSection()
        if hasTop1 { md += cellsSection() }
        if hasTop1 || isGroupAblation { md += "Beside the GN paper's ImageNet numbers: [\(name)-paper.md](\(name)-paper.md).\n\n" }
        if isGroupAblation { md += groupSection() }
        if hasMAP { md += detectionSection() }
        if let benchmark { md += benchmarkSection(benchmark) } else if hasThroughput { md += throughputSection() }
        if hasCollective { md += collectiveSection() }
        md += memorySection()
        if hasTimeShare { md += timeShareSection() }
        return md
    }

    /// A metric table: rows methods, columns batches, best mean per column in bold.
    func metricTable(
        first: String, extra: [String] = [], lowerIsBetter: Bool,
        _ metric: @escaping (ResultRecord) -> Double?, format: (MeanInterval) -> String,
        extraCells: (MethodKey) -> [String] = { _ in [] },
        oneSeed: ((MeanInterval, ResultRecord) -> String?)? = nil
    ) -> String {
        var table = MarkdownTable(header: [first] + batchHeader + extra)
        var best: [Int: Double] = [:]
        for b in grid.batches {
            let means = grid.methods.compactMap { grid.statistics($0, batch: b, metric)?.mean }
            best[b] = lowerIsBetter ? means.min() : means.max()
        }
        for m in grid.methods {
            var row = [grid.label(m)]
            for b in grid.batches {
                let done = grid.records(m, batch: b).filter { $0.status == .completed && metric($0) != nil }
                if let s = MeanInterval(done.compactMap(metric), confidence: StudySettings.confidence) {
                    let text = (s.count == 1 ? oneSeed.flatMap { $0(s, done[0]) } : nil) ?? format(s)
                    row.append(s.mean == best[b] && grid.methods.count > 1 ? "**\(text)**" : text)
                } else {
                    row.append(grid.missing(m, batch: b))
                }
            }
            table.rows.append(row + extraCells(m))
        }
        return table.render()
    }

    private func groupSection() -> String {
        var md = "## Group ablation: top-1 error (%) by number of groups\n\n"
        var table = MarkdownTable(header: ["groups G"] + batchHeader)
        let metric: (ResultRecord) -> Double? = { $0.accuracy?[Self.top1] }
        for m in groupMethods {
            var row = [m.groups == "C" ? "C (= IN)" : (m.groups == "1" ? "1 (= LN)" : m.groups)]
            for b in grid.batches {
                row.append(MeanInterval(values(m, batch: b, metric)).map(StudyFormat.cell) ?? "–")
            }
            table.rows.append(row)
        }
        md += table.render()
        md += "\nMean ± 95 % CI over seeds; † one seed. The paper's Table 3 beside these: [\(name)-paper.md](\(name)-paper.md). "
        md += Provenance.line(grid.records.filter { $0.cell.norm == "gn" }) + "\n\n"
        md += "![top-1 error vs groups](\(name)-groups.svg)\n\n"
        return md
    }

    /// The footnote for `bootstrapCell`'s ‡.
    static let bootstrapCellNote = "‡ one seed: the cell's value and the 95 % bootstrap interval over its evaluation clips (evaluation noise only, not seed-to-seed training noise)."

    /// A detection cell of one seed with its bootstrap over clips: "51.0 [48.2, 53.9] (n=1) ‡".
    static func bootstrapCell(_ m: MeanInterval, _ r: ResultRecord, _ metric: Metric) -> String? {
        guard let ci = r.evaluation?.bootstrap?[metric.name] else { return nil }
        return "\(StudyFormat.points(m.mean)) \(StudyFormat.interval(ci.lower, ci.upper)) (n=1) ‡"
    }

    private func detectionSection() -> String {
        var md = "## Detection: mAP (%) by batch per worker\n\n"
        // A fine-tuning page's transfer table already gives every cell's mAP.
        md += isTransfer ? "Every cell's mAP@0.5 and mAP@0.5:0.95: the transfer table above.\n\n" : detectionTables()
        md += "![mAP@0.5 vs batch](\(name)-map.svg)\n\n"
        // Both metrics' headline lists: mAP@0.5 nears its ceiling on easy data, while mAP@0.5:0.95
        // (COCO's AP, the GN paper's detection metric) still separates the methods there.
        return md + DetectionTask.metrics.map { headlineSection($0) }.joined() + cellsSection(DetectionTask.metrics[0])
    }

    /// The mAP tables of a detection page that trains from scratch, with the pointer to the fine-tuning pages.
    private func detectionTables() -> String {
        var md = ""
        var usedBootstrap = false
        for (i, metric) in DetectionTask.metrics.enumerated() {
            md += (i == 0 ? "" : "\n") + "\(metric.title):\n\n"
            md += metricTable(
                first: "method", lowerIsBetter: !metric.higherIsBetter, { $0.accuracy?[metric] }, format: { StudyFormat.cell($0) },
                oneSeed: { m, r in
                    let text = Self.bootstrapCell(m, r, metric)
                    if text != nil { usedBootstrap = true }
                    return text
                })
        }
        let resamples = Set(completedRecords.compactMap { $0.evaluation?.bootstrap?.resamples }).sorted().map(String.init).joined(separator: ", ")
        md += "\nHigher is better; **bold** = best mean in its column; with two or more seeds, mean ± 95 % CI over seeds (Student t, n − 1 degrees of freedom). "
        if usedBootstrap {
            md += "‡ bootstrap over evaluation clips, one seed: the cell's value and its 95 % percentile interval from \(resamples) resamples of the "
            md += "evaluation clips of its last evaluation (docs/results-format.md); it covers evaluation noise only, not seed-to-seed training noise. "
        }
        md += "† one seed, no interval. Failed or diverged cells are excluded (listed above). " + Provenance.line(grid.records) + "\n\n"
        md += "The GN paper's COCO (Mask R-CNN) results fine-tune a pretrained backbone; the pages of the fine-tuning "
        md += "workloads (`video-det-transfer`) set FAIR Detectron's published numbers beside their own.\n\n"
        return md
    }

    private func throughputSection() -> String {
        var md = "## Throughput: training clips/s (median step time) by batch per worker, median over seeds\n\n"
        md += trainingThroughputTable()
        md += "\nMeasured during training (shared machine); speed: `normbench bench`. Median over the seeds of each cell's clips/s and of its median step time, "
        md += "after warm-up steps; one step = one worker's forward + backward. " + Provenance.line(grid.records) + "\n\n"
        md += "![throughput vs batch](\(name)-throughput.svg)\n\n"
        return md
    }

    /// The training cells' clips/s (median step time), median over seeds, by method and batch.
    func trainingThroughputTable() -> String {
        var table = MarkdownTable(header: ["method"] + batchHeader)
        for m in grid.methods {
            var row = [grid.label(m)]
            for b in grid.batches {
                if let clips = grid.median(m, batch: b, { $0.throughput?.trainClipsPerSecond }),
                   let step = grid.median(m, batch: b, { $0.throughput?.stepSecondsMedian }) {
                    row.append("\(Format.fixed(clips, 1)) (\(Format.fixed(step * 1000, 0)) ms)")
                } else {
                    row.append(grid.missing(m, batch: b))
                }
            }
            table.rows.append(row)
        }
        return table.render()
    }

    private func memorySection() -> String {
        let categories = Set(grid.records.flatMap { $0.memory.ledgerAtPeakBytes.keys }).sorted()
        var md = "## Peak memory (MiB) by cell\n\n"
        var table = MarkdownTable(header: ["method", "batch", "ledger peak"] + categories + ["process peak", "predicted"])
        for m in grid.methods {
            for b in grid.batches {
                let rs = grid.records(m, batch: b)
                guard let r = rs.max(by: { $0.memory.ledgerPeakBytes < $1.memory.ledgerPeakBytes }) else { continue }
                let processPeak = rs.compactMap(\.memory.processPeakBytes).max()
                var row = [grid.label(m), String(b), Format.mib(r.memory.ledgerPeakBytes)]
                row += categories.map { r.memory.ledgerAtPeakBytes[$0].map(Format.mib) ?? "–" }
                row.append(processPeak.map(Format.mib) ?? "–")
                row.append(r.memory.predictedPeakBytes.map(Format.mib) ?? "–")
                if r.status == .overBudget { row[0] += " (over budget, not run)" }
                if r.status == .diverged { row[0] += " (diverged)" }
                if r.status == .failed { row[0] += " (failed)" }
                table.rows.append(row)
            }
        }
        md += table.render()
        md += "\nLedger: the engine's own count of tensor memory (deterministic), split by category at the moment of the peak; "
        md += "process: the kernel's resident high-water mark. Largest over seeds. "
        let oneMicroBatch = grid.methods.filter { m in
            m.workers > 1 && (try? NormalizationSpec(parsing: m.norm))?.method.runsAsOneMicroBatch == true
        }
        for m in oneMicroBatch {
            md += "\(grid.label(m)): this single-process simulation runs the step's \(m.workers) × batch clips as one micro-batch "
            md += "(BatchNorm over their concatenation), so its rows hold \(m.workers) workers' activations at once; "
            md += "a real worker holds its own batch, as BN with \(m.workers) workers does, and exchanges only per-channel sums with the others. "
        }
        md += Provenance.line(grid.records) + "\n\n"
        md += "![peak memory vs batch](\(name)-memory.svg)\n\n"
        return md
    }

    private func timeShareSection() -> String {
        var md = "## Time share of normalization (%) by batch per worker\n\n"
        var table = MarkdownTable(header: ["method"] + batchHeader)
        for m in grid.methods {
            var row = [grid.label(m)]
            for b in grid.batches {
                let norm = grid.statistics(m, batch: b) { $0.timeShare?.normalization }
                let conv = grid.statistics(m, batch: b) { $0.timeShare?.convolution }
                if let norm, let conv {
                    row.append("\(Format.fixed(norm.mean * 100, 1)) (conv \(Format.fixed(conv.mean * 100, 0)))")
                } else {
                    row.append("–")
                }
            }
            table.rows.append(row)
        }
        md += table.render()
        md += "\nShare of training step time in normalization layers (forward + backward), convolution in parentheses; the rest is other layers. "
        md += Provenance.line(grid.records) + "\n\n"
        return md
    }

    // MARK: Charts

    /// The page's charts as (file name, SVG text).
    func charts() -> [(String, String)] {
        var out: [(String, String)] = []
        let xTicks = grid.batches.map(String.init)
        let xPositions = grid.batches.map { log2(Double($0)) }
        let xLabel = "batch per worker (log₂ scale)"
        func seedCounts(_ m: MethodKey, _ metric: (ResultRecord) -> Double?) -> String {
            let ns = grid.batches.map { values(m, batch: $0, metric).count }.filter { $0 > 0 }
            guard let lo = ns.min(), let hi = ns.max() else { return "" }
            return lo == hi ? " (n=\(lo))" : " (n=\(lo)–\(hi))"
        }
        func series(_ metric: @escaping (ResultRecord) -> Double?, scale: Double, methods: [MethodKey]) -> [SVGLineChart.Series] {
            methods.compactMap { m in
                let points = grid.batches.enumerated().compactMap { i, b in
                    MeanInterval(values(m, batch: b, metric), confidence: StudySettings.confidence)
                        .map { SVGLineChart.Point(x: i, y: $0.mean * scale, error: ($0.halfWidth ?? 0) * scale) }
                }
                return points.isEmpty ? nil : SVGLineChart.Series(name: grid.label(m) + seedCounts(m, metric), points: points)
            }
        }
        let caption = "normbench \(name); mean over n seeds, bars 95 % CI (Student t); no bar: one seed; failed cells excluded"
        if hasTop1 {
            let k = Self.classes(grid.records.filter { $0.status == .completed })
            let chance = k.flatMap { $0 > 1 ? [SVGLineChart.ReferenceLine(y: (1 - 1 / Double($0)) * 100, label: "chance (\($0) classes)")] : nil } ?? []
            out.append(("\(name)-error.svg", SVGLineChart(
                title: "\(name): top-1 error vs batch per worker", xLabel: xLabel, yLabel: "top-1 error (%)",
                xTicks: xTicks, series: series(Self.top1Metric, scale: 100, methods: grid.methods), caption: caption,
                xPositions: xPositions, referenceLines: chance, yLimits: 0...100).render()))
        }
        if hasMAP {
            out.append(("\(name)-map.svg", SVGLineChart(
                title: "\(name): mAP@0.5 vs batch per worker", xLabel: xLabel, yLabel: "mAP@0.5 (%)",
                xTicks: xTicks, series: series({ $0.accuracy?[DetectionTask.metrics[0]] }, scale: 100, methods: grid.methods), caption: caption,
                xPositions: xPositions, yLimits: 0...100).render()))
        }
        if let benchmark { out.append(benchmarkChart(benchmark)) } else if hasThroughput {
            out.append(("\(name)-throughput.svg", SVGLineChart(
                title: "\(name): training throughput vs batch", xLabel: xLabel, yLabel: "training clips / s (linear)",
                xTicks: xTicks, series: grid.methods.compactMap { m in
                    let points = grid.batches.enumerated().compactMap { i, b in
                        grid.median(m, batch: b) { $0.throughput?.trainClipsPerSecond }.map { SVGLineChart.Point(x: i, y: $0) }
                    }
                    return points.isEmpty ? nil : SVGLineChart.Series(name: grid.label(m), points: points)
                },
                yFromZero: true, caption: "median over seeds; measured during training (shared machine); speed: normbench bench",
                xPositions: xPositions).render()))
        }
        out.append(("\(name)-memory.svg", SVGLineChart(
            title: "\(name): peak memory (engine ledger) vs batch", xLabel: xLabel, yLabel: "peak memory (MiB, linear scale)",
            xTicks: xTicks, series: grid.methods.compactMap { m in
                let points = grid.batches.enumerated().compactMap { i, b in
                    grid.records(m, batch: b).filter { $0.status == .completed }.map(\.memory.ledgerPeakBytes).max().map { SVGLineChart.Point(x: i, y: Double($0) / 1_048_576) }
                }
                return points.isEmpty ? nil : SVGLineChart.Series(name: grid.label(m), points: points)
            }, yFromZero: true, caption: "normbench \(name); largest over seeds; coinciding lines drawn as nested bands",
            nestCoincidentLines: true, xPositions: xPositions).render()))
        if isGroupAblation && hasTop1 {
            let methods = groupMethods
            let lines = grid.batches.compactMap { b -> SVGLineChart.Series? in
                let points = methods.enumerated().compactMap { i, m in
                    MeanInterval(values(m, batch: b)).map { SVGLineChart.Point(x: i, y: $0.mean * 100, error: ($0.halfWidth ?? 0) * 100) }
                }
                return points.isEmpty ? nil : SVGLineChart.Series(name: "normbench, batch \(b)", points: points)
            }
            let paper = methods.enumerated().compactMap { i, m -> SVGLineChart.Point? in
                let value = m.groups == "C" ? PaperReference.errorByChannelsPerGroup[1] : Int(m.groups).flatMap { PaperReference.errorByGroups[$0] }
                return value.map { SVGLineChart.Point(x: i, y: $0) }
            }
            var all = lines
            if !paper.isEmpty { all.append(SVGLineChart.Series(name: "paper (ImageNet, reference)", points: paper, dashed: true)) }
            out.append(("\(name)-groups.svg", SVGLineChart(
                title: "\(name): top-1 error vs number of groups", xLabel: "GroupNorm groups G (C = one per channel)",
                yLabel: "top-1 error (%)", xTicks: methods.map(\.groups), series: all,
                caption: "normbench \(name) (solid, mean, bars 95 % CI) and GN paper Table 3, ResNet-50 ImageNet (dashed, reference)",
                yLimits: 0...100).render()))
        }
        return out
    }
}
