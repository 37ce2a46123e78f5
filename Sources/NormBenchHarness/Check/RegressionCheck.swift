import NormBenchEngine
import NormBenchWorkloads
import Foundation

/// Compares a fresh run with a baseline, metric by metric, each with its
/// polarity and tolerance (`CheckTolerances`).
///
/// - on a numerics fingerprint the baseline knows, deterministic metrics
///   (accuracy, ledger memory, clip and step counts, the data digest) must match
///   within tight tolerances; on another, accuracy is compared statistically;
/// - throughput is compared as the run's speed divided by its own calibration:
///   per workload as the geometric mean over cells of current ÷ baseline (the
///   gate for code that got slower), and per cell with a looser tolerance;
/// - getting better is never a regression (the report says "improved").
public enum RegressionCheck {
    /// Which direction is good for a metric, and how far it may go the bad way.
    enum Rule {
        case lowerIsBetter(absolute: Double)
        case higherIsBetter(absolute: Double)
        case lowerIsBetterRelative(Double)
        case higherIsBetterRelative(Double)
        /// Any change is a regression (counts).
        case exact

        static func of(_ metric: String, tolerances t: CheckTolerances, evalClips: Double) -> Rule {
            if let m = Metric.named(metric) {
                switch (m.tolerance, m.higherIsBetter) {
                case (.errorClips, _): return .lowerIsBetter(absolute: t.errorClips / max(evalClips, 1))
                case (.absolute, true): return .higherIsBetter(absolute: t.mAPAbsolute)
                case (.absolute, false): return .lowerIsBetter(absolute: t.mAPAbsolute)
                case (.relative, true): return .higherIsBetterRelative(t.evalLossRelative)
                case (.relative, false): return .lowerIsBetterRelative(t.evalLossRelative)
                }
            }
            switch metric {
            case "ledgerPeakBytes": return .lowerIsBetter(absolute: Double(t.ledgerBytes))
            case _ where metric.hasPrefix("ledgerAtPeak."): return .lowerIsBetter(absolute: Double(t.ledgerBytes))
            case _ where metric.hasSuffix("/cal"): return .higherIsBetterRelative(t.throughputCellRelative)
            default: return .exact
            }
        }

        /// How much worse `current` is than `baseline` (negative = better), and
        /// the allowed amount, in the rule's own unit.
        func judge(baseline b: Double, current c: Double) -> CheckReport.Verdict {
            let worse: Double, allowed: Double
            switch self {
            case let .lowerIsBetter(a): worse = c - b; allowed = a
            case let .higherIsBetter(a): worse = b - c; allowed = a
            case let .lowerIsBetterRelative(r): worse = b == 0 ? c : (c - b) / abs(b); allowed = r
            case let .higherIsBetterRelative(r): worse = b == 0 ? -c : (b - c) / abs(b); allowed = r
            case .exact: return c == b ? .unchanged : .regression
            }
            // Slack for decimal → binary rounding of a tolerance written by hand; none
            // when nothing may change (stored values round-trip exactly through JSON).
            let slack = allowed > 0 ? 1e-9 * max(abs(b), abs(allowed)) : 0
            if c == b { return .unchanged }
            if worse > allowed + slack { return .regression }
            if -worse > allowed + slack { return .improved }
            return .withinTolerance
        }

        var toleranceText: String {
            switch self {
            case let .lowerIsBetter(a): return "+\(CheckReport.plain(a))"
            case let .higherIsBetter(a): return "-\(CheckReport.plain(a))"
            case let .lowerIsBetterRelative(r): return "+\(Format.fixed(r * 100, 1))%"
            case let .higherIsBetterRelative(r): return "-\(Format.fixed(r * 100, 1))%"
            case .exact: return "exact"
            }
        }
    }

    /// Compares `records` (a fresh run at `run`) with `baseline`.
    ///
    /// A cell whose numerics fingerprint the baseline knows is compared with that
    /// fingerprint's entry: every metric by its rule (exact or nearly), throughput
    /// against the calibrated speed. A cell on another fingerprint keeps the exact
    /// comparison for what no CPU changes (counts, data, status), and for ledger
    /// memory when a baseline entry ran the same convolution kernels (their scratch
    /// memory is in the ledger; with other kernels it is reported, not gated), is
    /// judged statistically on accuracy (`statisticalRows`), and has its throughput
    /// reported, not gated.
    /// - Throws: `HarnessError.mismatch` when workloads or cells differ, a cell is
    ///   in the run twice, or a metric in the baseline is missing from the run
    ///   (exit code 2: the two cannot be compared).
    public static func compare(baseline: Baseline, records: [ResultRecord], run: String, baselinePath: String) throws -> CheckReport {
        let workloads = Set(records.map(\.cell.workload)).sorted()
        guard workloads == baseline.workloads else {
            throw HarnessError.mismatch("\(run): workloads [\(workloads.joined(separator: ", "))] but baseline \(baselinePath) has [\(baseline.workloads.joined(separator: ", "))]; run the baseline's workload, or pass the matching --baseline")
        }
        var current: [CellKey: ResultRecord] = [:]
        for r in records {
            guard current.updateValue(r, forKey: r.cell) == nil else {
                throw HarnessError.mismatch("\(run): cell \(r.cell.workload)/\(r.cell.id) is there twice; check one run folder (remove or move the other record)")
            }
        }
        let expected = Set(baseline.cells.map(\.cell))
        if let missing = baseline.cells.map(\.cell).first(where: { current[$0] == nil }) {
            throw HarnessError.mismatch("\(run): cell \(missing.workload)/\(missing.id) of baseline \(baselinePath) is missing (\(baseline.cells.count) cells expected, \(records.count) found); finish the run (--resume) or update the baseline deliberately with --update-baseline")
        }
        if let extra = records.map(\.cell).sorted().first(where: { !expected.contains($0) }) {
            throw HarnessError.mismatch("\(run): cell \(extra.workload)/\(extra.id) is not in baseline \(baselinePath); run the same sweep (norms, batches, groups, seeds, threads) as the baseline, or update it with --update-baseline")
        }
        var rows: [CheckReport.Row] = []
        var exactCells: [CellKey: [String: Double]] = [:]
        var foreign: [(entry: Baseline.Cell, record: ResultRecord)] = []
        for entry in baseline.cells.sorted(by: { $0.cell < $1.cell }) {
            let record = current[entry.cell]!
            let label = "\(entry.cell.workload)/\(entry.cell.id)"
            if record.status != entry.status {
                // A cell that learned in the baseline and now does not is a regression that
                // says why; one that failed in the baseline and now completes has improved.
                let change = record.status == .failed ? record.note ?? "training did not learn" : "changed"
                let verdict: CheckReport.Verdict = entry.status == .failed && record.status == .completed ? .improved : .regression
                rows.append(.init(cell: label, metric: "status", baseline: entry.status.rawValue, current: record.status.rawValue, change: change, tolerance: "exact", verdict: verdict))
            }
            if record.data.digest != entry.dataDigest {
                rows.append(.init(cell: label, metric: "data.digest", baseline: entry.dataDigest, current: record.data.digest, change: "changed", tolerance: "exact", verdict: .regression))
            }
            let now = Baseline.metrics(of: record)
            let known = entry.entries.first { $0.fingerprint == (record.fingerprint?.id ?? "unknown") }
            if known == nil { foreign.append((entry, record)) }
            // The ledger's scratch memory depends on the convolution kernels: on a foreign
            // fingerprint it stays exact against an entry that ran the same kernels.
            let kernelTwin = known ?? entry.entries.first {
                baseline.fingerprints[$0.fingerprint]?.convolutions == record.fingerprint?.convolutions
            }
            let reference = kernelTwin ?? entry.entries[0]
            if known != nil { exactCells[entry.cell] = reference.metrics }
            let evalClips = reference.metrics["data.evalClips"] ?? Double(record.data.evalClips)
            // Evaluation and decoding run once per cell or run, for well under a second:
            // too short for a per-cell gate; they are judged by the workload's geometric mean.
            for metric in reference.metrics.keys.sorted() where !(metric.hasSuffix("/cal") && metric != "trainClipsPerSecond/cal") {
                if known == nil && Baseline.statisticalMetrics.contains(metric) { continue }
                let b = reference.metrics[metric]!
                guard let c = now[metric] else {
                    throw HarnessError.mismatch("\(run): cell \(label) has no `\(metric)` but baseline \(baselinePath) does (\(metric.hasSuffix("/cal") ? "throughput or calibration missing" : "metric missing")); the record was written by another normbench, re-run the cell or update the baseline")
                }
                let rule = Rule.of(metric, tolerances: baseline.tolerances, evalClips: evalClips)
                // Speed depends on the CPU; the ledger on the kernels (docs/results-format.md).
                let ledger = metric == "ledgerPeakBytes" || metric.hasPrefix("ledgerAtPeak.")
                let reportOnly = known == nil && (metric.hasSuffix("/cal") || (ledger && kernelTwin == nil))
                let verdict = rule.judge(baseline: b, current: c)
                rows.append(.init(
                    cell: label, metric: metric, baseline: CheckReport.plain(b), current: CheckReport.plain(c),
                    change: CheckReport.change(baseline: b, current: c), tolerance: reportOnly ? "not gated" : rule.toleranceText,
                    verdict: reportOnly && verdict != .unchanged ? .reported : verdict))
            }
        }
        rows += try statisticalRows(baseline: baseline, foreign: foreign.map(\.record), baselinePath: baselinePath)
        rows += aggregateThroughput(baseline: baseline, exact: exactCells, current: current)
        var report = CheckReport(rows: rows, cells: baseline.cells.count)
        report.header = fingerprintLines(baseline: baseline, records: records)
        if let note = unsteadyMachineNote(records) { report.notes.append(note) }
        return report
    }

    /// One line per fingerprint in the run: known to the baseline, or which parts
    /// differ from the closest one it knows.
    static func fingerprintLines(baseline: Baseline, records: [ResultRecord]) -> [String] {
        let byID = Dictionary(records.map { ($0.fingerprint?.id ?? "unknown", $0.fingerprint) }, uniquingKeysWith: { a, _ in a })
        return byID.keys.sorted().map { id in
            let cells = records.filter { ($0.fingerprint?.id ?? "unknown") == id }.count
            guard let f = byID[id] ?? nil else {
                return "fingerprint: none in \(cells) cell records (written before fingerprints): accuracy compared statistically, throughput not gated"
            }
            let summary = "isa \(f.oneDNNISA), \(f.convolutions.joined(separator: " ")), \(f.caches), \(f.threads) threads"
            if baseline.fingerprints[id] != nil {
                return "fingerprint \(id) (\(summary)) is in the baseline: \(cells) cells compared exactly"
            }
            let closest = baseline.fingerprints.sorted { $0.key < $1.key }.min { f.differences(from: $0.value).count < f.differences(from: $1.value).count }
            let differs = closest.map { " (closest, \($0.key), differs in \(f.differences(from: $0.value).joined(separator: "; ")))" } ?? ""
            return "fingerprint \(id) (\(summary)) is not in the baseline\(differs): \(cells) cells' accuracy compared statistically, throughput reported, not gated"
        }
    }

    /// Accuracy of cells on fingerprints the baseline does not know, per cell
    /// group and metric: the run's mean over its k seeds against the baseline's n
    /// values (seeds × fingerprints). Under "an honest run is one more draw from the
    /// same distribution", t = (mean − baseline mean) / (sd·√(1/k + 1/n)) follows
    /// Student's t with n − 1 degrees of freedom; a regression is t beyond the
    /// one-sided quantile 1 − α/M, where α is `falseAlarmRate` and M the number of
    /// comparisons (Bonferroni: an honest run fails with probability ≤ α).
    /// The sd is floored at the metric's resolution (one evaluation clip, 0.01 mAP)
    /// so a metric that never varied does not fail on one flipped clip, and the
    /// loss's at `lossSpreadFloorRelative` of its mean (its honest tail is heavy).
    static func statisticalRows(baseline: Baseline, foreign: [ResultRecord], baselinePath: String) throws -> [CheckReport.Row] {
        let groups = Dictionary(grouping: foreign, by: { Baseline.group(of: $0.cell) })
        var tests: [(group: String, metric: String, spread: [Double], run: [Double], evalClips: Int)] = []
        for (group, records) in groups.sorted(by: { $0.key < $1.key }) {
            guard let spread = baseline.spreads.first(where: { $0.group == group }), spread.sources.count >= 3 else {
                throw HarnessError.mismatch("\(baselinePath): no spread (≥ 3 seeds or fingerprints) for \(group), so a run on another fingerprint cannot be judged; remake the baseline with --spread RUN_DIR of several seeds")
            }
            for metric in spread.samples.keys.sorted() {
                let values = records.compactMap { Baseline.metrics(of: $0)[metric] }
                if !values.isEmpty { tests.append((group, metric, spread.samples[metric]!, values, records[0].data.evalClips)) }
            }
        }
        let alpha = baseline.tolerances.falseAlarmRate / Double(max(tests.count, 1))
        return tests.map { test in
            let b = SampleSummary(test.spread), c = SampleSummary(test.run)
            let metric = Metric.named(test.metric)
            let floor: Double
            switch metric?.tolerance {
            case .errorClips?: floor = 1 / Double(max(test.evalClips, 1))
            case .relative?: floor = baseline.tolerances.lossSpreadFloorRelative * abs(b.mean)
            default: floor = 0.01
            }
            let sd = max(b.sd, floor)
            let lowerIsBetter = metric.map { !$0.higherIsBetter } ?? false
            let worse = (lowerIsBetter ? c.mean - b.mean : b.mean - c.mean) / (sd * (1 / Double(c.count) + 1 / Double(b.count)).squareRoot())
            let critical = StudentT.quantile(1 - alpha, degreesOfFreedom: Double(b.count - 1))
            let verdict: CheckReport.Verdict = worse > critical ? .regression : worse < -critical ? .improved : .withinTolerance
            return .init(
                cell: "\(test.group) (\(c.count) vs \(b.count) seeds×fingerprints)", metric: test.metric,
                baseline: "\(CheckReport.plain(b.mean)) ± \(CheckReport.plain(b.sd))", current: CheckReport.plain(c.mean),
                change: "t = \(Format.fixed(worse, 2)) worse", tolerance: "t ≤ \(Format.fixed(critical, 2))", verdict: verdict)
        }
    }

    /// A warning when the calibration probes before and after some cells differ
    /// by more than 20 %: the machine's speed moved while the run measured (other
    /// processes, frequency changes), so its throughput verdicts are less certain.
    static func unsteadyMachineNote(_ records: [ResultRecord]) -> String? {
        let drifts = records.compactMap { r -> Double? in
            guard let c = r.calibration, let conv = c.convGFLOPSAfter, let bandwidth = c.bandwidthGBpsAfter,
                  c.convGFLOPS > 0, c.bandwidthGBps > 0, conv > 0, bandwidth > 0 else { return nil }
            let ratio = ((conv * bandwidth) / (c.convGFLOPS * c.bandwidthGBps)).squareRoot()
            return max(ratio, 1 / ratio) - 1
        }
        let unsteady = drifts.filter { $0 > 0.2 }
        guard let worst = unsteady.max() else { return nil }
        return "the machine's speed moved during \(unsteady.count) of \(records.count) cells (calibration before vs after differs by up to \(Format.fixed(worst * 100, 0))%); throughput verdicts are less certain: re-run on a quiet machine (`normbench bench calibrate` shows how steady it is)"
    }

    /// Per workload and throughput metric: the geometric mean over its cells of
    /// current ÷ baseline (both already divided by their run's calibration), over
    /// the cells measured on a fingerprint the baseline knows (`exact`: their
    /// entries' metrics). Cell timings are noisy one by one; a slowed kernel moves all of them.
    static func aggregateThroughput(baseline: Baseline, exact: [CellKey: [String: Double]], current: [CellKey: ResultRecord]) -> [CheckReport.Row] {
        var rows: [CheckReport.Row] = []
        let rule = Rule.higherIsBetterRelative(baseline.tolerances.throughputRelative)
        for workload in baseline.workloads {
            let cells = baseline.cells.filter { $0.cell.workload == workload && $0.status == .completed }.compactMap { c in exact[c.cell].map { (c.cell, $0) } }
            let names = Set(cells.flatMap { $0.1.keys.filter { $0.hasSuffix("/cal") } }).sorted()
            for metric in names {
                var logSum = 0.0, count = 0
                for (key, metrics) in cells {
                    guard let b = metrics[metric], b > 0, let record = current[key],
                          let c = Baseline.metrics(of: record)[metric], c > 0 else { continue }
                    logSum += log(c / b)
                    count += 1
                }
                guard count > 0 else { continue }
                let ratio = exp(logSum / Double(count))
                rows.append(.init(
                    cell: "\(workload) (geomean of \(count) cells)", metric: metric, baseline: "1", current: Format.fixed(ratio, 4),
                    change: CheckReport.change(baseline: 1, current: ratio), tolerance: rule.toleranceText,
                    verdict: rule.judge(baseline: 1, current: ratio)))
            }
        }
        return rows
    }
}
