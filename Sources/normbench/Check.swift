import ArgumentParser
import Foundation
import NormBenchHarness
import NormBenchWorkloads

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare a run with a committed baseline, metric by metric.",
        discussion: """
            First line: the run's numerics fingerprint (oneDNN ISA and kernels, caches, build, threads, \
            libraries) against the baseline's. On a fingerprint the baseline knows, deterministic metrics \
            (accuracy, ledger memory, clip and step counts) must match within tight tolerances and \
            throughput is compared relative to the calibration measured in the same run. On another, \
            accuracy is compared statistically with the spread the baseline measured over seeds and \
            fingerprints, throughput is reported but not gated. Tolerances live in the baseline file \
            (docs/results-format.md). \
            Exit codes: 0 pass, 1 regression, 2 error (bad files, mismatched workloads or cells).
            """)

    @Option(help: "Baseline file, e.g. Results/baseline/smoke.json.")
    var baseline: String

    @Flag(help: "Write the runs' metrics as the new baseline instead of checking (keeps the old file's tolerances). Several run folders of the same sweep, on one or more fingerprints: per fingerprint, throughput is their median and every other metric must agree.")
    var updateBaseline = false

    @Option(name: .customLong("spread"), help: ArgumentHelp("With --update-baseline (repeatable): a run folder of more seeds (or another CPU, ONEDNN_MAX_CPU_ISA) whose accuracy spread judges runs on fingerprints the baseline does not know.", valueName: "run-dir"))
    var spreadDirectories: [String] = []

    @Argument(help: ArgumentHelp("The run folder to check (its cells/*.json); with --update-baseline, one or more.", valueName: "run-dir"))
    var runDirectories: [String]

    @Flag(help: "Print the verdict and every compared metric as one JSON object on stdout (docs/cli.md).")
    var json = false

    func validate() throws {
        try validating {
            try OutputPath.checkRoot(baseline, option: "--baseline", example: "Results/baseline/smoke.json")
            guard updateBaseline || runDirectories.count == 1 else {
                throw UsageError(message: "check compares one run folder (got \(runDirectories.count)); several are for --update-baseline")
            }
            guard updateBaseline || spreadDirectories.isEmpty else {
                throw UsageError(message: "--spread goes with --update-baseline; pass --update-baseline or drop --spread")
            }
        }
    }

    /// `--json`: the report, or what `--update-baseline` wrote.
    struct CheckJSON: Encodable {
        struct Row: Encodable { var cell, metric, baseline, current, change, allowed, verdict: String }
        var passed: Bool, cells: Int, fingerprint: [String], notes: [String], rows: [Row]
    }
    struct UpdateJSON: Encodable {
        var wrote: String, cells: Int, workloads: [String], fingerprints: Int
    }

    func run() throws {
        do {
            let read = { (folder: String) throws -> (folder: String, records: [ResultRecord]) in
                let records = try RecordStore.readUnique(folder)
                guard !records.isEmpty else {
                    throw HarnessError.mismatch("\(folder): no result records (cells/*.json); pass a run folder written by `normbench run`")
                }
                return (folder: folder, records: records)
            }
            let runs = try runDirectories.map(read)
            if updateBaseline {
                var tolerances = CheckTolerances.standard
                if FileManager.default.fileExists(atPath: baseline) {
                    do { tolerances = try Baseline.read(path: baseline).tolerances } catch {
                        let note = "note: \(error); writing it with the standard tolerances"
                        if json { printError("normbench check: " + note) } else { print(note) }
                    }
                }
                let made = try Baseline(runs: runs, spreadRuns: spreadDirectories.map(read), tolerances: tolerances)
                try made.write(path: baseline)
                let samples = made.spreads.map(\.sources.count)
                if json {
                    try printJSON(UpdateJSON(wrote: baseline, cells: made.cells.count, workloads: made.workloads, fingerprints: made.fingerprints.count))
                    return
                }
                print("wrote baseline \(baseline): \(made.cells.count) cells of \(made.workloads.joined(separator: ", ")) on \(made.fingerprints.count) fingerprint\(made.fingerprints.count == 1 ? "" : "s"), spreads of \(samples.min() ?? 0)-\(samples.max() ?? 0) seeds×fingerprints per cell group")
                return
            }
            let report = try RegressionCheck.compare(
                baseline: Baseline.read(path: baseline), records: runs[0].records, run: runs[0].folder, baselinePath: baseline)
            if json {
                try printJSON(CheckJSON(passed: report.passed, cells: report.cells, fingerprint: report.header, notes: report.notes, rows: report.rows.map {
                    CheckJSON.Row(cell: $0.cell, metric: $0.metric, baseline: $0.baseline, current: $0.current, change: $0.change, allowed: $0.tolerance, verdict: $0.verdict.rawValue)
                }))
            } else {
                print(report.render(), terminator: "")
            }
            if !report.passed { throw ExitCode(1) }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            throw UsageError(error)  // bad files, mismatched workloads or cells: documented as exit 2
        }
    }
}
