import ArgumentParser
import Foundation
import NormBenchHarness

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare a run with a committed baseline, metric by metric.",
        discussion: """
            Deterministic metrics (accuracy, ledger memory, clip and step counts) must match within tight \
            tolerances; throughput is compared relative to the calibration measured in the same run. \
            Tolerances live in the baseline file (docs/results-format.md). \
            Exit codes: 0 pass, 1 regression, 2 error (bad files, mismatched workloads or cells).
            """)

    @Option(help: "Baseline file, e.g. Results/baseline/smoke.json.")
    var baseline: String

    @Flag(help: "Write the run's metrics as the new baseline instead of checking (keeps the old file's tolerances). Several run folders of the same sweep: throughput is their median, every other metric must agree.")
    var updateBaseline = false

    @Argument(help: ArgumentHelp("The run folder to check (its cells/*.json); with --update-baseline, one or more.", valueName: "run-dir"))
    var runDirectories: [String]

    func run() throws {
        do {
            guard updateBaseline || runDirectories.count == 1 else {
                throw HarnessError.mismatch("check compares one run folder (got \(runDirectories.count)); several are for --update-baseline")
            }
            let runs = try runDirectories.map { folder in
                let records = try RecordStore.readAll(folder)
                guard !records.isEmpty else {
                    throw HarnessError.mismatch("\(folder): no result records (cells/*.json); pass a run folder written by `normbench run`")
                }
                return (folder: folder, records: records)
            }
            if updateBaseline {
                let tolerances = FileManager.default.fileExists(atPath: baseline) ? try Baseline.read(path: baseline).tolerances : .standard
                let made = try Baseline(runs: runs, tolerances: tolerances)
                try made.write(path: baseline)
                print("wrote baseline \(baseline): \(made.cells.count) cells of \(made.workloads.joined(separator: ", ")) from \(runs.count) run\(runs.count == 1 ? "" : "s")")
                return
            }
            let report = try RegressionCheck.compare(
                baseline: Baseline.read(path: baseline), records: runs[0].records, run: runs[0].folder, baselinePath: baseline)
            print(report.render(), terminator: "")
            if !report.passed { throw ExitCode(1) }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            FileHandle.standardError.write(Data("normbench check: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}
