import Foundation
import NormBenchWorkloads

/// The throughput section of a workload page when a dedicated benchmark run
/// (`normbench bench train <workload> --out <results>/<workload>/bench.json`)
/// exists: its clips/s per cell, median and min-max over interleaved rounds,
/// labelled with the command, machine, date and commit; the numbers measured
/// during training follow, labelled as such. Without a benchmark the page keeps
/// the training-time table (`WorkloadPage.throughputSection`).
extension WorkloadPage {
    /// The benchmark's table rows: its methods (norm, groups, workers, threads), in the pages' order.
    static func benchmarkMethods(_ bench: TrainBenchmark) -> [MethodKey] {
        Set(bench.cells.map { MethodKey(norm: $0.cell.norm, groups: $0.cell.groups, workers: $0.cell.workers, threads: $0.cell.threads) }).sorted()
    }

    static func benchmarkBatches(_ bench: TrainBenchmark) -> [Int] { Set(bench.cells.map(\.cell.batch)).sorted() }

    static func benchmarkCell(_ bench: TrainBenchmark, _ m: MethodKey, batch: Int) -> TrainBenchmark.CellResult? {
        bench.cells.first { $0.cell == TrainBenchmark.Cell(norm: m.norm, batch: batch, workers: m.workers, groups: m.groups, threads: m.threads) }
    }

    /// "dedicated benchmark run: `normbench bench train …` on <machine>, <threads>, <date>, commit <c>".
    static func benchmarkLabel(_ bench: TrainBenchmark) -> String {
        let e = bench.environment
        let threads = Set(bench.cells.map(\.cell.threads)).sorted().map(String.init).joined(separator: ", ")
        return "dedicated benchmark run: `\(bench.command)` on \(e.cpuModel) (\(e.logicalCPUs) logical CPUs, oneDNN \(e.oneDNNVersion) ISA \(bench.machine.oneDNNISA)), "
            + "\(threads) thread(s), \(e.date.prefix(10)), commit \(e.gitCommit)"
    }

    func benchmarkSection(_ bench: TrainBenchmark) -> String {
        let methods = Self.benchmarkMethods(bench), batches = Self.benchmarkBatches(bench)
        let s = bench.settings
        var md = "## Throughput: training clips/s by batch per worker, dedicated benchmark run\n\n"
        var table = MarkdownTable(header: ["method"] + batches.map { "batch \($0)" })
        for m in methods {
            var row = [WorkloadGrid.label(m, among: methods)]
            for b in batches {
                guard let c = Self.benchmarkCell(bench, m, batch: b) else { row.append("–"); continue }
                let v = c.clipsPerSecond
                row.append("\(Format.fixed(v.median, 1)) (\(Format.fixed(v.min, 1))–\(Format.fixed(v.max, 1))), \(Format.fixed(c.stepSeconds.median * 1000, 1)) ms")
            }
            table.rows.append(row)
        }
        md += table.render()
        md += "\n" + Format.cell("From a \(Self.benchmarkLabel(bench)).") + " "
        md += "Each cell: the median over \(s.repeats) interleaved rounds (each round times every cell in turn, \(s.warmupSteps) warm-up + \(s.timedSteps) timed steps) "
        md += "of the round's clips/s, min–max over the rounds in parentheses, and the median step time; one step = forward + backward of W × batch clips and the SGD update, "
        md += "on synthetic clips of the workload's shape (no data set). "
        let spreads = Set(bench.cells.map(\.cell.threads)).sorted().compactMap { bench.probeSpread(threads: $0) }
        if let worst = spreads.max() {
            md += "Calibration probes over the run: largest/smallest index \(Format.fixed(worst, 2))"
            md += worst > 1.2 ? " (the machine's speed moved during the run: not a quiet machine). " : ". "
        }
        md += "Format: [results-format.md](\(docs)/results-format.md#train-benchmark).\n\n"
        md += "![throughput vs batch](\(name)-throughput.svg)\n\n"
        if grid.records.contains(where: { $0.throughput != nil }) { md += trainingThroughputSection() }
        return md
    }

    /// The clips/s the training cells measured, below the benchmark and labelled as what they are.
    private func trainingThroughputSection() -> String {
        var md = "### Measured during training, under varying load\n\n"
        md += trainingThroughputTable()
        md += "\nNot for comparing methods: measured during training, under varying load (the cells of a study run hours apart while other work shares the machine). "
        md += "Median over the seeds of each cell's clips/s and of its median step time (ms), after warm-up steps. " + Provenance.line(grid.records) + "\n\n"
        return md
    }

    /// `<workload>-throughput.svg` from the benchmark: median clips/s vs batch per method.
    func benchmarkChart(_ bench: TrainBenchmark) -> (String, String) {
        let methods = Self.benchmarkMethods(bench), batches = Self.benchmarkBatches(bench)
        let series = methods.compactMap { m -> SVGLineChart.Series? in
            let points = batches.enumerated().compactMap { i, b in
                Self.benchmarkCell(bench, m, batch: b).map { SVGLineChart.Point(x: i, y: $0.clipsPerSecond.median) }
            }
            return points.isEmpty ? nil : SVGLineChart.Series(name: WorkloadGrid.label(m, among: methods), points: points)
        }
        return ("\(name)-throughput.svg", SVGLineChart(
            title: "\(name): training throughput vs batch", xLabel: "batch per worker (log₂ scale)", yLabel: "training clips / s (linear)",
            xTicks: batches.map(String.init), series: series, yFromZero: true,
            caption: "dedicated benchmark run (normbench bench train), median over \(bench.settings.repeats) interleaved rounds; \(bench.environment.date.prefix(10))",
            xPositions: batches.map { log2(Double($0)) }).render())
    }
}
