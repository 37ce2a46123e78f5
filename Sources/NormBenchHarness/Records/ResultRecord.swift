import Foundation
import NormBenchWorkloads

/// One measured cell of a sweep: the source of truth that tables, charts and
/// regression checks are rendered from. Written as one JSON file per cell.
///
/// Units are in the names: `...Bytes`, `...Seconds`, `...PerSecond`, fractions
/// in 0...1 (`top1Error` 0.25 = 25 %).
public struct ResultRecord: Codable, Sendable, Equatable {
    /// Version of this layout; readers reject versions they do not know.
    public var schema = ResultRecord.currentSchema
    public static let currentSchema = 1

    public var cell: CellKey
    public var status: Status
    /// Why the cell did not complete (over budget: the prediction; diverged: the step;
    /// failed: the loss curve's numbers).
    public var note: String?
    public var task: String
    public var accuracy: Accuracy?
    public var training: TrainingSummary?
    public var throughput: Throughput?
    public var timeShare: TimeShare?
    public var memory: Memory
    public var calibration: Calibration?
    public var data: DataSummary
    public var environment: Environment
    /// What decides the bits of this cell's results (nil for cells that did not
    /// train, and in records written before fingerprints existed).
    public var fingerprint: NumericsFingerprint? = nil
    /// How ranks ran the cell, for runs under MPI (`run --distributed` or
    /// `--distribute-cells`); absent for single-process runs.
    public var distributed: DistributedRun? = nil
    /// The cell's saved model, when the run saved models (absent otherwise and in older records).
    public var checkpoint: CheckpointRef? = nil
    /// The checkpoint the cell's weights started from (`model.init`); absent for
    /// cells that started from the seeded random initialization and in older records.
    public var startedFrom: StartedFrom? = nil
    /// Channels per group of every grouped normalization layer (GroupNorm, its
    /// LayerNorm and InstanceNorm forms, EvoNorm-S0), in forward order; absent for
    /// other methods and in older records.
    public var channelsPerGroup: [Int]? = nil
    /// Every evaluation of the cell and what `accuracy` was taken from; absent in
    /// records made before the evaluation protocol (one evaluation at the end).
    public var evaluation: EvaluationSection? = nil

    public enum Status: String, Codable, Sendable {
        case completed
        /// Predicted peak memory above `--memory-budget`; not run.
        case overBudget = "over-budget"
        /// Training produced a non-finite loss; `note` says at which step.
        case diverged
        /// Training ran but did not learn (`LearningCriterion` on the loss curve);
        /// `note` says why. The record keeps its measurements; pages and the
        /// summary leave it out of means and figures.
        case failed
    }

    public init(
        cell: CellKey, status: Status, note: String? = nil, task: String, accuracy: Accuracy? = nil,
        training: TrainingSummary? = nil, throughput: Throughput? = nil, timeShare: TimeShare? = nil,
        memory: Memory, calibration: Calibration? = nil, data: DataSummary, environment: Environment
    ) {
        self.cell = cell
        self.status = status
        self.note = note
        self.task = task
        self.accuracy = accuracy
        self.training = training
        self.throughput = throughput
        self.timeShare = timeShare
        self.memory = memory
        self.calibration = calibration
        self.data = data
        self.environment = environment
    }
}

/// What identifies a cell: (workload, norm, batch per worker, workers, groups, seed, threads).
public struct CellKey: Codable, Sendable, Hashable, Comparable {
    public var workload: String
    public var norm: String
    /// Samples per worker (the paper's "batch size per GPU").
    public var batch: Int
    /// Simulated data-parallel workers W; one optimizer step sees W × batch samples.
    public var workers: Int
    /// GroupNorm groups ("32", "C" for one per channel), or "-" for methods without groups.
    public var groups: String
    public var seed: Int
    public var threads: Int
    /// True for a from-scratch reference cell of a fine-tuning workload
    /// (`sweep.scratch`): seeded random weights although the workload has
    /// `model.init`. Absent (nil) otherwise, so older records and run
    /// descriptions read and encode unchanged.
    public var scratch: Bool?

    public init(workload: String, norm: String, batch: Int, workers: Int, groups: String, seed: Int, threads: Int, scratch: Bool = false) {
        self.workload = workload
        self.norm = norm
        self.batch = batch
        self.workers = workers
        self.groups = groups
        self.seed = seed
        self.threads = threads
        self.scratch = scratch ? true : nil
    }

    /// A from-scratch reference cell (`scratch` true).
    public var isScratch: Bool { scratch == true }

    /// A file-name-safe identifier, unique within a workload; `_scratch` ends
    /// the id of a from-scratch cell.
    public var id: String {
        let n = norm.replacingOccurrences(of: "+", with: "-")
        return "\(n)_b\(batch)_w\(workers)_g\(groups)_s\(seed)_t\(threads)" + (isScratch ? "_scratch" : "")
    }

    public static func < (a: CellKey, b: CellKey) -> Bool {
        if (a.workload, a.isScratch ? 1 : 0, a.norm, a.batch) != (b.workload, b.isScratch ? 1 : 0, b.norm, b.batch) {
            return (a.workload, a.isScratch ? 1 : 0, a.norm, a.batch) < (b.workload, b.isScratch ? 1 : 0, b.norm, b.batch)
        }
        return (a.workers, a.groups, a.seed, a.threads) < (b.workers, b.groups, b.seed, b.threads)
    }
}

/// Accuracy metrics after training, by `Metric.name` (the task's metric
/// catalog, `WorkloadTask.metrics`, plus `evalLoss`): JSON `{"top1Error": 0.25, ...}`,
/// fractions in 0...1. A reader gets a value with `record.accuracy?[metric]`.
public struct Accuracy: Codable, Sendable, Equatable {
    public var values: [String: Double]

    public init(_ values: [String: Double]) { self.values = values }

    public subscript(name: String) -> Double? {
        get { values[name] }
        set { values[name] = newValue }
    }

    public subscript(metric: Metric) -> Double? { values[metric.name] }

    public init(from decoder: Decoder) throws {
        values = try decoder.singleValueContainer().decode([String: Double].self)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(values)
    }

    // The metrics of the tasks that ship, for callers that name one.
    public init(top1Error: Double? = nil, top5Error: Double? = nil, mAP50: Double? = nil, mAP: Double? = nil, evalLoss: Double? = nil) {
        values = [:]
        for (k, v) in [("top1Error", top1Error), ("top5Error", top5Error), ("mAP50", mAP50), ("mAP", mAP), ("evalLoss", evalLoss)] {
            if let v { values[k] = v }
        }
    }
    public var top1Error: Double? { get { values["top1Error"] } set { values["top1Error"] = newValue } }
    public var top5Error: Double? { get { values["top5Error"] } set { values["top5Error"] = newValue } }
    public var mAP50: Double? { get { values["mAP50"] } set { values["mAP50"] = newValue } }
    public var mAP: Double? { get { values["mAP"] } set { values["mAP"] = newValue } }
    public var evalLoss: Double? { get { values["evalLoss"] } set { values["evalLoss"] = newValue } }
}

/// How the cell trained.
public struct TrainingSummary: Codable, Sendable, Equatable {
    public var steps: Int
    public var epochs: Double
    /// Samples per optimizer step (workers × batch).
    public var samplesPerStep: Int
    /// Peak learning rate after linear scaling.
    public var learningRate: Double
    /// Training loss by step: every step up to `LossPoint.maximumPoints` steps;
    /// beyond, that many points, each the mean loss of a run of consecutive steps
    /// at the run's last step (`LossPoint.curve`).
    public var lossCurve: [LossPoint]

    public init(steps: Int, epochs: Double, samplesPerStep: Int, learningRate: Double, lossCurve: [LossPoint]) {
        self.steps = steps
        self.epochs = epochs
        self.samplesPerStep = samplesPerStep
        self.learningRate = learningRate
        self.lossCurve = lossCurve
    }
}

public struct LossPoint: Codable, Sendable, Equatable {
    public var step: Int
    public var loss: Double
    public init(step: Int, loss: Double) {
        self.step = step
        self.loss = loss
    }

    /// Points a record's loss curve holds at most: a 32 768-step cell would
    /// otherwise write 1.5 MB of curve per record.
    public static let maximumPoints = 1024

    /// The record's curve of `losses` (one per step): every step when there are
    /// at most `maximumPoints`, else `maximumPoints` runs of consecutive steps
    /// (run k = steps ⌊k·n/m⌋ ..< ⌊(k+1)·n/m⌋), each its mean loss at its last step.
    public static func curve(_ losses: [(step: Int, loss: Double)], maximumPoints m: Int = maximumPoints) -> [LossPoint] {
        let n = losses.count
        guard n > m else { return losses.map { LossPoint(step: $0.step, loss: $0.loss) } }
        return (0..<m).map { k in
            let run = losses[(k * n / m)..<((k + 1) * n / m)]
            return LossPoint(step: run.last!.step, loss: run.map(\.loss).reduce(0, +) / Double(run.count))
        }
    }
}

/// Speed of the cell, after warm-up steps.
public struct Throughput: Codable, Sendable, Equatable {
    public var trainClipsPerSecond: Double
    public var stepSecondsMedian: Double
    public var stepSecondsP90: Double
    public var evalClipsPerSecond: Double
    /// Decoding of the data set, measured separately from training (once per run).
    public var decodeFramesPerSecond: Double?
    /// The calibration probes measured right after that decode, which
    /// `normbench check` divides decode speed by (nil in older records).
    public var decodeCalibration: Calibration?

    public init(
        trainClipsPerSecond: Double, stepSecondsMedian: Double, stepSecondsP90: Double, evalClipsPerSecond: Double,
        decodeFramesPerSecond: Double? = nil, decodeCalibration: Calibration? = nil
    ) {
        self.trainClipsPerSecond = trainClipsPerSecond
        self.stepSecondsMedian = stepSecondsMedian
        self.stepSecondsP90 = stepSecondsP90
        self.evalClipsPerSecond = evalClipsPerSecond
        self.decodeFramesPerSecond = decodeFramesPerSecond
        self.decodeCalibration = decodeCalibration
    }
}

/// Share of training step time by layer kind (sums to ~1).
public struct TimeShare: Codable, Sendable, Equatable {
    public var convolution: Double
    public var normalization: Double
    public var other: Double

    public init(convolution: Double, normalization: Double, other: Double) {
        self.convolution = convolution
        self.normalization = normalization
        self.other = other
    }
}

/// Peak memory of the cell's training.
public struct Memory: Codable, Sendable, Equatable {
    /// The engine ledger's peak (deterministic), all categories.
    public var ledgerPeakBytes: Int
    /// The ledger by category at that peak.
    public var ledgerAtPeakBytes: [String: Int]
    /// Process resident high-water mark during the cell (the kernel's count).
    public var processPeakBytes: Int?
    /// Predicted peak (from `normbench plan`'s model), when one was made.
    public var predictedPeakBytes: Int?
    /// Where `processPeakBytes` went (nil in older records and where /proc is missing).
    public var process: ProcessAccount?

    public init(ledgerPeakBytes: Int, ledgerAtPeakBytes: [String: Int], processPeakBytes: Int? = nil, predictedPeakBytes: Int? = nil, process: ProcessAccount? = nil) {
        self.ledgerPeakBytes = ledgerPeakBytes
        self.ledgerAtPeakBytes = ledgerAtPeakBytes
        self.processPeakBytes = processPeakBytes
        self.predictedPeakBytes = predictedPeakBytes
        self.process = process
    }
}

/// The process's resident peak during a cell, taken apart: the parts add up
/// to `Memory.processPeakBytes` exactly.
public struct ProcessAccount: Codable, Sendable, Equatable {
    /// The decoded clips held in memory for the whole run (train and eval banks).
    public var dataBankBytes: Int
    /// The engine ledger's peak (`Memory.ledgerPeakBytes`).
    public var ledgerBytes: Int
    /// Blocks that tensors gave back and the tensor allocator keeps for reuse,
    /// at the allocator's high-water mark: what its blocks made resident beyond
    /// the ledger's growth. Nil in records written before it was measured.
    public var allocatorCacheBytes: Int?
    /// Resident when the cell started besides the bank and the ledger: code,
    /// shared libraries, the Swift and OpenMP runtimes, the C heap.
    public var runtimeBytes: Int
    /// What no counter sees: oneDNN's primitive cache and JIT code, thread stacks,
    /// allocator overhead, pages of freed memory not yet returned (negative when
    /// the ledger reused pages that were already resident).
    public var unattributedBytes: Int

    /// - Parameters: measured at the cell's start (`residentAtStart`, the ledger's
    ///   live total `ledgerAtStart`, the allocator's blocks `allocatorAtStart`) and
    ///   over it (`peak`, the ledger's `ledgerPeak`, the allocator's `allocatorPeak`).
    public init(peak: Int, residentAtStart: Int, dataBank: Int, ledgerAtStart: Int, ledgerPeak: Int,
                allocatorAtStart: Int, allocatorPeak: Int) {
        dataBankBytes = dataBank
        ledgerBytes = ledgerPeak
        let cache = max(0, (allocatorPeak - allocatorAtStart) - (ledgerPeak - ledgerAtStart))
        allocatorCacheBytes = cache
        runtimeBytes = residentAtStart - dataBank - ledgerAtStart
        unattributedBytes = peak - residentAtStart - (ledgerPeak - ledgerAtStart) - cache
    }

    /// The process peak the parts add up to.
    public var totalBytes: Int { dataBankBytes + ledgerBytes + (allocatorCacheBytes ?? 0) + runtimeBytes + unattributedBytes }
    /// Share of the peak no part explains.
    public var unattributedShare: Double { Double(unattributedBytes) / Double(max(totalBytes, 1)) }
}

/// Machine speed measured in the same process as the cell, just before it and
/// again just after it, so throughput can be compared across runs as a ratio
/// (`normbench check`).
public struct Calibration: Codable, Sendable, Equatable {
    /// A fixed 3D convolution's forward speed.
    public var convGFLOPS: Double
    /// A streaming reduction's speed.
    public var bandwidthGBps: Double
    /// The same two probes after the cell (nil in older records and for a
    /// cell that did not run).
    public var convGFLOPSAfter: Double?
    public var bandwidthGBpsAfter: Double?

    public init(convGFLOPS: Double, bandwidthGBps: Double, convGFLOPSAfter: Double? = nil, bandwidthGBpsAfter: Double? = nil) {
        self.convGFLOPS = convGFLOPS
        self.bandwidthGBps = bandwidthGBps
        self.convGFLOPSAfter = convGFLOPSAfter
        self.bandwidthGBpsAfter = bandwidthGBpsAfter
    }

    /// This calibration with `later`'s probes as the after-cell ones.
    public func followed(by later: Calibration) -> Calibration {
        Calibration(convGFLOPS: convGFLOPS, bandwidthGBps: bandwidthGBps, convGFLOPSAfter: later.convGFLOPS, bandwidthGBpsAfter: later.bandwidthGBps)
    }

    /// One number for the machine's speed while the cell ran: the geometric mean
    /// of every probe taken (conv GFLOP/s and memory GB/s, before and after),
    /// covering both the compute-bound and the memory-bound part of a step.
    public var index: Double {
        var probes = [convGFLOPS, bandwidthGBps]
        if let c = convGFLOPSAfter, let b = bandwidthGBpsAfter { probes += [c, b] }
        guard probes.allSatisfy({ $0 > 0 && $0.isFinite }) else { return 0 }
        let root = probes.reduce(1, *).squareRoot()
        return probes.count == 2 ? root : root.squareRoot()
    }
}

/// The data the cell trained and evaluated on.
public struct DataSummary: Codable, Sendable, Equatable {
    /// "synthetic seed 1, 512+256 clips 96x96x24 h264" or the folder path.
    public var description: String
    public var trainClips: Int
    public var evalClips: Int
    /// Digest of the data set's manifest (file names, sizes, labels).
    public var digest: String
    /// Windows scored per evaluation clip (`clip.evalViews`), their scores averaged;
    /// absent in records made before the key existed, which scored one (centre) window.
    public var evalViews: Int?
    /// Where the decoded clips were kept; absent in records made before the choice existed (memory).
    public var bank: DataBankSummary?

    public init(description: String, trainClips: Int, evalClips: Int, digest: String, evalViews: Int? = nil, bank: DataBankSummary? = nil) {
        self.description = description
        self.trainClips = trainClips
        self.evalClips = evalClips
        self.digest = digest
        self.evalViews = evalViews
        self.bank = bank
    }
}

/// The decoded data set a run trains and evaluates from (`--data-bank`).
public struct DataBankSummary: Codable, Sendable, Equatable {
    /// "memory" (in the process, counted in `memory.process.dataBankBytes`) or
    /// "file" (an unlinked file read window by window: in the page cache, outside the process).
    public var storage: String
    /// Decoded bytes, train + eval: Σ frames × size² × 3.
    public var bytes: Int
}

/// Where and with what the cell ran.
public struct Environment: Codable, Sendable, Equatable {
    public var cpuModel: String
    public var cpuFeatures: [String]
    public var buildTargetFeatures: [String]
    public var logicalCPUs: Int
    public var normbenchVersion: String
    public var swiftVersion: String
    public var ffmpegVersion: String
    public var oneDNNVersion: String
    public var gitCommit: String
    /// ISO 8601, UTC.
    public var date: String

    public init(cpuModel: String, cpuFeatures: [String], buildTargetFeatures: [String], logicalCPUs: Int, normbenchVersion: String, swiftVersion: String, ffmpegVersion: String, oneDNNVersion: String, gitCommit: String, date: String) {
        self.cpuModel = cpuModel
        self.cpuFeatures = cpuFeatures
        self.buildTargetFeatures = buildTargetFeatures
        self.logicalCPUs = logicalCPUs
        self.normbenchVersion = normbenchVersion
        self.swiftVersion = swiftVersion
        self.ffmpegVersion = ffmpegVersion
        self.oneDNNVersion = oneDNNVersion
        self.gitCommit = gitCommit
        self.date = date
    }
}
