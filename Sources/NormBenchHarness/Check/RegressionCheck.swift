import Foundation

/// Compares a fresh run with a baseline, metric by metric, each with its
/// polarity and tolerance (`CheckTolerances`).
///
/// - deterministic metrics (accuracy, ledger memory, clip and step counts, the
///   data digest) must match within tight tolerances;
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
            switch metric {
            case "top1Error", "top5Error": return .lowerIsBetter(absolute: t.errorClips / max(evalClips, 1))
            case "mAP50", "mAP": return .higherIsBetter(absolute: t.mAPAbsolute)
            case "evalLoss": return .lowerIsBetterRelative(t.evalLossRelative)
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
            // Slack for decimal → binary rounding of stored values.
            let slack = 1e-9 * max(abs(b), abs(allowed), 1e-300)
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
    /// - Throws: `HarnessError.mismatch` when workloads or cells differ, or a
    ///   metric in the baseline is missing from the run (exit code 2: the two
    ///   runs cannot be compared).
    public static func compare(baseline: Baseline, records: [ResultRecord], run: String, baselinePath: String) throws -> CheckReport {
        let workloads = Set(records.map(\.cell.workload)).sorted()
        guard workloads == baseline.workloads else {
            throw HarnessError.mismatch("\(run): workloads [\(workloads.joined(separator: ", "))] but baseline \(baselinePath) has [\(baseline.workloads.joined(separator: ", "))]; run the baseline's workload, or pass the matching --baseline")
        }
        let current = Dictionary(records.map { ($0.cell, $0) }, uniquingKeysWith: { a, _ in a })
        let expected = Set(baseline.cells.map(\.cell))
        if let missing = baseline.cells.map(\.cell).first(where: { current[$0] == nil }) {
            throw HarnessError.mismatch("\(run): cell \(missing.workload)/\(missing.id) of baseline \(baselinePath) is missing (\(baseline.cells.count) cells expected, \(records.count) found); finish the run (--resume) or update the baseline deliberately with --update-baseline")
        }
        if let extra = records.map(\.cell).sorted().first(where: { !expected.contains($0) }) {
            throw HarnessError.mismatch("\(run): cell \(extra.workload)/\(extra.id) is not in baseline \(baselinePath); run the same sweep (norms, batches, groups, seeds, threads) as the baseline, or update it with --update-baseline")
        }
        var rows: [CheckReport.Row] = []
        for entry in baseline.cells.sorted(by: { $0.cell < $1.cell }) {
            let record = current[entry.cell]!
            let label = "\(entry.cell.workload)/\(entry.cell.id)"
            if record.status != entry.status {
                rows.append(.init(cell: label, metric: "status", baseline: entry.status.rawValue, current: record.status.rawValue, change: "changed", tolerance: "exact", verdict: .regression))
            }
            if record.data.digest != entry.dataDigest {
                rows.append(.init(cell: label, metric: "data.digest", baseline: entry.dataDigest, current: record.data.digest, change: "changed", tolerance: "exact", verdict: .regression))
            }
            let now = Baseline.metrics(of: record)
            let evalClips = entry.metrics["data.evalClips"] ?? Double(record.data.evalClips)
            // Evaluation and decoding run once per cell or run, for well under a second:
            // too short for a per-cell gate; they are judged by the workload's geometric mean.
            for metric in entry.metrics.keys.sorted() where !(metric.hasSuffix("/cal") && metric != "trainClipsPerSecond/cal") {
                let b = entry.metrics[metric]!
                guard let c = now[metric] else {
                    throw HarnessError.mismatch("\(run): cell \(label) has no `\(metric)` but baseline \(baselinePath) does (\(metric.hasSuffix("/cal") ? "throughput or calibration missing" : "metric missing")); the record was written by another normbench, re-run the cell or update the baseline")
                }
                let rule = Rule.of(metric, tolerances: baseline.tolerances, evalClips: evalClips)
                rows.append(.init(
                    cell: label, metric: metric, baseline: CheckReport.plain(b), current: CheckReport.plain(c),
                    change: CheckReport.change(baseline: b, current: c), tolerance: rule.toleranceText,
                    verdict: rule.judge(baseline: b, current: c)))
            }
        }
        rows += aggregateThroughput(baseline: baseline, current: current)
        var report = CheckReport(rows: rows, cells: baseline.cells.count)
        if let note = unsteadyMachineNote(records) { report.notes.append(note) }
        return report
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
    /// current ÷ baseline (both already divided by their run's calibration).
    /// Cell timings are noisy one by one; a slowed kernel moves all of them.
    static func aggregateThroughput(baseline: Baseline, current: [CellKey: ResultRecord]) -> [CheckReport.Row] {
        var rows: [CheckReport.Row] = []
        let rule = Rule.higherIsBetterRelative(baseline.tolerances.throughputRelative)
        for workload in baseline.workloads {
            let cells = baseline.cells.filter { $0.cell.workload == workload && $0.status == .completed }
            let names = Set(cells.flatMap { $0.metrics.keys.filter { $0.hasSuffix("/cal") } }).sorted()
            for metric in names {
                var logSum = 0.0, count = 0
                for entry in cells {
                    guard let b = entry.metrics[metric], b > 0, let record = current[entry.cell],
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
