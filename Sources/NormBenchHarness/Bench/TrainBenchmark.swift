import Foundation
import NormBenchEngine
import NormBenchWorkloads

/// What `normbench bench train <workload>` measured: the training throughput of
/// every (method, batch) cell of a workload's sweep, timed in one dedicated
/// run with the cells interleaved round-robin (docs/results-format.md,
/// "Train benchmark"). Written with `--out`; `normbench publish` reads it from
/// `<results>/<workload>/bench.json` (`TrainBenchmark.fileName`) for the
/// workload page's throughput table.
public struct TrainBenchmark: Codable, Sendable, Equatable {
    /// Format version; a reader refuses any other.
    public var schema = TrainBenchmark.currentSchema
    /// Always `bench-train`: tells this file apart from a result record.
    public var kind = TrainBenchmark.kindName
    public var workload: String
    /// The command line that measured it, as typed after the program name (`normbench bench train video-cls ...`).
    public var command: String
    public var settings: Settings
    /// The machine, build, libraries, commit and the date the run started.
    public var environment: Environment
    public var machine: Machine
    /// The calibration probes (`normbench bench calibrate`'s, `Calibration.measure`):
    /// per thread count, one before the first round and one after each round.
    public var calibration: [Probe]
    /// One entry per cell, in the sweep's order (norm, batch, groups, threads).
    public var cells: [CellResult]

    public static let currentSchema = 1
    public static let kindName = "bench-train"
    /// Where `normbench publish` looks for a workload's benchmark: `<results folder>/<workload>/bench.json`.
    public static let fileName = "bench.json"

    public struct Settings: Codable, Sendable, Equatable {
        /// Untimed steps at the start of every visit of a cell (primitive creation, caches).
        public var warmupSteps: Int
        /// Timed optimizer steps per visit.
        public var timedSteps: Int
        /// Rounds: each visits every cell once, in sweep order.
        public var repeats: Int
        /// The seed of the initial weights and the synthetic pixels (the sweep's first seed).
        public var seed: Int
        public var learningRate: Double
        /// The input one step takes: synthetic, with the workload's clip shape.
        public var input: String
        public var order: String
    }

    public struct Machine: Codable, Sendable, Equatable {
        /// oneDNN's effective ISA (`ONEDNN_MAX_CPU_ISA` caps it).
        public var oneDNNISA: String
        /// The data caches of CPU 0.
        public var caches: String
        /// `OMP_WAIT_POLICY` as the run set it.
        public var ompWaitPolicy: String
        /// The 1-minute load average when the run started and when it ended.
        public var loadAverageStart: Double?
        public var loadAverageEnd: Double?
    }

    public struct Probe: Codable, Sendable, Equatable {
        public var threads: Int
        /// 0: before the first round; r: after round r.
        public var after: Int
        public var convGFLOPS: Double
        public var bandwidthGBps: Double
    }

    /// A sweep cell without its seed: a row and column of the page's throughput table.
    public struct Cell: Codable, Sendable, Hashable {
        public var norm: String
        public var batch: Int
        public var workers: Int
        /// GroupNorm groups ("8", "C"), "-" for methods without groups.
        public var groups: String
        public var threads: Int

        public init(norm: String, batch: Int, workers: Int, groups: String, threads: Int) {
            self.norm = norm
            self.batch = batch
            self.workers = workers
            self.groups = groups
            self.threads = threads
        }
    }

    /// Median, spread and quartiles of one quantity over the rounds.
    public struct Spread: Codable, Sendable, Equatable {
        public var median: Double
        public var min: Double
        public var max: Double
        /// Nearest-rank 25th and 75th percentiles (`Quantiles.percentile`).
        public var q1: Double
        public var q3: Double

        public init(_ values: [Double]) {
            median = Quantiles.median(values)
            min = values.min() ?? 0
            max = values.max() ?? 0
            q1 = Quantiles.percentile(values, 0.25)
            q3 = Quantiles.percentile(values, 0.75)
        }
    }

    public struct Round: Codable, Sendable, Equatable {
        /// W × batch × timed steps ÷ their summed wall time.
        public var clipsPerSecond: Double
        public var stepSecondsMedian: Double
        /// The calibration index over the round (`Calibration.index` of the
        /// probes before and after it, on the cell's threads).
        public var calibrationIndex: Double
        /// Wall time of every timed step, seconds.
        public var stepSeconds: [Double]
    }

    public struct CellResult: Codable, Sendable, Equatable {
        public var cell: Cell
        /// Clips per optimizer step (W × batch).
        public var samplesPerStep: Int
        /// Micro-batches per step (W, or 1 when the method's statistics span the workers).
        public var microBatches: Int
        /// One micro-batch's input, N×T×H×W×C.
        public var inputShape: [Int]
        /// Over the rounds: each round's clips/s.
        public var clipsPerSecond: Spread
        /// Over the rounds: each round's median step time.
        public var stepSeconds: Spread
        /// Median over the rounds of clips/s ÷ the round's calibration index
        /// (as `normbench check` divides a record's throughput).
        public var clipsPerSecondPerIndex: Double
        public var rounds: [Round]
    }

    /// The calibration index of each round on `threads` (probes before and after it).
    public func roundIndices(threads: Int) -> [Double] {
        let probes = calibration.filter { $0.threads == threads }.sorted { $0.after < $1.after }
        guard probes.count >= 2 else { return [] }
        return (1..<probes.count).map { r in
            Calibration(convGFLOPS: probes[r - 1].convGFLOPS, bandwidthGBps: probes[r - 1].bandwidthGBps,
                        convGFLOPSAfter: probes[r].convGFLOPS, bandwidthGBpsAfter: probes[r].bandwidthGBps).index
        }
    }

    /// Largest ÷ smallest probe index (conv and bandwidth, geometric mean) over the run on `threads`:
    /// 1.0 on a perfectly steady machine.
    public func probeSpread(threads: Int) -> Double? {
        let indices = calibration.filter { $0.threads == threads }
            .map { Calibration(convGFLOPS: $0.convGFLOPS, bandwidthGBps: $0.bandwidthGBps).index }.filter { $0 > 0 }
        guard let lo = indices.min(), let hi = indices.max() else { return nil }
        return hi / lo
    }

    // MARK: Files

    /// Reads and checks a benchmark file.
    /// - Throws: `HarnessError.mismatch` naming the file and the problem.
    public static func read(path: String) throws -> TrainBenchmark {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw HarnessError.mismatch("\(path): cannot read the train benchmark (\(FileManager.default.fileExists(atPath: path) ? "unreadable" : "no such file"))")
        }
        func bad(_ why: String) -> HarnessError {
            HarnessError.mismatch("\(path): not a normbench train benchmark (\(why)); measure it again with `normbench bench train <workload> --out \(path)`, or move the file away")
        }
        struct Header: Decodable { var schema: Int?; var kind: String? }
        guard let header = try? JSONDecoder().decode(Header.self, from: data) else { throw bad("invalid JSON") }
        guard header.kind == kindName else { throw bad("`kind` is \(header.kind.map { "\"\(SafeName.escaped($0))\"" } ?? "missing"), expected \"\(kindName)\"") }
        guard header.schema == currentSchema else { throw bad("schema \(header.schema.map(String.init) ?? "missing"), this normbench reads \(currentSchema)") }
        let bench: TrainBenchmark
        do { bench = try JSONDecoder().decode(TrainBenchmark.self, from: data) } catch { throw bad("a field is missing or of the wrong type") }
        if let problem = SafeName.problem(bench.workload) { throw bad("`workload` \(problem)") }
        let numbers = bench.cells.flatMap { [$0.clipsPerSecond.median, $0.clipsPerSecond.min, $0.clipsPerSecond.max, $0.stepSeconds.median] }
        guard !bench.cells.isEmpty, numbers.allSatisfy({ $0.isFinite && $0 >= 0 }) else { throw bad("no cells, or a speed that is negative or not finite") }
        return bench
    }

    /// The benchmark of each of `workloads` found at `<folder>/<workload>/bench.json`.
    /// - Throws: `HarnessError.mismatch` for a file that is not a benchmark of that workload.
    public static func load(workloads: some Sequence<String>, under folder: String) throws -> [String: TrainBenchmark] {
        var out: [String: TrainBenchmark] = [:]
        for workload in workloads where SafeName.problem(workload) == nil {
            let path = "\(folder)/\(workload)/\(fileName)"
            guard FileManager.default.fileExists(atPath: path) else { continue }
            let bench = try read(path: path)
            guard bench.workload == workload else {
                throw HarnessError.mismatch("\(path): holds a benchmark of workload \(bench.workload), not \(workload); move it to \(folder)/\(bench.workload)/\(fileName)")
            }
            out[workload] = bench
        }
        return out
    }

    /// The file's bytes: sorted keys, pretty-printed, a final newline (`RecordStore.encode`).
    public func encoded() throws -> Data { try RecordStore.encode(self) }
}
