import ArgumentParser
import Foundation
import NormBenchEngine
import NormBenchHarness
import NormBenchWorkloads

/// `normbench bench train <workload>`: the training throughput of every
/// (method, batch) cell of a workload's sweep, measured in one dedicated run
/// with the cells interleaved, for the published page's throughput table.
/// (`bench kernels` times a fixed reference model; this times the workload's.)
struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "A workload's training throughput per sweep cell: interleaved rounds on synthetic clips of its shape.",
        discussion: """
            Builds each cell of the workload's sweep (its model, clip shape, normalization and groups, batch per worker \
            and workers, threads; one seed) and times whole training steps (batch assembly, forward, backward, SGD update) \
            on random pixels of the workload's clip shape: no data set is made or read. Each of --repeats rounds visits \
            every cell once (odd rounds in sweep order, even rounds in reverse), with --warmup untimed and --steps timed \
            steps per visit, so slow phases of the machine hit every cell alike; calibration probes are taken before the first round and after each. Per cell: \
            the median over rounds of clips/s and of the round's median step time, with min-max and quartiles. \
            Run it on a quiet machine; --out writes the JSON that `normbench publish` reads from \
            Results/<workload>/bench.json (docs/results-format.md). \
            Exit codes: 0 measured; 1 a cell or the output failed; 2 misuse (bad option, unknown workload or method, a batch not in the sweep).
            """)

    @Argument(help: "A workload name (normbench list) or a path to a YAML file.") var workload: String
    @Option(help: "Normalization methods, comma-separated, in place of the sweep's, as in `run` (e.g. bn,gn).") var norms: String?
    @Option(help: "Only these of the sweep's batch sizes, comma-separated (e.g. 2,16).") var batches: String?
    @Option(help: "Thread counts, comma-separated (default: the sweep's).") var threads: String?
    @Option(help: "Simulated workers W, comma-separated, as in `run --workers` (default: the workload's); every listed W times every selected method (e.g. --workers 1,2).") var workers: String?
    @Option(help: "Timed steps per cell and round.") var steps = 20
    @Option(help: "Untimed warm-up steps before each cell's timed steps, every round.") var warmup = 3
    @Option(help: "Rounds; each visits every cell once.") var repeats = 7
    @Option(help: "Write the result as JSON to this file (e.g. Results/<workload>/bench.json).") var out: String?
    @Option(help: "Folder of workload files.") var workloads = "Workloads"
    @Flag(help: "Print the result as one JSON object on stdout (the --out document) instead of the table.") var json = false

    static let stepRange = 1...10_000, warmupRange = 0...10_000, repeatRange = 1...1000

    func validate() throws {
        try validating {
            try checkRange(steps, Self.stepRange, "--steps", example: "--steps 20")
            try checkRange(warmup, Self.warmupRange, "--warmup", example: "--warmup 3")
            try checkRange(repeats, Self.repeatRange, "--repeats", example: "--repeats 7")
            _ = try options()
            if let out {
                try OutputPath.checkRoot(out, option: "--out", example: "Results/video-cls/bench.json")
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory), isDirectory.boolValue {
                    throw UsageError(message: "--out \(out): is a folder; pass a file path, e.g. --out \(out)/bench.json")
                }
            }
        }
    }

    /// The option lists, each value checked.
    func options() throws -> (norms: [String]?, batches: [Int]?, threads: [Int]?, workers: [Int]?) {
        let n = try norms.map {
            try list($0, "--norms", expected: "one of \(WorkloadSpec.knownNorms.joined(separator: ", ")), e.g. --norms bn,gn") { WorkloadSpec.knownNorms.contains($0) ? $0 : nil }
        }
        let b = try batches.map { try list($0, "--batches", expected: "a batch size in \(Limits.batch), e.g. --batches 2,16") { Int($0).flatMap { Limits.batch.contains($0) ? $0 : nil } } }
        let w = try workers.map { try list($0, "--workers", expected: "a worker count in \(Limits.workers), e.g. --workers 1,2") { Int($0).flatMap { Limits.workers.contains($0) ? $0 : nil } } }
        return (n, b, try threads.map(threadList), w)
    }

    func run() throws {
        OpenMPRuntime.preferPassiveWaitPolicy()
        var bench: TrainBenchmarkRun
        do {
            let (norms, batches, threads, workerCounts) = try options()
            let path = try WorkloadCatalog(directory: workloads).path(for: workload)
            let loaded = try WorkloadSpec.load(path: path)
            if workerCounts != nil, let stepClips = loaded.sweep.stepClips {
                throw UsageError(message: "--workers: \(path) sets `sweep.stepClips: \(stepClips)`, which gives each batch its own worker count; leave out --workers")
            }
            // One spec per worker count; the cells carry their W, so the first spec builds them all.
            let counts: [Int?] = workerCounts ?? [nil]
            let specs = try counts.map { w -> WorkloadSpec in
                var overrides = SweepOverrides()
                overrides.norms = norms
                overrides.threads = threads
                overrides.workers = w
                let spec = try overrides.apply(to: loaded, file: path)
                try spec.checkFits(file: path)
                return spec
            }
            let cells = try specs.flatMap { try TrainBenchmarkRun.cells(of: $0, batches: batches) }
            bench = TrainBenchmarkRun(spec: specs[0], cells: cells, command: Self.commandLine())
        } catch {
            throw UsageError(error)
        }
        bench.warmupSteps = warmup
        bench.timedSteps = steps
        bench.repeats = repeats
        let result: TrainBenchmark
        do {
            printError("normbench bench train: \(bench.cells.count) cells × \(repeats) rounds of \(warmup) + \(steps) steps; load average \(loadAverage())")
            if let caveat = Environment.commitCaveat() { printError("normbench bench train: note: \(caveat)") }
            result = try bench.run { printError("normbench bench train: \($0)") }
            if let out { try AtomicFile.write(try result.encoded(), to: out) }
        } catch {
            throw CommandFailure(error)
        }
        if json { return try printJSON(result) }
        print(Self.render(result))
        if let out { print("wrote \(absolute(out)) (normbench publish reads it as Results/\(result.workload)/\(TrainBenchmark.fileName))") }
    }

    /// The command line as typed after the program name, shell-quoted where needed.
    static func commandLine() -> String {
        (["normbench"] + CommandLine.arguments.dropFirst().map { arg in
            arg.allSatisfy { $0.isLetter || $0.isNumber || "-_.,/:=+@".contains($0) } && !arg.isEmpty
                ? arg : "'" + arg.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }).joined(separator: " ")
    }

    /// The text report: provenance lines, then one row per cell in sweep order.
    static func render(_ r: TrainBenchmark) -> String {
        let e = r.environment, m = r.machine, s = r.settings
        var lines = [
            "# \(r.workload): training throughput per cell (\(s.repeats) interleaved rounds of \(s.warmupSteps) warm-up + \(s.timedSteps) timed steps; synthetic clips, no data set)",
            "machine: \(e.cpuModel), \(e.logicalCPUs) logical CPUs; oneDNN \(e.oneDNNVersion) ISA \(m.oneDNNISA); caches \(m.caches); OMP_WAIT_POLICY=\(m.ompWaitPolicy)",
            "build: normbench \(e.normbenchVersion), Swift \(e.swiftVersion); commit \(e.gitCommit); started \(e.date)",
            "load average: \(m.loadAverageStart.map { String(format: "%.2f", $0) } ?? "?") at start, \(m.loadAverageEnd.map { String(format: "%.2f", $0) } ?? "?") at end",
            "",
            "| norm | groups | batch | W | threads | clips/s median | min-max | q1-q3 | ms/step median | clips/s ÷ probe index |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for c in r.cells {
            let k = c.cell, v = c.clipsPerSecond
            lines.append("| \(k.norm) | \(k.groups) | \(k.batch) | \(k.workers) | \(k.threads) | \(String(format: "%.1f", v.median)) | "
                         + String(format: "%.1f-%.1f | %.1f-%.1f | %.1f | %.3f |", v.min, v.max, v.q1, v.q3, c.stepSeconds.median * 1e3, c.clipsPerSecondPerIndex))
        }
        lines.append("")
        for t in Set(r.cells.map(\.cell.threads)).sorted() {
            guard let spread = r.probeSpread(threads: t) else { continue }
            let steady = spread <= 1.2 ? "steady" : "NOT steady: the machine's speed moved during the run; measure again on a quiet machine"
            lines.append(String(format: "calibration probes (%d thread(s)): largest/smallest index %.2f over %d probes (%@)",
                                t, spread, r.calibration.filter { $0.threads == t }.count, steady))
        }
        return lines.joined(separator: "\n")
    }
}
