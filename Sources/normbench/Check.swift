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

    @Flag(help: "Write the run's metrics as the new baseline instead of checking (keeps the old file's tolerances).")
    var updateBaseline = false

    @Argument(help: ArgumentHelp("The run folder to check (its cells/*.json).", valueName: "run-dir"))
    var runDirectory: String

    func run() throws {
        do {
            let records = try RecordStore.readAll(runDirectory)
            guard !records.isEmpty else {
                throw HarnessError.mismatch("\(runDirectory): no result records (cells/*.json); pass a run folder written by `normbench run`")
            }
            if updateBaseline {
                let tolerances = FileManager.default.fileExists(atPath: baseline) ? try Baseline.read(path: baseline).tolerances : .standard
                try Baseline(records: records, tolerances: tolerances).write(path: baseline)
                print("wrote baseline \(baseline): \(records.count) cells of \(Set(records.map(\.cell.workload)).sorted().joined(separator: ", "))")
                return
            }
            let report = try RegressionCheck.compare(baseline: Baseline.read(path: baseline), records: records, run: runDirectory, baselinePath: baseline)
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
