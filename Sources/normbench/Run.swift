import ArgumentParser
import Foundation
import NormBenchEngine
import NormBenchHarness
import NormBenchWorkloads

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train and measure every cell of a workload's sweep; one JSON record per cell.",
        discussion: """
        Cells = norms × batches × groups (GroupNorm family) × seeds × threads. Each finished cell \
        is written atomically to <out>/cells/<cell>.json; --resume skips cells that have a record. \
        With the MPI build (scripts/mpi.sh), `mpirun -np W normbench run <workload> --distributed` trains \
        every cell data-parallel, one worker per rank, and `mpirun -np K ... --distribute-cells` spreads \
        the cells over K ranks; rank 0 writes the records (docs/distributed.md). \
        Exit codes: 0 ok; 1 a cell, the data, the output or an MPI rank failed (one line on stderr); 2 bad workload or options.
        """)

    @Argument(help: "A workload name (normbench list) or a path to a YAML file.") var workload: String
    @Option(help: "Normalization methods, comma-separated (e.g. bn,gn); also limits sweep.scratch to them.") var norms: String?
    @Option(help: "Samples per worker, comma-separated (e.g. 2,4,8,16).") var batches: String?
    @Option(name: .customLong("batch"), help: .hidden) var batchDeprecated: String?
    @Option(help: "Simulated data-parallel workers W.") var workers: Int?
    @Option(help: "GroupNorm groups, comma-separated; C = one per channel.") var groups: String?
    @Option(help: "Seeds, comma-separated.") var seeds: String?
    @Option(help: "Thread counts, comma-separated.") var threads: String?
    @Option(help: "Training length in epochs (overrides the workload).") var epochs: Int?
    @Option(help: "Training length in optimizer steps (overrides epochs).") var steps: Int?
    @Option(help: "Run folder (default Results/<workload>/<UTC time>).") var out: String?
    @Flag(help: "Continue the latest run (or --out): cells with a record are kept.") var resume = false
    @Option(help: "Skip cells whose predicted process peak (normbench plan) exceeds this (e.g. 2GiB, 512MiB).") var memoryBudget: String?
    @Flag(help: "Count and skip clips that fail to decode instead of stopping.") var skipBadClips = false
    @Option(help: "Where to keep the decoded clips: file (an unlinked file in the run folder, read per batch; the default) or memory.")
    var dataBank: DataBankStorage = .file
    @Option(help: "Folder of workload files.") var workloads = "Workloads"
    @Flag(help: "Train data-parallel over MPI ranks, one worker per rank (W = ranks); start with mpirun. Needs the MPI build.")
    var distributed = false
    @Flag(help: "Spread the sweep's cells over MPI ranks, each cell whole on one rank; start with mpirun. Needs the MPI build.")
    var distributeCells = false
    @Option(help: .hidden) var finalState: String?
    @Flag(help: "Save each cell's trained model to <run folder>/models/<cell>.safetensors (docs/checkpoints.md).") var saveModel = false
    @Flag(help: "Print the summary as one JSON object on stdout (docs/cli.md) instead of the table.") var json = false

    /// Option values alone, before any file is read.
    mutating func validate() throws {
        try validating {
            batches = try deprecatedAlias(batchDeprecated, batches, old: "--batch", new: "--batches")
            batchDeprecated = nil
            _ = try overrides()
            if let out { try OutputPath.checkRoot(out, option: "--out") }
            if let memoryBudget { _ = try parseBytes(memoryBudget, option: "--memory-budget") }
        }
    }

    /// The sweep overrides the options ask for, each value checked.
    func overrides() throws -> SweepOverrides {
        var o = SweepOverrides()
        o.norms = try norms.map {
            try list($0, "--norms", expected: "one of \(WorkloadSpec.knownNorms.joined(separator: ", ")), e.g. --norms bn,gn") {
                WorkloadSpec.knownNorms.contains($0) ? $0 : nil
            }
        }
        o.batches = try batches.map { try list($0, "--batches", expected: "a batch size in \(Limits.batch), e.g. --batches 2,8") { Int($0).flatMap { Limits.batch.contains($0) ? $0 : nil } } }
        o.seeds = try seeds.map { try list($0, "--seeds", expected: "a seed in \(Limits.seed), e.g. --seeds 0,1,2") { Int($0).flatMap { Limits.seed.contains($0) ? $0 : nil } } }
        o.threads = try threads.map(threadList)
        o.groups = try groups.map {
            try list($0, "--groups", expected: "a group count in \(Limits.groups) or C (one per channel), e.g. --groups 32,C") {
                $0 == "C" ? .perChannel : Int($0).flatMap { Limits.groups.contains($0) ? GroupSetting.count($0) : nil }
            }
        }
        if let workers { try checkRange(workers, Limits.workers, "--workers", example: "--workers 2"); o.workers = workers }
        if let epochs { try checkRange(epochs, Limits.epochs, "--epochs", example: "--epochs 10"); o.epochs = epochs }
        if let steps { try checkRange(steps, Limits.steps, "--steps", example: "--steps 200"); o.steps = steps }
        return o
    }

    func run() throws {
        OpenMPRuntime.preferPassiveWaitPolicy()
        let spec: WorkloadSpec
        var initNotices: [String] = []
        var options = RunOptions()
        let launch = MPILaunch.current
        let mode: DistributionMode? = distributed ? .dataParallel : distributeCells ? .cells : nil
        do {
            try MPILaunch.validate(mode: mode, bothFlags: distributed && distributeCells, launch: launch)
            if mode == .dataParallel, let launch {
                // Every rank is one worker: W is the number of ranks.
                if let workers, workers != launch.size {
                    throw UsageError(message: "--workers \(workers) does not match the \(launch.size) MPI ranks: with --distributed every rank is one worker; pass --workers \(launch.size) or start \(workers) ranks (mpirun -np \(workers))")
                }
            }
            let catalog = WorkloadCatalog(directory: workloads)
            let path = try catalog.path(for: workload)
            var o = try overrides()
            if mode == .dataParallel, let launch { o.workers = launch.size }
            let loaded = try o.apply(to: try WorkloadSpec.load(path: path), file: path)
            try loaded.checkFits(file: path)
            // model.init: the checkpoints (per normalization family with {workload: ...}) and their hashes, before any folder is made.
            let pretrained = try PretrainedRuns.resolve(loaded, cells: try loaded.cells())
            spec = pretrained.spec
            initNotices = pretrained.notices
            if let out, resume, !FileManager.default.fileExists(atPath: "\(out)/run.json") {
                throw UsageError(message: "--out \(out): --resume needs an earlier run there (no run.json); run without --resume to start one, or pass the folder of the run to continue")
            }
            let sweepCells = try spec.cells()  // groups that do not divide a width fail here, before any work
            if mode == .cells, saveModel || spec.training.saveModel == true {
                throw UsageError(message: "--save-model (or training.saveModel) is not supported with --distribute-cells: ranks other than 0 do not know the run folder; run without mpirun, or with --distributed")
            }
            // A checkpoint (model.init) that does not fit fails here, before any data is made.
            for notice in try CellCheckpoint.verify(spec: spec, cells: sweepCells.map(\.settings)) where (launch?.rank ?? 0) == 0 {
                printError("normbench run: note: \(notice)")
            }
            if mode == .dataParallel, let stepClips = spec.sweep.stepClips {
                throw UsageError(message: "\(path): `sweep.stepClips` is \(stepClips), which gives each batch its own worker count, but with --distributed the workers are the MPI ranks; remove sweep.stepClips and pass --workers, or run without --distributed")
            }
            if mode == .dataParallel, spec.sweep.norms.contains(where: { $0.split(separator: ":").first == "brn" }) {
                throw UsageError(message: "--distributed does not support brn: Batch Renorm's forward reads running statistics that the single-process simulation updates between workers, so replicas cannot give its numbers; run brn with --distribute-cells or without mpirun")
            }
            options.out = out
            options.finalStateFolder = finalState
            options.saveModel = saveModel
            options.resume = resume
            options.skipBadClips = skipBadClips
            options.dataBank = dataBank
            options.memoryBudget = try memoryBudget.map { try parseBytes($0, option: "--memory-budget") }
        } catch {
            throw UsageError(error)  // under mpirun, rank 0 speaks for all (NormBench.report)
        }
        Deprecation.flush()
        if (launch?.rank ?? 0) == 0 { (initNotices + [Environment.commitCaveat()].compactMap { $0 }).forEach { printError("normbench run: note: \($0)") } }
        if spec.training.workers == 1, spec.sweep.stepClips == nil, spec.sweep.norms.contains(where: { $0.split(separator: ":").first == "syncbn" }), (launch?.rank ?? 0) == 0 {
            printError("normbench run: note: with 1 worker, syncbn computes the same statistics as bn (one batch either way); pass --workers 2 or more to see SyncBN's effect")
        }
        if let mode {
            try runDistributed(spec: spec, options: options, mode: mode)
            return
        }
        do {
            let (folder, records) = try SweepRunner(spec: spec, options: options, display: progressDisplay).run()
            try printSummary(folder: folder, records: records, cache: spec.data.cache)
        } catch {
            throw CommandFailure(error)
        }
    }

    /// Progress lines on stdout, or on stderr with `--json` (stdout holds the one object).
    var progressDisplay: ProgressDisplay {
        json ? ProgressDisplay(interactive: false, write: { FileHandle.standardError.write(Data($0.utf8)) }) : ProgressDisplay()
    }

    /// The summary table and where the records are, or with `--json` one object:
    /// `{"run", "records", "dataCache", "commitNote", "cells": [{"cell", "status", "note", "accuracy", "trainClipsPerSecond", "ledgerPeakBytes", "processPeakBytes"}]}`.
    func printSummary(folder: String, records: [ResultRecord], cache: String) throws {
        guard json else {
            print("")
            print(SummaryTable.render(records), terminator: "")
            print("records: \(folder)/cells/ (normbench publish \(folder))")
            print("data cache: \(absolute(cache))")
            if let why = commitNote(records) { print("note: the records say commit unknown: \(why)") }
            return
        }
        struct Cell: Encodable {
            var cell: CellKey, status: ResultRecord.Status, note: String?, accuracy: Accuracy?
            var trainClipsPerSecond: Double?, ledgerPeakBytes: Int, processPeakBytes: Int?
        }
        struct Summary: Encodable { var run: String, records: String, dataCache: String, commitNote: String?, cells: [Cell] }
        try printJSON(Summary(run: absolute(folder), records: absolute(folder) + "/cells", dataCache: absolute(cache), commitNote: commitNote(records), cells: records.map {
            Cell(cell: $0.cell, status: $0.status, note: $0.note, accuracy: $0.accuracy, trainClipsPerSecond: $0.throughput?.trainClipsPerSecond,
                 ledgerPeakBytes: $0.memory.ledgerPeakBytes, processPeakBytes: $0.memory.processPeakBytes)
        }))
    }
}

extension DataBankStorage: ExpressibleByArgument {}

/// Why records made here carry no commit (nil when they do).
func commitNote(_ records: [ResultRecord]) -> String? {
    records.contains { $0.environment.gitCommit == "unknown" } ? Info.commitUnknownReason() : nil
}

/// `path` made absolute against the working directory.
func absolute(_ path: String) -> String {
    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}

struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Predict peak memory per normalization method and batch, and the largest batch that fits a budget.",
        discussion: "Measures the engine's ledger over two training steps per method at small batches (no training) and extrapolates linearly; the process peak adds the decoded data bank (with --data-bank memory) and the resident runtime (code, libraries), and the budget applies to it.")

    @Argument(help: "A workload name (normbench list) or a path to a YAML file.") var workload: String
    @Option(help: "Memory budget (e.g. 4GiB).") var memoryBudget = "4GiB"
    @Option(help: "Where the run keeps the decoded clips (as normbench run --data-bank): file or memory.")
    var dataBank: DataBankStorage = .file
    @Option(help: "Folder of workload files.") var workloads = "Workloads"
    @Flag(help: "Print the plan as one JSON object on stdout (docs/cli.md) instead of the table.") var json = false

    func validate() throws {
        try validating { _ = try parseBytes(memoryBudget, option: "--memory-budget") }
    }

    /// `--json`: the predictions in bytes; `largestBatch` is null when not even batch 1 fits.
    struct Prediction: Encodable {
        struct Point: Encodable { var batch: Int, ledgerBytes: Int, processBytes: Int }
        var norm: String, batches: [Point], largestBatch: Int?
    }
    struct PlanJSON: Encodable {
        var workload: String, budgetBytes: Int, dataBank: String, dataBankBytes: Int, threads: Int, methods: [Prediction]
    }

    func run() throws {
        OpenMPRuntime.preferPassiveWaitPolicy()
        let spec: WorkloadSpec, budget: Int
        do {
            spec = try WorkloadCatalog(directory: workloads).load(workload)
            budget = try parseBytes(memoryBudget, option: "--memory-budget")
            try spec.checkFits(file: workload)
        } catch {
            throw UsageError(error)
        }
        do {
            // oneDNN's scratch memory depends on the thread count: plan for the sweep's largest.
            let threads = spec.sweep.threads.max() ?? 1
            let sweepCells = try spec.cells()
            let batches = spec.sweep.allBatches
            // In a file, the bank is outside the process (page cache).
            let bank = dataBank == .memory ? try MemoryPlanner.dataBankBytes(spec: spec) : 0
            let header = ["norm"] + batches.map { b in
                "batch \(b)\(spec.sweep.stepClips == nil ? "" : " (W=\(spec.sweep.workers(batch: b, training: spec.training)))"): ledger / process (MiB)"
            } + ["largest batch ≤ \(memoryBudget)"]
            var rows: [[String]] = []
            var predictions: [Prediction] = []
            for name in spec.sweep.norms {
                // The method's first cell (first grouping and seed) at that thread count, at each batch.
                guard let cell = sweepCells.first(where: { $0.settings.normName == name && $0.settings.threads == threads })?.settings else { continue }
                func process(_ b: Int) throws -> (ledger: Int, process: Int) {
                    var c = cell
                    c.batch = b
                    // `sweep.stepClips`: W follows the batch (at least one worker for batches that do not divide it).
                    c.workers = max(1, spec.sweep.workers(batch: b, training: spec.training))
                    let peak = try MemoryPlanner.predict(spec: spec, cell: c)
                    return (peak.ledger, MemoryPlanner.predictProcessPeak(peak, dataBank: bank))
                }
                let points = try batches.map { b in
                    let p = try process(b)
                    return Prediction.Point(batch: b, ledgerBytes: p.ledger, processBytes: p.process)
                }
                let cells = points.map { String(format: "%.1f / %.1f", Double($0.ledgerBytes) / 1_048_576, Double($0.processBytes) / 1_048_576) }
                // Largest batch that fits: doubling then bisection over the prediction.
                func fits(_ b: Int) throws -> Bool { try process(b).process <= budget }
                var largest = 0
                if try fits(1) {
                    var lo = 1, hi = 2
                    while try fits(hi) && hi < 1 << 20 { lo = hi; hi *= 2 }
                    while hi - lo > 1 { let mid = (lo + hi) / 2; if try fits(mid) { lo = mid } else { hi = mid } }
                    largest = lo
                }
                rows.append([name] + cells + [largest == 0 ? "none" : "\(largest)"])
                predictions.append(Prediction(norm: name, batches: points, largestBatch: largest == 0 ? nil : largest))
            }
            if json {
                try printJSON(PlanJSON(workload: spec.name, budgetBytes: budget, dataBank: dataBank.rawValue, dataBankBytes: bank, threads: Parallel.threads, methods: predictions))
                return
            }
            let table = [header] + rows
            let widths = (0..<header.count).map { c in table.map { $0[c].count }.max()! }
            for (i, row) in table.enumerated() {
                print(row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  "))
                if i == 0 { print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
            }
            print("ledger = parameters, gradients, optimizer state, activations, workspace, input of one worker's step")
            print(dataBank == .memory
                ? "process = ledger + freed tensor blocks kept for reuse + decoded data bank (\(String(format: "%.1f", Double(bank) / 1_048_576)) MiB) + resident runtime (code, libraries); the budget applies to it"
                : "process = ledger + freed tensor blocks kept for reuse + resident runtime (code, libraries); the budget applies to it (the decoded data bank is in a file, outside the process; --data-bank memory counts it in)")
        } catch {
            throw CommandFailure(error)
        }
    }
}

/// Splits "a,b,c" and converts each item; the message names the option, the bad item and what is expected.
/// A value given twice is refused: each value makes its own cells, and two equal cells would share one record.
func list<T>(_ text: String, _ option: String, expected: String, _ convert: (String) -> T?) throws -> [T] {
    let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    guard !items.isEmpty else { throw UsageError(message: "\(option) needs at least one value: \(expected)") }
    guard items.count <= Limits.listLength else { throw UsageError(message: "\(option): \(items.count) values; at most \(Limits.listLength)") }
    var seen = Set<String>()
    return try items.map { item in
        guard let v = convert(item) else { throw UsageError(message: "\(option): \"\(SafeName.escaped(item))\" is not valid; expected \(expected)") }
        guard seen.insert("\(v)").inserted else {
            throw UsageError(message: "\(option): \(v) is given more than once; list each value once, e.g. \(option) \(Array(Set(items)).sorted().prefix(3).joined(separator: ","))")
        }
        return v
    }
}

/// Refuses `value` outside `range`, naming the option and the range.
func checkRange(_ value: Int, _ range: ClosedRange<Int>, _ option: String, example: String) throws {
    if let problem = Limits.problem(value, range) { throw UsageError(message: "\(option) \(problem), e.g. \(example)") }
}

/// "2GiB", "512MiB", "1.5GB", "1000000" → bytes; at least 1 byte, at most 2⁶² (no overflow, no NaN or infinity).
func parseBytes(_ text: String, option: String) throws -> Int {
    let units: [(String, Double)] = [("GiB", 1_073_741_824), ("MiB", 1_048_576), ("KiB", 1024), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3), ("B", 1)]
    let limit = Double(1 << 62)
    let invalid = UsageError(message: "\(option): \"\(SafeName.escaped(text))\" is not a memory size from 1B to 4EiB; e.g. 2GiB or 512MiB")
    if let v = Int(text) {
        guard v >= 1, Double(v) <= limit else { throw invalid }
        return v
    }
    for (suffix, scale) in units where text.hasSuffix(suffix) {
        let number = text.dropLast(suffix.count)
        // Double("inf"), Double("nan") and hexadecimal floats parse; only plain decimals are sizes.
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let v = Double(number) else { throw invalid }
        let bytes = (v * scale).rounded()
        guard bytes.isFinite, bytes >= 1, bytes <= limit else { throw invalid }
        return Int(bytes)
    }
    throw invalid
}
